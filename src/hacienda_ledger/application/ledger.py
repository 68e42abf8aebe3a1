"""The Ledger application: the only code that loads and saves.

``Ledger.handle(command, user)`` runs any command (``commands.py``) through its writer: the
pipeline (``pipeline.py``) unless the composition root plugs in another. The command methods
(``ledger.post_receipt(...)``) are made from the command classes, one line each: the same
fields, nothing spelled twice. Queries live with the services the Ledger holds:
``ledger.access`` (users, scopes), ``ledger.households`` (personal data, retention),
``ledger.audit`` (verification, history as of an instant), ``ledger.journalling`` (the
technical journal's entries; ``ledger.journal.record(kind, ...)`` appends one).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, Concatenate, ParamSpec, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import JSONTranscoder, Mapper, Recording, StoredEvent
from eventsourcing.utils import Environment, EnvType, get_topic

from hacienda_ledger.aggregates.aire import Aire
from hacienda_ledger.aggregates.errors import (
    InterventionNotFound,
    InvalidValue,
    LedgerError,
    RegisterNotFound,
    UserNotFound,
)
from hacienda_ledger.aggregates.intervention import Intervention
from hacienda_ledger.aggregates.register import CashRegister, OutdatedSnapshot
from hacienda_ledger.aggregates.settlement import Allocation
from hacienda_ledger.aggregates.stay import Stay
from hacienda_ledger.aggregates.user import Role, User
from hacienda_ledger.aggregates.values import ChargeLine
from hacienda_ledger.application import bootstrap, chain_rows, metrics
from hacienda_ledger.application import commands as c
from hacienda_ledger.application.access import Access
from hacienda_ledger.application.audit import Audit
from hacienda_ledger.application.handling import Loading
from hacienda_ledger.application.households import Households
from hacienda_ledger.application.journalling import Journalling
from hacienda_ledger.application.pipeline import Outcome, Pipeline, Writer
from hacienda_ledger.application.sealing import SealedAsBase64, SealingMapper
from hacienda_ledger.application.snapshots import SnapshotSchedule, SnapshotWriter
from hacienda_ledger.application.stream import stored_row
from hacienda_ledger.application.tokens import Tokens
from hacienda_ledger.application.transcodings import register_value_types
from hacienda_ledger.settings import Settings

A = TypeVar("A", bound=Aggregate)
E = TypeVar("E", bound=Aggregate.Created)
P = ParamSpec("P")


def utc_now() -> datetime:
    return datetime.now(UTC)


def command(cls: Callable[P, c.Command]) -> Callable[Concatenate[Ledger, P], Outcome]:
    """A Ledger method that builds the command from its arguments and handles it."""

    def method(self: Ledger, /, *args: P.args, **kwargs: P.kwargs) -> Outcome:
        return self.handle(cls(*args, **kwargs))

    method.__doc__ = f"Handle a ``{getattr(cls, '__name__', cls)}`` built from the arguments."
    return method


class Ledger(Loading, Application[UUID]):
    """The ledger of aires, stays and cash registers."""

    name = "Ledger"

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        clock: Callable[[], datetime] = utc_now,
        writer: Callable[[Ledger], Writer] = Pipeline,
    ) -> None:
        self.settings = settings or Settings()
        self.clock = clock
        self.snapshotting_intervals = {  # type: ignore[misc]
            CashRegister: self.settings.snapshot_interval,
            Aire: self.settings.snapshot_interval,  # one event per intervention, document...
        }
        super().__init__(env=bootstrap.library_env(self.settings))
        # Snapshots are encoded and stored off the write path (see application/snapshots.py).
        self.snapshot_writer = SnapshotWriter(self.snapshots) if self.snapshots else None
        self.snapshot_schedule = SnapshotSchedule(self.settings.snapshot_max_gap)
        adapters = bootstrap.adapters(self.settings, self.recorder, self.now)
        self.locks, self.keys, self.access_log = adapters.locks, adapters.keys, adapters.access_log
        self.journal = adapters.journal
        self.documents = adapters.documents
        assert isinstance(self.mapper, SealingMapper)
        self.mapper.keys = self.keys
        self.tokens = Tokens(self, adapters.token_uses)
        self.access = Access(self)
        self.households = Households(self)
        self.audit = Audit(self)
        self.journalling = Journalling(self)
        self.writer = writer(self)

    # --- the library's application, as we configure it ----------------------------------------

    def construct_env(self, name: str, env: EnvType | None = None) -> Environment:
        """Only the given settings configure the library (never os.environ)."""
        return Environment(name, dict(env or {}))

    def construct_mapper(self) -> Mapper[UUID]:
        """The library's mapper, sealing the personal fields of household events with each
        household's key (see ``sealing.py``)."""
        return self.factory.mapper(
            transcoder=self.construct_transcoder(), mapper_class=SealingMapper
        )

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_value_types(transcoder)
        transcoder.register(SealedAsBase64())

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        """Every pending event of ``objs`` in one transaction; snapshots taken from the
        aggregates in hand when due (``_take_snapshots``)."""
        if kwargs:
            return super().save(*objs, **kwargs)
        processing: ProcessingEvent[UUID] = ProcessingEvent()
        processing.collect_events(*objs)
        recordings = self._record(processing)
        self._take_snapshots(processing)
        self._notify(recordings)
        return recordings

    def _notify(self, recordings: Sequence[Recording[UUID]]) -> None:
        """Once events are recorded: a token this process just revoked or rotated is
        refused here at once (other processes: within a second, ``application/tokens.py``)."""
        self.tokens.recorded(r.domain_event for r in recordings)

    def record_events(self, events: Sequence[Any]) -> None:
        """Events recorded as they are, in one transaction, without their aggregates (no
        snapshot is taken): the bulk writer's flush."""
        processing: ProcessingEvent[UUID] = ProcessingEvent()
        processing.events.extend(events)
        self._notify(self._record(processing))

    def _record(self, processing_event: ProcessingEvent[UUID]) -> list[Recording[UUID]]:
        """The library's recording, with the technical journal's entries about these events
        (``Journalling.for_events``) appended in the same transaction (``recorders.py``)."""
        entries = self.journalling.for_events(processing_event.events)
        if entries:
            journal = self.journal
            processing_event.saved_kwargs["journal"] = lambda cursor: journal.append(
                cursor, entries
            )
        return super()._record(processing_event)

    def _take_snapshots(self, processing_event: Any) -> None:
        """Snapshot from the aggregate in hand (the library's default reloads the aggregate
        from the store to take one), once per save and aggregate, when the schedule says it
        is due (see application/snapshots.py: every ``snapshot_interval`` events, or more
        apart for a register whose state has grown). Loading takes the latest snapshot at or
        before the version asked for, whichever version it has. Only the copy is made here;
        encoding and storing happen off the write path."""
        if self.snapshot_writer is None:
            return
        first_versions: dict[UUID, int] = {}
        for event in processing_event.events:
            first_versions.setdefault(event.originator_id, event.originator_version)
        for aggregate_id, first_version in first_versions.items():
            aggregate = processing_event.aggregates.get(aggregate_id)
            interval = self.snapshotting_intervals.get(type(aggregate)) if aggregate else None
            if interval and self.snapshot_schedule.due(aggregate, interval, first_version):
                self.snapshot_writer.take(aggregate)
                self.snapshot_schedule.taken(aggregate)

    def close(self) -> None:
        self.journalling.flush()
        self.writer.close()
        if self.snapshot_writer is not None:
            self.snapshot_writer.close()
        self.locks.close()
        self.access_log.sql.close()
        if self.keys.sql is not self.access_log.sql:  # a key store apart, its own pool
            self.keys.sql.close(datastore=True)
        super().close()

    # --- commands -----------------------------------------------------------------------------

    def now(self) -> datetime:
        now = self.clock()
        if now.tzinfo is None:
            raise InvalidValue("the clock must give aware datetimes")
        return now

    def handle(self, command: c.Command, user: User | None = None) -> Outcome:
        """Run a command through the writer; with a ``user``, their role and scope are
        checked first (``Forbidden``). Counted for ``/metrics`` (``metrics.handled``)."""
        try:
            outcome = self.writer.run(command, user)
        except LedgerError as exc:
            metrics.refused(command, exc.code)
            raise
        metrics.handled(command, outcome)
        return outcome

    create_collectivite = command(c.CreateCollectivite)
    create_aire = command(c.CreateAire)
    add_emplacement = command(c.AddEmplacement)
    put_out_of_service = command(c.PutOutOfService)
    put_back_in_service = command(c.PutBackInService)
    schedule_closure = command(c.ScheduleClosure)
    adopt_tariff = command(c.AdoptTariff)
    set_stay_rules = command(c.SetStayRules)
    attach_register = command(c.AttachRegister)
    record_unmet_demand = command(c.RecordUnmetDemand)
    open_register = command(c.OpenRegister)
    set_register_rules = command(c.SetRegisterRules)
    seal_month = command(c.SealMonth)
    regularise = command(c.Regularise)
    record_household = command(c.RecordHousehold)
    amend_household = command(c.AmendHousehold)
    record_household_document = command(c.RecordHouseholdDocument)
    erase_household = command(c.EraseHousehold)
    open_stay = command(c.OpenStay)
    record_meter_reading = command(c.RecordMeterReading)
    extend_stay = command(c.ExtendStay)
    assess_charges = command(c.AssessCharges)
    depart = command(c.Depart)
    record_intervention = command(c.RecordIntervention)
    set_intervention_status = command(c.SetInterventionStatus)
    upload_document = command(c.UploadDocument)
    upload_document_version = command(c.UploadDocumentVersion)
    assign_team_member = command(c.AssignTeamMember)
    withdraw_team_member = command(c.WithdrawTeamMember)
    post_receipt = command(c.IssueReceipt)
    cancel_receipt = command(c.CancelReceipt)
    request_cancellation = command(c.RequestCancellation)
    approve_cancellation = command(c.ApproveCancellation)
    refuse_cancellation = command(c.RefuseCancellation)
    withdraw_cancellation = command(c.WithdrawCancellation)
    refund_deposit = command(c.RefundDeposit)
    refund_advance = command(c.RefundAdvance)
    withhold_deposit = command(c.WithholdDeposit)
    remit = command(c.Remit)
    count_cash = command(c.CountCash)
    hand_over = command(c.HandOver)
    regularise_cash_difference = command(c.RegulariseCashDifference)
    close_period = command(c.ClosePeriod)
    print_document = command(c.PrintDocument)
    record_reprint = command(c.RecordReprint)
    revoke_token = command(c.RevokeToken)

    @staticmethod
    def token_digest(token: str) -> str:
        return hashlib.sha256(token.encode("utf-8")).hexdigest()

    def create_user(
        self,
        *,
        name: str,
        role: Role | str,
        actor: str,
        token: str | None = None,
        **scope: Any,
    ) -> tuple[Outcome, str]:
        """Create a user and its bearer token (``scope``: ``sectors``, ``aire_ids``,
        ``collectivite_id``); the token is returned once and stored as its hash."""
        secret = token or secrets.token_urlsafe(32)
        created = c.CreateUser(
            name=name, role=role, actor=actor, token_sha256=self.token_digest(secret), **scope
        )
        return self.handle(created), secret

    def rotate_token(
        self, token_id: UUID, *, actor: str, user: User | None = None
    ) -> tuple[Outcome, str]:
        """A new token for the token's user (``user``: who asks, checked: the token's own
        user or an admin); returned once, stored as its hash. The old one is refused after
        ``token_rotation_grace_seconds``."""
        secret = secrets.token_urlsafe(32)
        rotated = c.RotateToken(
            token_id=token_id, actor=actor, token_sha256=self.token_digest(secret)
        )
        return self.handle(rotated, user), secret

    # --- loading ------------------------------------------------------------------------------

    def load(
        self, cls: type[A], aggregate_id: UUID, missing: type[Exception], version: int | None = None
    ) -> A:
        """The aggregate, or ``missing`` raised (also when it is of another kind)."""
        aggregate = self.writer.held(aggregate_id) if version is None else None
        if aggregate is None:
            fold = self._fold if version is None else self._fold_as_of
            try:
                aggregate = self.repository.get(aggregate_id, version=version, projector_func=fold)
            except AggregateNotFoundError:
                raise missing(f"no {cls.__name__.lower()} {aggregate_id}") from None
            except OutdatedSnapshot:
                aggregate = self.replayed(aggregate_id, version)
        if not isinstance(aggregate, cls):
            raise missing(f"no {cls.__name__.lower()} {aggregate_id}")
        return aggregate

    def replayed(self, aggregate_id: UUID, version: int | None = None) -> Any:
        """The aggregate rebuilt from its events alone, no snapshot: for a register whose
        latest snapshot is of an older shape (``OutdatedSnapshot``). The next snapshot due
        is taken in the current shape."""
        if version is None:
            self.snapshot_schedule.lost(aggregate_id)
        return self._fold_as_of(None, self.events.get(aggregate_id, lte=version))

    def _fold(self, aggregate: Any, events: Iterable[Any]) -> Any:
        """An aggregate as it is now, from its latest snapshot (if any) and the events
        after it; of a snapshotted kind, the snapshot schedule learns where that snapshot
        is (``found``)."""
        iterator = iter(events)
        first = next(iterator, None)
        if first is None:
            return aggregate
        aggregate = self._fold_as_of(first.mutate(aggregate), iterator)
        if type(aggregate) in self.snapshotting_intervals:
            self.snapshot_schedule.found(aggregate.id, first)
        return aggregate

    @staticmethod
    def _fold_as_of(aggregate: Any, events: Iterable[Any]) -> Any:
        """The library's ``project_aggregate`` less its check, on every event, that the
        event is a ``CanMutateProtocol`` (a runtime protocol: measured here, a register
        event folded in 39 µs with it and 20 without). Ours all are: they are the
        aggregates' own events."""
        for event in events:
            aggregate = event.mutate(aggregate)
        return aggregate

    def created(self, aggregate_id: UUID, event: type[E], missing: type[Exception]) -> E:
        """The event that created the aggregate (its first), read alone: what was set then
        and never changes (an aire's collectivité, a register's aire) without loading the
        rest; ``missing`` raised when there is none of that kind."""
        for first in self.events.get(aggregate_id, lte=1):
            if isinstance(first, event):
                return first
        kind = event.__qualname__.split(".")[0].lower()
        raise missing(f"no {kind} {aggregate_id}")

    def user(self, user_id: UUID) -> User:
        return self.load(User, user_id, UserNotFound)

    def interventions(self, ids: Sequence[UUID]) -> list[Intervention]:
        """The interventions of ``ids``, in that order, their events read in one query (a
        page of a list: ``ProjectionQueries.intervention_ids`` chose them) rather than one
        load each; ``InterventionNotFound`` for an id that has none."""
        stored = chain_rows.rows_of_each(self, ids)
        found = []
        for intervention_id in ids:
            events = [
                self.mapper.to_domain_event(
                    StoredEvent(intervention_id, version, topic, bytes(state))
                )
                for version, topic, state in stored[intervention_id]
            ]
            intervention = self._fold_as_of(None, events)
            if not isinstance(intervention, Intervention):
                raise InterventionNotFound(f"no intervention {intervention_id}")
            found.append(intervention)
        return found

    def exists(self, aggregate_id: UUID) -> bool:
        return bool(self.recorder.select_events(aggregate_id, limit=1))

    # --- the stream ---------------------------------------------------------------------------

    def stored_at(self, aggregate_id: UUID, version: int) -> tuple[int, Any]:
        """One stored event and its stream position, in one round trip: what a replayed
        write answers with ((0, None) if there is no such event)."""
        row = stored_row(self, aggregate_id, version)
        if row is None:
            return 0, None
        stored = StoredEvent(aggregate_id, version, row[1], row[2])
        return row[0], self.mapper.to_domain_event(stored)

    def position_of(self, aggregate_id: UUID, version: int) -> int:
        """The notification id (stream position) of one stored event (0: none)."""
        row = stored_row(self, aggregate_id, version)
        return row[0] if row else 0

    def ids_of(self, created_event: type[Aggregate.Created]) -> Iterator[UUID]:
        """Ids of every aggregate created by that event class, in creation order (read from
        the notification log, filtered by topic)."""
        topic = get_topic(created_event)
        start = 1
        while True:
            batch = self.recorder.select_notifications(start=start, limit=500, topics=[topic])
            if not batch:
                return
            for notification in batch:
                originator = notification.originator_id
                yield originator if isinstance(originator, UUID) else UUID(str(originator))
            start = batch[-1].id + 1

    def last_position(self) -> int:
        return self.recorder.max_notification_id() or 0

    # --- stays and their money ----------------------------------------------------------------

    def registers_of(self, aire_id: UUID) -> list[CashRegister]:
        """Every register that collects for the aire."""
        return [self.cash_register(r) for r in self.aire(aire_id).register_ids]

    def stay_account(self, stay_id: UUID) -> dict[str, int]:
        """Charged, settled, balance due, deposit held, and advances held, applied to its
        charges and refunded, for a stay, over its aire's registers."""
        stay = self.stay(stay_id)
        registers = self.registers_of(stay.aire_id)
        settled = sum(r.settled(stay_id) for r in registers)
        return {
            "charged_cents": stay.charged_cents,
            "settled_cents": settled,
            "balance_due_cents": stay.charged_cents - settled,
            "deposit_held_cents": sum(r.deposit_held(stay_id) for r in registers),
            "advance_held_cents": sum(r.advance_held(stay_id) for r in registers),
            "advance_applied_cents": sum(r.advance_applied(stay_id) for r in registers),
            "advance_refunded_cents": sum(r.advance_refunded(stay_id) for r in registers),
        }

    def stay_charges(self, stay_id: UUID) -> list[ChargeLine]:
        """Every charge line of a stay, in the order assessed (credits included)."""
        return [
            line
            for event in self.events.get(stay_id)
            if isinstance(event, Stay.ChargesAssessed)
            for line in event.lines
        ]

    def settled_by(self, stay_id: UUID, reference: str) -> list[tuple[ChargeLine, Allocation]]:
        """The charge lines a movement settled (``reference``: ``<register>/receipt/<n>``),
        each with the part of it the movement paid, as recorded when it was made (a
        cancellation since reverses the settlement, not this record)."""
        charges: dict[int, tuple[ChargeLine, ...]] = {}
        found: list[tuple[ChargeLine, Allocation]] = []
        for event in self.events.get(stay_id):
            if isinstance(event, Stay.ChargesAssessed):
                charges[event.originator_version] = tuple(event.lines)
            elif isinstance(event, Stay.Settled) and event.reference == reference:
                for allocation in event.allocations:
                    version, index = allocation.charge.split(".")
                    found.append((charges[int(version)][int(index)], allocation))
        return found

    def deposit_held(self, stay: Stay) -> int:
        """Deposit held for a stay, over every register of its aire."""
        return sum(r.deposit_held(stay.id) for r in self.registers_of(stay.aire_id))

    def register_event(self, register_id: UUID, version: int) -> CashRegister.Event:
        """One recorded event of a register (what a write answered with, for replays)."""
        for event in self.events.get(register_id, gt=version - 1, lte=version):
            assert isinstance(event, CashRegister.Event)
            return event
        raise RegisterNotFound(f"register {register_id} has no event {version}")


__all__ = ["Ledger", "Outcome", "utc_now"]
