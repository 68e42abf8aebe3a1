"""The Aire aggregate: one halting site, its emplacements, closures, tariffs and stay rules.

The aire also knows which emplacement each open stay occupies (``StayAdmitted`` /
``StayReleased``, saved in the same transaction as the stay's own events), and which stay
left each emplacement last, so that two stays can never occupy one emplacement on the same
day (``aire_admission.py``), and which registers collect its money.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast
from uuid import UUID, uuid5

from eventsourcing.domain import Snapshot as LibrarySnapshot

from hacienda_ledger.aggregates.aire_admission import check_admission
from hacienda_ledger.aggregates.aire_snapshot import before_last_stays, restored, stored_state
from hacienda_ledger.aggregates.aire_values import (
    Closure,
    Emplacement,
    OutOfService,
    Regularisation,
    SealedPlaceDays,
)
from hacienda_ledger.aggregates.chained import (
    Chained,
    CreatedOnceUnchained,
    EventOnceUnchained,
    unchained,
)
from hacienda_ledger.aggregates.errors import (
    AlreadyExists,
    ClosureTooLong,
    DerogationRequired,
    EmplacementNotFound,
    EmplacementUnavailable,
    InvalidPeriod,
    InvalidValue,
    MonthNotSealed,
    NoticeTooShort,
    StayNotFound,
    TariffRetroactive,
)
from hacienda_ledger.aggregates.values import (
    Mode,
    Tariff,
    UnmetReason,
    add_months,
    paris_day,
    tariff_in_force,
)

#: The aire's values are defined in ``aire_values.py`` and read from here too.
__all__ = ["NAMESPACE", "Aire", "Closure", "Emplacement", "OutOfService", "Regularisation"]

NAMESPACE = UUID("5b0e8a35-6f5c-4d8e-9d55-1a2f0c9b7e11")


class Aire(Chained):
    """A permanent halting site run for a collectivité."""

    #: The ids it links, one per intervention, document or register (a snapshot stores them
    #: as text).
    ID_TUPLES = ("intervention_ids", "document_ids", "register_ids")
    DEFAULT_MAX_DAYS = 90
    DEFAULT_EXTENSION_CAP_MONTHS = 7
    #: The state a snapshot holds. v2: ``last_stays`` (a v1 snapshot is not used).
    class_version = 2
    upcast_v1_v2 = staticmethod(before_last_stays)

    class Snapshot(LibrarySnapshot):
        """An aire's state as stored (``application/snapshots.py``) and restored as the
        events build it (``aire_snapshot.py``)."""

        @classmethod
        def take(cls, aggregate: Any) -> Any:
            snapshot = super().take(aggregate)
            stored_state(aggregate, snapshot.state, Aire.ID_TUPLES)
            return snapshot

        def mutate(self, _: None) -> Aire:
            return cast(Aire, restored(super().mutate(_), Aire.ID_TUPLES))

    @staticmethod
    def id_for(code: str) -> UUID:
        """Aires are identified by their code: registering a code twice conflicts."""
        return uuid5(NAMESPACE, f"aire:{code}")

    class Registered(CreatedOnceUnchained):
        """An aire recorded, in service from ``in_service_from`` (v3; which may lie before
        the day it was recorded: its history). Before v3 it entered service the day it was
        recorded."""

        class_version = 3
        code: str
        name: str
        collectivite_id: UUID
        sector: str
        mode: str
        insee_code: str
        departement: str
        latitude: Decimal
        longitude: Decimal
        actor: str
        in_service_from: date | None

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            state["in_service_from"] = None

        def apply(self, aire: Aire) -> None:
            aire.in_service_from = self.in_service_from or paris_day(self.timestamp)
            aire.code = self.code
            aire.name = self.name
            aire.collectivite_id = self.collectivite_id
            aire.sector = self.sector
            aire.mode = Mode(self.mode)
            aire.insee_code = self.insee_code
            aire.departement = self.departement
            aire.latitude = self.latitude
            aire.longitude = self.longitude
            aire.emplacements = {}
            aire.closures = ()
            aire.tariffs = ()
            aire.max_consecutive_days = Aire.DEFAULT_MAX_DAYS
            aire.extension_cap_months = Aire.DEFAULT_EXTENSION_CAP_MONTHS
            aire.occupants = {}
            aire.last_stays = {}
            aire.register_ids = ()
            aire.last_release_day = None
            aire.regularisations = ()
            aire.intervention_ids = ()
            aire.document_ids = ()
            aire.team = {}

    class EmplacementAdded(Chained.Event):
        """An emplacement, in service from ``in_service_from`` (which may lie before the day
        it was recorded: an aire's history). Version 1 had no such field: it entered service
        the day it was recorded."""

        class_version = 3
        upcast_v2_v3 = staticmethod(unchained)
        number: str
        places: int
        surface_m2: Decimal | None
        actor: str
        in_service_from: date | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["in_service_from"] = None

        def apply(self, aire: Aire) -> None:
            aire.emplacements[self.number] = Emplacement(
                self.number,
                self.places,
                self.surface_m2,
                in_service_from=self.in_service_from or paris_day(self.timestamp),
            )

    class EmplacementOutOfService(EventOnceUnchained):
        number: str
        start: date
        reason: str
        actor: str

        def apply(self, aire: Aire) -> None:
            e = aire.emplacements[self.number]
            e.out_of_service = (*e.out_of_service, OutOfService(self.start, None, self.reason))

    class EmplacementBackInService(EventOnceUnchained):
        number: str
        start: date
        actor: str

        def apply(self, aire: Aire) -> None:
            e = aire.emplacements[self.number]
            last = e.out_of_service[-1]
            e.out_of_service = (
                *e.out_of_service[:-1],
                OutOfService(last.start, self.start, last.reason),
            )

    class ClosureScheduled(EventOnceUnchained):
        closure: Closure
        actor: str

        def apply(self, aire: Aire) -> None:
            aire.closures = tuple(sorted((*aire.closures, self.closure), key=lambda c: c.start))

    class TariffAdopted(Chained.Event):
        """A tariff version. v2: the tariff may carry its délibération's date and the day it
        became executory (v1 tariffs read both as None: not recorded)."""

        class_version = 3
        upcast_v2_v3 = staticmethod(unchained)
        tariff: Tariff
        actor: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Nothing to add: a v1 tariff decodes with both dates None."""

        def apply(self, aire: Aire) -> None:
            aire.tariffs = tuple(
                sorted((*aire.tariffs, self.tariff), key=lambda t: t.effective_from)
            )

    class StayRulesSet(EventOnceUnchained):
        max_consecutive_days: int
        extension_cap_months: int
        actor: str

        def apply(self, aire: Aire) -> None:
            aire.max_consecutive_days = self.max_consecutive_days
            aire.extension_cap_months = self.extension_cap_months

    class StayAdmitted(EventOnceUnchained):
        stay_id: UUID
        emplacement: str
        actor: str

        def apply(self, aire: Aire) -> None:
            aire.occupants[self.emplacement] = self.stay_id

    class StayReleased(EventOnceUnchained):
        stay_id: UUID
        emplacement: str
        actor: str

        def apply(self, aire: Aire) -> None:
            del aire.occupants[self.emplacement]
            aire.last_stays[self.emplacement] = self.stay_id
            # the day the departure was recorded: on or after the stay's last day
            aire.last_release_day = paris_day(self.timestamp)

    class RegisterAttached(EventOnceUnchained):
        register_id: UUID
        actor: str

        def apply(self, aire: Aire) -> None:
            aire.register_ids = (*aire.register_ids, self.register_id)

    class InterventionLinked(Chained.Event):
        """An intervention recorded on the aire (its own events are on it)."""

        intervention_id: UUID
        actor: str

        def apply(self, aire: Aire) -> None:
            aire.intervention_ids = (*aire.intervention_ids, self.intervention_id)

    class DocumentLinked(Chained.Event):
        """A document of the aire uploaded (its versions are its own events)."""

        document_id: UUID
        actor: str

        def apply(self, aire: Aire) -> None:
            aire.document_ids = (*aire.document_ids, self.document_id)

    class TeamMemberAssigned(Chained.Event):
        user_id: UUID
        role: str
        actor: str

        def apply(self, aire: Aire) -> None:
            aire.team = {**aire.team, self.user_id: self.role}

    class TeamMemberWithdrawn(Chained.Event):
        user_id: UUID
        actor: str

        def apply(self, aire: Aire) -> None:
            aire.team = {k: v for k, v in aire.team.items() if k != self.user_id}

    class Regularised(EventOnceUnchained):
        """A régularisation of a sealed month, recorded in the open month."""

        month: str
        place_days: int
        amount_cents: int
        reason: str
        actor: str

        def apply(self, aire: Aire) -> None:
            done = Regularisation(
                self.month,
                paris_day(self.timestamp),
                self.place_days,
                self.amount_cents,
                self.reason,
            )
            aire.regularisations = (*aire.regularisations, done)

    class UnmetDemandRecorded(Chained.Event):
        """A request for a place that could not be met on ``day``: why (``UnmetReason``),
        how many caravans and people. Nothing names the family (issue 19)."""

        day: date
        reason: str
        caravans: int
        people: int
        actor: str

        def apply(self, aire: Aire) -> None:
            """Nothing the aire decides on changes: the fact is for the statistics."""

    def __init__(self) -> None:
        """State is set by the created event's ``apply``; declared here for readers."""
        self.code: str
        self.name: str
        self.collectivite_id: UUID
        self.sector: str
        self.mode: Mode
        self.insee_code: str
        self.departement: str
        self.latitude: Decimal
        self.longitude: Decimal
        self.emplacements: dict[str, Emplacement]
        self.closures: tuple[Closure, ...]
        self.tariffs: tuple[Tariff, ...]
        self.max_consecutive_days: int
        self.extension_cap_months: int
        self.occupants: dict[str, UUID]
        self.last_stays: dict[str, UUID]  # emplacement -> the stay that left it last
        self.last_release_day: date | None
        self.regularisations: tuple[Regularisation, ...]
        self.register_ids: tuple[UUID, ...]
        self.in_service_from: date
        self.intervention_ids: tuple[UUID, ...]
        self.document_ids: tuple[UUID, ...]
        self.team: dict[UUID, str]  # user id -> role, in the order assigned

    @classmethod
    def register(
        cls,
        *,
        code: str,
        name: str,
        collectivite_id: UUID,
        sector: str,
        mode: Mode | str,
        insee_code: str,
        departement: str,
        latitude: Decimal,
        longitude: Decimal,
        actor: str,
        at: datetime,
        in_service_from: date | None = None,
    ) -> Aire:
        """A new aire, in service from ``in_service_from`` (default: the day it is
        recorded; an earlier day records its history)."""
        if not code.strip():
            raise InvalidValue("an aire has a code", field="code")
        if not name.strip():
            raise InvalidValue("an aire has a name", field="name")
        try:
            mode = Mode(mode)
        except ValueError:
            raise InvalidValue("mode is regie, marche or dsp", field="mode") from None
        if len(insee_code) != 5 or not insee_code[:2].isalnum() or not insee_code[2:].isdigit():
            raise InvalidValue("an INSEE commune code has 5 characters", field="insee_code")
        if not (Decimal(-90) <= latitude <= Decimal(90)):
            raise InvalidValue("latitude is between -90 and 90", field="latitude")
        if not (Decimal(-180) <= longitude <= Decimal(180)):
            raise InvalidValue("longitude is between -180 and 180", field="longitude")
        return cls._create(
            cls.Registered,
            id=cls.id_for(code),
            code=code,
            name=name,
            collectivite_id=collectivite_id,
            sector=sector,
            mode=mode.value,
            insee_code=insee_code,
            departement=departement,
            latitude=latitude,
            longitude=longitude,
            actor=actor,
            timestamp=at,
            in_service_from=in_service_from or paris_day(at),
        )

    # --- emplacements -------------------------------------------------------------------

    def add_emplacement(
        self,
        *,
        number: str,
        places: int = 2,
        surface_m2: Decimal | None = None,
        in_service_from: date | None = None,
        actor: str,
        at: datetime,
    ) -> None:
        """An emplacement, in service from ``in_service_from`` (default: the day it is
        recorded, or the aire's own service start if later; an earlier day records the
        aire's history, never a day before the aire entered service)."""
        number = number.strip()
        if not number:
            raise InvalidValue("an emplacement has a number", field="number")
        if number in self.emplacements:
            raise AlreadyExists(f"emplacement {number} already exists", field="number")
        if isinstance(places, bool) or not isinstance(places, int) or not 1 <= places <= 10:
            raise InvalidValue("an emplacement has 1 to 10 places", field="places")
        if surface_m2 is not None and surface_m2 <= 0:
            raise InvalidValue("surface must be positive", field="surface_m2")
        if in_service_from is not None and in_service_from < self.in_service_from:
            raise InvalidPeriod(
                f"the aire entered service on {self.in_service_from}: an emplacement cannot "
                "enter service before it",
                field="in_service_from",
            )
        self.trigger_event(
            self.EmplacementAdded,
            number=number,
            places=places,
            surface_m2=surface_m2,
            in_service_from=in_service_from or max(paris_day(at), self.in_service_from),
            actor=actor,
            timestamp=at,
        )

    def emplacement(self, number: str) -> Emplacement:
        try:
            return self.emplacements[number]
        except KeyError:
            raise EmplacementNotFound(
                f"no emplacement {number} on aire {self.code}", field="emplacement"
            ) from None

    def put_out_of_service(
        self, *, number: str, start: date, reason: str, actor: str, at: datetime
    ) -> None:
        e = self.emplacement(number)
        if e.out_of_service and e.out_of_service[-1].end is None:
            raise EmplacementUnavailable(
                f"emplacement {number} is already out of service", field="number"
            )
        if e.out_of_service and start < e.out_of_service[-1].end:  # type: ignore[operator]
            raise InvalidPeriod("out of service must start after it was last back", field="start")
        if not reason.strip():
            raise InvalidValue("say why the emplacement is out of service", field="reason")
        self.trigger_event(
            self.EmplacementOutOfService,
            number=number,
            start=start,
            reason=reason,
            actor=actor,
            timestamp=at,
        )

    def put_back_in_service(self, *, number: str, start: date, actor: str, at: datetime) -> None:
        e = self.emplacement(number)
        if not e.out_of_service or e.out_of_service[-1].end is not None:
            raise EmplacementUnavailable(f"emplacement {number} is in service", field="number")
        if start <= e.out_of_service[-1].start:
            raise InvalidPeriod("back in service after it went out", field="start")
        self.trigger_event(
            self.EmplacementBackInService, number=number, start=start, actor=actor, timestamp=at
        )

    # --- closures -----------------------------------------------------------------------

    def schedule_closure(
        self,
        *,
        start: date,
        end: date,
        reason: str,
        prefect_derogation_ref: str | None = None,
        urgent: bool = False,
        actor: str,
        at: datetime,
    ) -> None:
        """Close the aire from ``start`` to ``end`` (both included).

        Past one month a préfet derogation reference is required; six months or more is
        refused. Occupants are told at least 2 months ahead (3 for the préfet when a
        derogation is needed), unless the closure is ``urgent`` (flood, pollution, works
        ordered by the authorities), which is recorded as such.
        """
        if end < start:
            raise InvalidPeriod("a closure ends on or after its start", field="end")
        if not reason.strip():
            raise InvalidValue("say why the aire closes", field="reason")
        if end >= add_months(start, 6):
            raise ClosureTooLong("a closure lasts less than 6 months", field="end")
        needs_derogation = end >= add_months(start, 1)
        ref = (prefect_derogation_ref or "").strip() or None
        if needs_derogation and ref is None:
            raise DerogationRequired(
                "a closure over one month needs a préfet derogation", field="prefect_derogation_ref"
            )
        today = paris_day(at)
        if not urgent:
            notice_months = 3 if needs_derogation else 2
            if start < add_months(today, notice_months):
                raise NoticeTooShort(
                    f"announce this closure at least {notice_months} months ahead "
                    "(or mark it urgent)",
                    field="start",
                )
        for other in self.closures:
            if other.start <= end and start <= other.end:
                raise InvalidPeriod("closures must not overlap", field="start")
        closure = Closure(
            start=start,
            end=end,
            reason=reason,
            prefect_derogation_ref=ref,
            notified_on=today,
            urgent=urgent,
        )
        self.trigger_event(self.ClosureScheduled, closure=closure, actor=actor, timestamp=at)

    def closed_on(self, day: date) -> bool:
        return any(c.covers(day) for c in self.closures)

    # --- tariffs and rules --------------------------------------------------------------

    def adopt_tariff(self, tariff: Tariff, *, actor: str, at: datetime) -> None:
        """Add a tariff version. Versions are never edited; a later date supersedes.

        A tariff never applies to a day before it was adopted: ``effective_from`` may precede
        the day it is recorded only while no stay of the aire has a day on or after it (an
        aire's history recorded before its stays); otherwise ``TariffRetroactive``."""
        tariff.validate()
        recorded = paris_day(at)
        if tariff.effective_from < recorded and (
            self.occupants
            or (
                self.last_release_day is not None and self.last_release_day >= tariff.effective_from
            )
        ):
            raise TariffRetroactive(
                f"a tariff recorded on {recorded} cannot apply from {tariff.effective_from}: "
                "stays of the aire have days since then (a tariff is not retroactive)",
                field="effective_from",
            )
        if any(t.effective_from == tariff.effective_from for t in self.tariffs):
            raise InvalidValue(
                "a tariff version already takes effect on that date", field="effective_from"
            )
        self.trigger_event(self.TariffAdopted, tariff=tariff, actor=actor, timestamp=at)

    def regularise(
        self,
        *,
        month: str,
        sealed: SealedPlaceDays | None,
        place_days: int,
        amount_cents: int,
        reason: str,
        actor: str,
        at: datetime,
    ) -> None:
        """Correct a sealed month from the open one (``sealed``: its place-days as sealed,
        None when the aire has not sealed it: a month not sealed is corrected by recording
        the facts themselves); its place-days stay within ``SealedPlaceDays.check``."""
        if sealed is None:
            raise MonthNotSealed(
                f"{month} is not sealed: record the facts themselves", field="month"
            )
        if isinstance(place_days, bool) or not isinstance(place_days, int):
            raise InvalidValue("place-days are a whole number", field="place_days")
        sealed.check(month, self.regularisations, place_days)
        if isinstance(amount_cents, bool) or not isinstance(amount_cents, int):
            raise InvalidValue("an amount is whole cents", field="amount_cents")
        if not place_days and not amount_cents:
            raise InvalidValue("a régularisation corrects something", field="place_days")
        if not reason.strip():
            raise InvalidValue("say why the month is corrected", field="reason")
        self.trigger_event(
            self.Regularised,
            month=month,
            place_days=place_days,
            amount_cents=amount_cents,
            reason=reason,
            actor=actor,
            timestamp=at,
        )

    def tariff_on(self, day: date) -> Tariff | None:
        return tariff_in_force(self.tariffs, day)

    def set_stay_rules(
        self, *, max_consecutive_days: int, extension_cap_months: int, actor: str, at: datetime
    ) -> None:
        if not 1 <= max_consecutive_days <= 366:
            raise InvalidValue("1 to 366 days", field="max_consecutive_days")
        if not 0 <= extension_cap_months <= 24:
            raise InvalidValue("0 to 24 months", field="extension_cap_months")
        self.trigger_event(
            self.StayRulesSet,
            max_consecutive_days=max_consecutive_days,
            extension_cap_months=extension_cap_months,
            actor=actor,
            timestamp=at,
        )

    # --- stays and registers ------------------------------------------------------------

    def admit(
        self,
        *,
        stay_id: UUID,
        emplacement: str,
        arrival_day: date,
        actor: str,
        at: datetime,
        left_on: date | None = None,
    ) -> None:
        """An emplacement takes a stay when it exists and is free from the arrival day on
        (``check_admission``). ``left_on``: the end day of the stay that left it last
        (``last_stays``; the caller reads it from that stay), None when none has."""
        check_admission(
            self.emplacement(emplacement),
            arrival_day=arrival_day,
            closed=self.closed_on(arrival_day),
            occupied=emplacement in self.occupants,
            left_on=left_on,
        )
        self.trigger_event(
            self.StayAdmitted, stay_id=stay_id, emplacement=emplacement, actor=actor, timestamp=at
        )

    def release(self, *, stay_id: UUID, actor: str, at: datetime) -> None:
        for number, occupant in self.occupants.items():
            if occupant == stay_id:
                self.trigger_event(
                    self.StayReleased,
                    stay_id=stay_id,
                    emplacement=number,
                    actor=actor,
                    timestamp=at,
                )
                return
        raise StayNotFound(f"stay {stay_id} is not on aire {self.code}")

    def record_unmet_demand(
        self, *, day: date, reason: str, caravans: int, people: int, actor: str, at: datetime
    ) -> None:
        """A family turned away on ``day`` (not after today, not before the aire's service)."""
        if reason not in set(UnmetReason):
            raise InvalidValue(f"one of {', '.join(UnmetReason)}", field="reason")
        for name, value, top in (("caravans", caravans, 50), ("people", people, 200)):
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= top:
                raise InvalidValue(f"a whole number from 1 to {top}", field=name)
        if not self.in_service_from <= day <= paris_day(at):
            raise InvalidPeriod("a day from the aire's service to today", field="day")
        self.trigger_event(
            self.UnmetDemandRecorded,
            day=day,
            reason=str(reason),
            caravans=caravans,
            people=people,
            actor=actor,
            timestamp=at,
        )

    def attach_register(self, register_id: UUID, *, actor: str, at: datetime) -> None:
        if register_id in self.register_ids:
            raise AlreadyExists("this register already collects for the aire", field="register_id")
        self.trigger_event(
            self.RegisterAttached, register_id=register_id, actor=actor, timestamp=at
        )

    def link_intervention(self, intervention_id: UUID, *, actor: str, at: datetime) -> None:
        self.trigger_event(
            self.InterventionLinked, intervention_id=intervention_id, actor=actor, timestamp=at
        )

    def link_document(self, document_id: UUID, *, actor: str, at: datetime) -> None:
        self.trigger_event(self.DocumentLinked, document_id=document_id, actor=actor, timestamp=at)

    # --- its team -----------------------------------------------------------------------

    def assign(self, *, user_id: UUID, role: str, actor: str, at: datetime) -> None:
        if user_id in self.team:
            raise AlreadyExists("this user is already in the aire's team", field="user_id")
        self.trigger_event(
            self.TeamMemberAssigned, user_id=user_id, role=role, actor=actor, timestamp=at
        )

    def withdraw(self, *, user_id: UUID, actor: str, at: datetime, in_scope: bool = False) -> None:
        """Take the user out of the team. ``in_scope``: a user whose scope holds the aire
        though the team never listed them (given it at their creation before creating a
        user listed them in its aires' teams): withdrawn all the same, recorded here."""
        if user_id not in self.team and not in_scope:
            raise InvalidValue("this user is not in the aire's team", field="user_id")
        self.trigger_event(self.TeamMemberWithdrawn, user_id=user_id, actor=actor, timestamp=at)

    @property
    def capacity_places(self) -> int:
        return sum(e.places for e in self.emplacements.values())
