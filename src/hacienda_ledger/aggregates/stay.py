"""The Stay aggregate: one household on one aire, from arrival to departure.

Days follow DESIGN.md: a stay occupies its emplacement on each Europe/Paris calendar day
from its arrival day up to, not including, its departure day; a stay that leaves on its
arrival day counts one day. Charges are assessed day by day with the tariff in force on
each day; a charged day is never charged again, so a later tariff never reprices it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import groupby
from typing import Any
from uuid import UUID

from hacienda_ledger.aggregates.chained import (
    Chained,
    CreatedOnceUnchained,
    EventOnceUnchained,
)
from hacienda_ledger.aggregates.errors import (
    ExtensionBeyondCap,
    InvalidPeriod,
    InvalidValue,
    MeterIndexDecreased,
    NoTariffInForce,
    ReadingNotFound,
    StayClosed,
)
from hacienda_ledger.aggregates.fluids import fluid_lines
from hacienda_ledger.aggregates.settlement import Allocation, Settlement
from hacienda_ledger.aggregates.values import (
    ChargeLine,
    Composition,
    ExtensionReason,
    Meter,
    RevenueType,
    Tariff,
    add_months,
    charge_total,
    paris_day,
    tariff_in_force,
    to_cents,
)


@dataclass(frozen=True)
class MeterReading:
    """A meter index read at a time. A correction replaces the reading it names."""

    seq: int
    meter: str
    index: Decimal
    read_at: datetime
    corrects: int | None = None


@dataclass(frozen=True)
class Extension:
    """An extension as version 2 of ``Stay.Extended`` stored it, its why in clear: read from
    old events only (``upcast_v2_v3`` drops the why)."""

    reason: str
    evidence_ref: str
    until: date


@dataclass(frozen=True)
class Granted:
    """An extension granted: the stay's event that granted it, when, and through which day.
    Its why (reason and evidence) is personal data, sealed on the household
    (``Household.ExtensionJustified``)."""

    version: int
    granted_at: datetime
    until: date


def _why_dropped(state: dict[str, Any]) -> None:
    """v2 -> v3: an extension's dates only; its reason and evidence are never read again.
    An event recorded before the chain (its links empty) is linked by the hash of its
    content, which its successor holds: it keeps its ``extension`` so that the hash can be
    computed, and nothing else reads it (``Stay.Extended.until_day``)."""
    extension = state.get("extension")
    if extension is None:
        return
    if state.get("hash"):
        del state["extension"]
        state["until"] = extension.until


class Stay(Chained):
    """One household's occupancy of one emplacement."""

    class Opened(CreatedOnceUnchained):
        aire_id: UUID
        emplacement: str
        household_ref: UUID
        arrived_at: datetime
        composition: Composition
        agreement_ref: str
        entry_inspection_ref: str
        water_index: Decimal
        electricity_index: Decimal
        max_consecutive_days: int
        extension_cap_months: int
        actor: str

        def apply(self, stay: Stay) -> None:
            stay.aire_id = self.aire_id
            stay.emplacement = self.emplacement
            stay.household_ref = self.household_ref
            stay.arrived_at = self.arrived_at
            stay.arrival_day = paris_day(self.arrived_at)
            stay.composition = self.composition
            stay.agreement_ref = self.agreement_ref
            stay.entry_inspection_ref = self.entry_inspection_ref
            stay.max_consecutive_days = self.max_consecutive_days
            stay.extension_cap_months = self.extension_cap_months
            stay.readings = (
                MeterReading(1, Meter.WATER.value, self.water_index, self.arrived_at),
                MeterReading(2, Meter.ELECTRICITY.value, self.electricity_index, self.arrived_at),
            )
            stay.billed_index = {
                Meter.WATER.value: self.water_index,
                Meter.ELECTRICITY.value: self.electricity_index,
            }
            stay.billed_reading_day = {
                Meter.WATER.value: stay.arrival_day,
                Meter.ELECTRICITY.value: stay.arrival_day,
            }
            stay.billed_quantity = {
                Meter.WATER.value: Decimal(0),
                Meter.ELECTRICITY.value: Decimal(0),
            }
            stay.charged_until = stay.arrival_day
            stay.pitch_lines = ()
            stay.extensions = ()
            stay.departed_at = None
            stay.exit_inspection_ref = None
            stay.limit_exceeded_on = None
            stay.charged_cents = 0
            stay.settlement = Settlement()

    class MeterRead(EventOnceUnchained):
        reading: MeterReading
        actor: str

        def apply(self, stay: Stay) -> None:
            stay.readings = (*stay.readings, self.reading)

    class Extended(EventOnceUnchained):
        """v3: the dates only. The why (reason, evidence) is the household's, sealed under its
        key (``Household.ExtensionJustified``); v2 stored it here in clear, and is read
        without it."""

        class_version = 3
        upcast_v2_v3 = staticmethod(_why_dropped)
        until: date
        actor: str

        @property
        def until_day(self) -> date:
            """The last day allowed (an event from before the chain still has it inside its
            old ``extension``: see ``_why_dropped``)."""
            legacy: Extension | None = vars(self).get("extension")
            return self.until if legacy is None else legacy.until

        def apply(self, stay: Stay) -> None:
            granted = Granted(self.originator_version, self.timestamp, self.until_day)
            stay.extensions = (*stay.extensions, granted)
            stay.limit_exceeded_on = None

    class LimitExceeded(EventOnceUnchained):
        """Charges reached a day past the allowed stay without an extension: the stay is flagged."""

        first_day: date
        allowed_through: date
        actor: str

        def apply(self, stay: Stay) -> None:
            stay.limit_exceeded_on = self.first_day

    class ChargesAssessed(EventOnceUnchained):
        aire_id: UUID
        household_ref: UUID
        charged_until: date
        lines: tuple[ChargeLine, ...]
        total_cents: int
        billed_index: dict[str, Decimal]
        actor: str

        def apply(self, stay: Stay) -> None:
            stay.charged_until = self.charged_until
            stay.billed_index = dict(self.billed_index)
            for line in self.lines:
                if line.revenue_type != RevenueType.PITCH_FEE.value:
                    stay.billed_reading_day[line.revenue_type] = line.end
                    stay.billed_quantity[line.revenue_type] += line.quantity
            stay.pitch_lines = (
                *stay.pitch_lines,
                *(x for x in self.lines if x.revenue_type == RevenueType.PITCH_FEE.value),
            )
            stay.charged_cents += self.total_cents
            stay.settlement.charge(self.originator_version, self.lines)

    class Settled(Chained.Event):
        """Money paid in (a receipt's lines, or a deposit withheld for unpaid charges)
        settles these charge lines (``settlement.py``); ``reference`` names the movement:
        ``<register id>/receipt/<number>`` or ``<register id>/withholding/<version>``."""

        reference: str
        allocations: tuple[Allocation, ...]
        actor: str

        def apply(self, stay: Stay) -> None:
            stay.settlement.settle(self.reference, self.allocations)

    class SettlementReversed(Chained.Event):
        """The movement ``reference`` was cancelled: what it settled is due again."""

        reference: str
        actor: str

        def apply(self, stay: Stay) -> None:
            stay.settlement.reverse(self.reference)

    class RulesReferenced(Chained.Event):
        """The aire's règlement intérieur in force on the arrival day (``document.py``),
        triggered by the arrival's handler right after ``Opened``."""

        document_id: UUID
        document_version: int
        sha256: str

        def apply(self, stay: Stay) -> None:
            stay.rules = (self.document_id, self.document_version, self.sha256)

    #: The règlement the stay is bound to: (document id, version, SHA-256), if one was.
    rules: tuple[UUID, int, str] | None = None

    class Departed(EventOnceUnchained):
        departed_at: datetime
        exit_inspection_ref: str
        closing_readings: tuple[MeterReading, ...]
        actor: str

        def apply(self, stay: Stay) -> None:
            stay.departed_at = self.departed_at
            stay.exit_inspection_ref = self.exit_inspection_ref
            stay.readings = (*stay.readings, *self.closing_readings)

    def __init__(self) -> None:
        """State is set by the created event's ``apply``; declared here for readers."""
        self.aire_id: UUID
        self.emplacement: str
        self.household_ref: UUID
        self.arrived_at: datetime
        self.arrival_day: date
        self.composition: Composition
        self.agreement_ref: str
        self.entry_inspection_ref: str
        self.max_consecutive_days: int
        self.extension_cap_months: int
        self.readings: tuple[MeterReading, ...]
        self.billed_index: dict[str, Decimal]
        self.billed_reading_day: dict[str, date]
        self.billed_quantity: dict[str, Decimal]
        self.charged_until: date
        self.pitch_lines: tuple[ChargeLine, ...]
        self.extensions: tuple[Granted, ...]
        self.departed_at: datetime | None
        self.exit_inspection_ref: str | None
        self.limit_exceeded_on: date | None
        self.charged_cents: int
        self.settlement: Settlement

    @classmethod
    def open(
        cls,
        *,
        stay_id: UUID,
        aire_id: UUID,
        emplacement: str,
        household_ref: UUID,
        arrived_at: datetime,
        composition: Composition,
        agreement_ref: str,
        entry_inspection_ref: str,
        water_index: Decimal,
        electricity_index: Decimal,
        max_consecutive_days: int,
        extension_cap_months: int,
        actor: str,
        at: datetime,
    ) -> Stay:
        composition.validate()
        if not agreement_ref.strip():
            raise InvalidValue("the signed occupation agreement is required", field="agreement_ref")
        if not entry_inspection_ref.strip():
            raise InvalidValue("the entry inspection is required", field="entry_inspection_ref")
        _check_time(arrived_at, at, "arrived_at")
        for meter, index in ((Meter.WATER, water_index), (Meter.ELECTRICITY, electricity_index)):
            if not _valid_index(index):
                raise InvalidValue(
                    "a meter index is a decimal from 0 to 10^12", field=f"{meter.value}_index"
                )
        return cls._create(
            cls.Opened,
            id=stay_id,
            aire_id=aire_id,
            emplacement=emplacement,
            household_ref=household_ref,
            arrived_at=arrived_at,
            composition=composition,
            agreement_ref=agreement_ref,
            entry_inspection_ref=entry_inspection_ref,
            water_index=water_index,
            electricity_index=electricity_index,
            max_consecutive_days=max_consecutive_days,
            extension_cap_months=extension_cap_months,
            actor=actor,
            timestamp=at,
        )

    # --- derived facts ------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self.departed_at is None

    def uncharged_through(self, day: date) -> bool:
        """Whether some day of the stay up to ``day`` is not charged yet."""
        stop = day + timedelta(days=1)
        if self.end_day is not None:
            stop = min(stop, self.end_day)
        return self.arrival_day <= day and self.charged_until < stop

    @property
    def end_day(self) -> date | None:
        """First day no longer occupied (departure day; arrival + 1 for a same-day stay)."""
        if self.departed_at is None:
            return None
        return max(paris_day(self.departed_at), self.arrival_day + timedelta(days=1))

    @property
    def base_allowed_through(self) -> date:
        return self.arrival_day + timedelta(days=self.max_consecutive_days - 1)

    @property
    def allowed_through(self) -> date:
        """Last day the stay may occupy: the base limit or the latest extension."""
        if self.extensions:
            return max(self.base_allowed_through, *(e.until for e in self.extensions))
        return self.base_allowed_through

    @property
    def extension_cap(self) -> date:
        return add_months(self.base_allowed_through, self.extension_cap_months)

    @property
    def flagged(self) -> bool:
        """Past the allowed stay without an extension (charges and receipts still work)."""
        return self.limit_exceeded_on is not None

    def effective_readings(self, meter: Meter | str) -> list[MeterReading]:
        """Readings of one meter in order, each replaced by its latest correction."""
        meter = Meter(meter).value
        corrected: dict[int, MeterReading] = {}
        originals: list[MeterReading] = []
        for r in self.readings:
            if r.meter != meter:
                continue
            if r.corrects is None:
                originals.append(r)
            else:
                corrected[r.corrects] = r
        result = []
        for r in originals:
            c = corrected.get(r.seq)
            result.append(r if c is None else MeterReading(r.seq, r.meter, c.index, r.read_at))
        return result

    def _require_open(self) -> None:
        if not self.is_open:
            raise StayClosed("the household has left; this stay is closed")

    # --- commands -----------------------------------------------------------------------

    def read_meter(
        self,
        *,
        meter: Meter | str,
        index: Decimal,
        read_at: datetime,
        corrects: int | None = None,
        actor: str,
        at: datetime,
    ) -> MeterReading:
        """Record an index. It never goes down, except through a correction of a reading."""
        self._require_open()
        try:
            meter = Meter(meter)
        except ValueError:
            raise InvalidValue("meter is water or electricity", field="meter") from None
        if not _valid_index(index):
            raise InvalidValue("a meter index is a decimal from 0 to 10^12", field="index")
        _check_time(read_at, at, "read_at")
        if read_at < self.arrived_at:
            raise InvalidPeriod("a reading cannot precede the arrival", field="read_at")
        series = self.effective_readings(meter)
        seq = len(self.readings) + 1
        if corrects is None:
            if read_at < series[-1].read_at:
                raise InvalidPeriod("readings are recorded in time order", field="read_at")
            if index < series[-1].index:
                raise MeterIndexDecreased(
                    f"{meter.value} index {index} is below the last reading "
                    f"{series[-1].index}; record a correction instead",
                    field="index",
                )
            reading = MeterReading(seq, meter.value, index, read_at)
        else:
            target = [r for r in series if r.seq == corrects]
            if not target:
                raise ReadingNotFound(
                    f"no {meter.value} reading {corrects} on this stay", field="corrects"
                )
            position = series.index(target[0])
            before = series[position - 1].index if position > 0 else None
            after = series[position + 1].index if position + 1 < len(series) else None
            if (before is not None and index < before) or (after is not None and index > after):
                raise MeterIndexDecreased(
                    "a corrected index must stay between its neighbouring readings", field="index"
                )
            reading = MeterReading(seq, meter.value, index, target[0].read_at, corrects)
        self.trigger_event(self.MeterRead, reading=reading, actor=actor, timestamp=at)
        return reading

    def extend(
        self,
        *,
        reason: ExtensionReason | str,
        evidence_ref: str,
        until: date,
        actor: str,
        at: datetime,
    ) -> ExtensionReason:
        """Extend past the maximum stay (school, training, work, hospitalisation), within cap.
        Only the dates are recorded here: the reason (returned, validated) and the evidence
        are the household's, recorded sealed beside this event (``Household.justify``)."""
        self._require_open()
        try:
            reason = ExtensionReason(reason)
        except ValueError:
            raise InvalidValue(
                "reason is school, training, work or hospitalisation", field="reason"
            ) from None
        if not evidence_ref.strip():
            raise InvalidValue("an extension names its evidence", field="evidence_ref")
        if until <= self.allowed_through:
            raise InvalidPeriod(
                f"the stay is already allowed through {self.allowed_through}", field="until"
            )
        if until > self.extension_cap:
            raise ExtensionBeyondCap(
                f"extensions end by {self.extension_cap} "
                f"({self.extension_cap_months} months past the maximum stay)",
                field="until",
            )
        self.trigger_event(self.Extended, until=until, actor=actor, timestamp=at)
        return reason

    def assess_charges(
        self, *, through: date, tariffs: tuple[Tariff, ...], actor: str, at: datetime
    ) -> ChargesAssessed | None:
        """Charge every day not yet charged up to ``through`` (or to departure), and the
        water and electricity consumed since the last billed reading. Returns the event,
        or None when there was nothing to charge."""
        if through < self.arrival_day:
            raise InvalidPeriod("charges are assessed from the arrival day on", field="through")
        if through > paris_day(at) + timedelta(days=MAX_DAYS_AHEAD):
            raise InvalidPeriod(
                f"charges are assessed at most {MAX_DAYS_AHEAD} days ahead", field="through"
            )
        stop = through + timedelta(days=1)
        if self.end_day is not None:
            stop = min(stop, self.end_day)
        days = [
            self.charged_until + timedelta(days=i)
            for i in range(max(0, (stop - self.charged_until).days))
        ]
        lines = self._pitch_lines(days, tariffs)
        charged_until = days[-1] + timedelta(days=1) if days else self.charged_until
        if self.end_day is not None and self.charged_until > self.end_day:
            lines.extend(self._credit_days_after(self.end_day))
            charged_until = self.end_day
        billed = dict(self.billed_index)
        for meter in Meter:
            readings = self.effective_readings(meter)
            series = [r for r in readings if paris_day(r.read_at) <= through]
            last = series[-1]
            if paris_day(last.read_at) < self.billed_reading_day[meter.value]:
                continue  # an earlier day than already billed: nothing new to bill
            # Consumption from the (corrected) arrival index, less what was billed: a
            # correction of any reading, the arrival's included, is billed or credited.
            quantity = last.index - readings[0].index - self.billed_quantity[meter.value]
            lines.extend(
                fluid_lines(
                    meter,
                    quantity=quantity,
                    billed_day=self.billed_reading_day[meter.value],
                    day=paris_day(last.read_at),
                    tariffs=tariffs,
                )
            )
            billed[meter.value] = last.index
        if not lines:
            return None
        total = charge_total(lines)  # amount_too_large, nothing recorded
        if days and self.limit_exceeded_on is None and days[-1] > self.allowed_through:
            first = max(days[0], self.allowed_through + timedelta(days=1))
            self.trigger_event(
                self.LimitExceeded,
                first_day=first,
                allowed_through=self.allowed_through,
                actor=actor,
                timestamp=at,
            )
        self.trigger_event(
            self.ChargesAssessed,
            aire_id=self.aire_id,
            household_ref=self.household_ref,
            charged_until=charged_until,
            lines=tuple(lines),
            total_cents=total,
            billed_index=billed,
            actor=actor,
            timestamp=at,
        )
        event = self.pending_events[-1]
        assert isinstance(event, Stay.ChargesAssessed)
        return event

    def _credit_days_after(self, end_day: date) -> list[ChargeLine]:
        """Days charged ahead that the household did not occupy (it left earlier than
        charged): credited at the rates they were charged, line by line."""
        credits = []
        for line in self.pitch_lines:
            if line.amount_cents <= 0 or line.end < end_day:
                continue
            first = max(line.start, end_day)
            span = (line.end - line.start).days + 1
            per_day = line.quantity / span
            quantity = -per_day * ((line.end - first).days + 1)
            credits.append(
                ChargeLine(
                    revenue_type=line.revenue_type,
                    component=line.component,
                    start=first,
                    end=line.end,
                    quantity=quantity,
                    unit_price=line.unit_price,
                    amount_cents=to_cents(quantity * line.unit_price),
                    tariff_ref=line.tariff_ref,
                )
            )
        return credits

    def _pitch_lines(self, days: list[date], tariffs: tuple[Tariff, ...]) -> list[ChargeLine]:
        """Day by day rates, grouped into lines over runs of equal (component, tariff, rate)."""
        priced: list[tuple[str, str, int, int, date]] = []  # component, ref, cents, count, day
        for day in days:
            tariff = tariff_in_force(tariffs, day)
            if tariff is None:
                raise NoTariffInForce(f"no tariff in force on {day}", field="through")
            day_number = (day - self.arrival_day).days + 1
            priced.append(("pitch", tariff.ref, tariff.pitch_fee_on(day, day_number), 1, day))
            for band, count in self.composition.by_band():
                rate = tariff.person_rate(band)
                if rate and count:
                    priced.append((f"person:{band}", tariff.ref, rate, count, day))
        lines: list[ChargeLine] = []
        priced.sort(key=lambda p: (p[0], p[4]))
        for (component, ref, cents, count), run in groupby(priced, key=lambda p: p[:4]):
            for start, end in _consecutive_runs([p[4] for p in run]):
                if not cents:
                    continue
                quantity = Decimal(((end - start).days + 1) * count)
                unit = Decimal(cents) / 100
                lines.append(
                    ChargeLine(
                        revenue_type=RevenueType.PITCH_FEE.value,
                        component=component,
                        start=start,
                        end=end,
                        quantity=quantity,
                        unit_price=unit,
                        amount_cents=to_cents(quantity * unit),
                        tariff_ref=ref,
                    )
                )
        lines.sort(key=lambda line: (line.start, line.component))
        return lines

    # --- settlement (lettrage) ---------------------------------------------------------------

    def settle(
        self, *, reference: str, allocations: tuple[Allocation, ...], actor: str, at: datetime
    ) -> None:
        """Record what a movement settles (decided by ``settlement.allocate``), open stay
        or not: a departed household still pays what it owes."""
        if allocations:
            self.trigger_event(
                self.Settled,
                reference=reference,
                allocations=allocations,
                actor=actor,
                timestamp=at,
            )

    def reverse_settlement(self, *, reference: str, actor: str, at: datetime) -> None:
        """The movement ``reference`` is cancelled; nothing to do if it settled nothing
        (a deposit, or a receipt recorded before settlements were)."""
        if reference in self.settlement.movements:
            self.trigger_event(
                self.SettlementReversed, reference=reference, actor=actor, timestamp=at
            )

    def depart(
        self,
        *,
        departed_at: datetime,
        exit_inspection_ref: str,
        water_index: Decimal,
        electricity_index: Decimal,
        actor: str,
        at: datetime,
    ) -> None:
        """Close the stay when the household leaves, deposit held or not: the deposit is
        refunded (or withheld) afterwards, once the final bill is settled."""
        self._require_open()
        if not exit_inspection_ref.strip():
            raise InvalidValue("the exit inspection is required", field="exit_inspection_ref")
        _check_time(departed_at, at, "departed_at")
        if departed_at < self.arrived_at:
            raise InvalidPeriod("departure comes after arrival", field="departed_at")
        closing = []
        seq = len(self.readings)
        for meter, index in ((Meter.WATER, water_index), (Meter.ELECTRICITY, electricity_index)):
            field = f"{meter.value}_index"
            if not _valid_index(index):
                raise InvalidValue("a meter index is a decimal", field=field)
            last = self.effective_readings(meter)[-1]
            if index < last.index:
                raise MeterIndexDecreased(
                    f"closing {meter.value} index below {last.index}", field=field
                )
            if departed_at < last.read_at:
                raise InvalidPeriod("departure precedes the last reading", field="departed_at")
            seq += 1
            closing.append(MeterReading(seq, meter.value, index, departed_at))
        self.trigger_event(
            self.Departed,
            departed_at=departed_at,
            exit_inspection_ref=exit_inspection_ref,
            closing_readings=tuple(closing),
            actor=actor,
            timestamp=at,
        )


MAX_DAYS_AHEAD = 366  # charging ahead (a prepayment) is allowed, up to a year
MAX_INDEX = Decimal(10) ** 12  # a meter index beyond this is a typing error


def _valid_index(index: object) -> bool:
    return isinstance(index, Decimal) and index.is_finite() and Decimal(0) <= index < MAX_INDEX


def _consecutive_runs(days: list[date]) -> list[tuple[date, date]]:
    """Split sorted days into runs of consecutive days: [(first, last), ...]."""
    runs: list[tuple[date, date]] = []
    for day in days:
        if runs and day == runs[-1][1] + timedelta(days=1):
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def _check_time(moment: datetime, at: datetime, field: str) -> None:
    if not isinstance(moment, datetime) or moment.tzinfo is None:
        raise InvalidValue("a datetime with its offset is required", field=field)
    if moment > at + timedelta(minutes=5):
        raise InvalidPeriod("cannot be in the future", field=field)
