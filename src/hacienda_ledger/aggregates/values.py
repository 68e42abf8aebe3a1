"""Value types shared by the aggregates: money, calendar days, tariffs, charge lines.

Money is ``int`` cents. Unit prices and quantities are ``Decimal`` (prices in euros, with
sub-cent precision). ``to_cents`` is the one place where a ``Decimal`` amount in euros
becomes cents: half-up, to the cent.

``MAX_CENTS`` is the one ceiling for money: an amount given (``require_cents``) or computed
(a charge's lines and total, ``charge_total``; a receipt's lines and total) past it is refused
``amount_too_large`` before anything is recorded. A hundred million euros is no aire's
charge nor receipt, and amounts under it, summed over any register's or aire's life, stay far
within the signed 64-bit integers the stores hold. What feeds a charge is bounded too: unit
prices by ``MAX_UNIT_PRICE``, meter indexes below ``stay.MAX_INDEX``.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from itertools import pairwise
from zoneinfo import ZoneInfo

from hacienda_ledger.aggregates.errors import (
    AmountTooLarge,
    InvalidAmount,
    InvalidPeriod,
    InvalidValue,
)

PARIS = ZoneInfo("Europe/Paris")

MAX_CENTS = 10_000_000_000
"""The largest amount the ledger records, in cents (10^10: 100 000 000 euros); the API's
``Cents`` take it as their bound."""
MAX_UNIT_PRICE = Decimal(1000)
"""The largest unit price of a fluid, in euros per m³ or per kWh (a few euros at most)."""


def to_cents(euros: Decimal) -> int:
    """Round an amount in euros to whole cents, half-up (the only rounding in the ledger)."""
    if not isinstance(euros, Decimal):
        raise TypeError(f"amounts are Decimal, not {type(euros).__name__}")
    return int((euros * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def paris_day(moment: datetime) -> date:
    """The Europe/Paris calendar day of an aware datetime."""
    if moment.tzinfo is None:
        raise InvalidValue("datetimes must carry a time zone offset", field="datetime")
    return moment.astimezone(PARIS).date()


def month_bounds(month: str) -> tuple[date, date]:
    """First and last day of a ``YYYY-MM`` month (``InvalidPeriod``, a ``ValueError``,
    for anything else)."""
    try:
        year_text, month_text = month.split("-")
        if len(year_text) != 4 or len(month_text) != 2:
            raise ValueError
        year, number = int(year_text), int(month_text)
        first = date(year, number, 1)
    except ValueError:
        raise InvalidPeriod(f"a month is written YYYY-MM, not {month!r}", field="month") from None
    return first, first.replace(day=calendar.monthrange(year, number)[1])


def add_months(day: date, months: int) -> date:
    """Same day ``months`` later, clamped to the month's last day (31 Jan + 1 = 28/29 Feb)."""
    month_index = day.month - 1 + months
    year = day.year + month_index // 12
    month = month_index % 12 + 1
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(day.day, last))


def require_cents(value: int, field_name: str, *, positive: bool = True) -> int:
    """Amounts are int cents; ``bool`` and ``float`` are refused."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidAmount("amounts are integer cents", field=field_name)
    if positive and value <= 0:
        raise InvalidAmount("amount must be greater than zero", field=field_name)
    if not positive and value < 0:
        raise InvalidAmount("amount must not be negative", field=field_name)
    return within_ceiling(value, field_name)


def within_ceiling(cents: int, field_name: str | None, what: str = "an amount") -> int:
    """``cents``, if it is within ``MAX_CENTS`` either way (a credit is negative)."""
    if abs(cents) > MAX_CENTS:
        raise AmountTooLarge(
            f"{what} of {cents} cents is past the ledger's ceiling of {MAX_CENTS} cents",
            field=field_name,
        )
    return cents


def charge_total(lines: list[ChargeLine]) -> int:
    """A charge's total, once each line and the total are known within ``MAX_CENTS``: past
    it, a reading or a price was mistyped (correct it, then charge again)."""
    for line in lines:
        within_ceiling(line.amount_cents, None, f"the {line.revenue_type} line")
    return within_ceiling(sum(line.amount_cents for line in lines), None, "the charge")


def require_decimal(value: Decimal, field_name: str, ceiling: Decimal | None = None) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise InvalidValue("expected a finite decimal", field=field_name)
    if value < 0:
        raise InvalidValue("must not be negative", field=field_name)
    if ceiling is not None and value > ceiling:
        raise InvalidValue(f"must not be over {ceiling}", field=field_name)
    return value


class Mode(StrEnum):
    """Management mode of an aire."""

    REGIE = "regie"
    MARCHE = "marche"
    DSP = "dsp"


class PaymentMethod(StrEnum):
    CASH = "cash"
    CHEQUE = "cheque"
    CARD = "card"
    TRANSFER = "transfer"


class RevenueType(StrEnum):
    PITCH_FEE = "pitch_fee"
    WATER = "water"
    ELECTRICITY = "electricity"
    DEPOSIT = "deposit"
    OTHER = "other"
    ADVANCE = "advance"  # paid ahead of charges: held for the stay until applied to them


class Meter(StrEnum):
    WATER = "water"
    ELECTRICITY = "electricity"


class ExtensionReason(StrEnum):
    SCHOOL = "school"
    TRAINING = "training"
    WORK = "work"
    HOSPITALISATION = "hospitalisation"


class UnmetReason(StrEnum):
    """Why a request for a place could not be met (a closed list: no free text)."""

    FULL = "full"
    CLOSED = "closed"
    OUT_OF_SERVICE = "out_of_service"
    GROUP_TOO_LARGE = "group_too_large"


class Period(StrEnum):
    DAY = "day"
    MONTH = "month"
    YEAR = "year"


class WithholdingReason(StrEnum):
    DAMAGE = "damage"
    UNPAID_CHARGES = "unpaid_charges"


def period_bounds(period: Period, day: date) -> tuple[date, date]:
    """First and last calendar day of the day, month or year containing ``day``."""
    if period is Period.DAY:
        return day, day
    if period is Period.MONTH:
        return day.replace(day=1), day.replace(day=calendar.monthrange(day.year, day.month)[1])
    return date(day.year, 1, 1), date(day.year, 12, 31)


@dataclass(frozen=True)
class PersonRate:
    """Daily rate per person of an age band (``adult`` or a children's band such as ``0-3``)."""

    age_band: str
    daily_cents: int


@dataclass(frozen=True)
class SeasonalRate:
    """Pitch fee that replaces the base fee between two dates (inclusive)."""

    start: date
    end: date
    pitch_fee_per_day_cents: int


@dataclass(frozen=True)
class DurationBand:
    """Pitch fee that applies from the ``from_day``-th day of a stay (day 1 = arrival day)."""

    from_day: int
    pitch_fee_per_day_cents: int


@dataclass(frozen=True)
class Tariff:
    """One tariff version, set by a délibération, in force from ``effective_from``."""

    effective_from: date
    deliberation_ref: str
    pitch_fee_per_day_cents: int
    water_price_per_m3: Decimal
    electricity_price_per_kwh: Decimal
    deposit_cents: int
    person_rates: tuple[PersonRate, ...] = ()
    seasons: tuple[SeasonalRate, ...] = ()
    duration_bands: tuple[DurationBand, ...] = ()
    deliberation_date: date | None = None  # the council's vote (None: not recorded, before v2)
    executory_from: date | None = None  # the day the délibération became executory

    def __post_init__(self) -> None:
        object.__setattr__(self, "person_rates", tuple(self.person_rates))
        object.__setattr__(self, "seasons", tuple(self.seasons))
        object.__setattr__(self, "duration_bands", tuple(self.duration_bands))

    def validate(self) -> None:
        if not self.deliberation_ref.strip():
            raise InvalidValue("a tariff names its délibération", field="deliberation_ref")
        if (
            self.deliberation_date is not None
            and self.executory_from is not None
            and self.executory_from < self.deliberation_date
        ):
            raise InvalidPeriod(
                "a délibération becomes executory after it is voted", field="executory_from"
            )
        if self.executory_from is not None and self.effective_from < self.executory_from:
            raise InvalidPeriod(
                f"a tariff applies from the day its délibération is executory "
                f"({self.executory_from}) at the earliest",
                field="effective_from",
            )
        require_cents(self.pitch_fee_per_day_cents, "pitch_fee_per_day_cents", positive=False)
        require_cents(self.deposit_cents, "deposit_cents", positive=False)
        require_decimal(self.water_price_per_m3, "water_price_per_m3", MAX_UNIT_PRICE)
        require_decimal(self.electricity_price_per_kwh, "electricity_price_per_kwh", MAX_UNIT_PRICE)
        bands = [rate.age_band for rate in self.person_rates]
        if len(set(bands)) != len(bands):
            raise InvalidValue("one rate per age band", field="person_rates")
        for rate in self.person_rates:
            require_cents(rate.daily_cents, "person_rates.daily_cents", positive=False)
        for season in self.seasons:
            if season.end < season.start:
                raise InvalidPeriod("a season ends after it starts", field="seasons")
            require_cents(
                season.pitch_fee_per_day_cents, "seasons.pitch_fee_per_day_cents", positive=False
            )
        ordered = sorted(self.seasons, key=lambda s: s.start)
        for before, after in pairwise(ordered):
            if after.start <= before.end:
                raise InvalidPeriod("seasons must not overlap", field="seasons")
        for band in self.duration_bands:
            if band.from_day < 2:
                raise InvalidValue(
                    "a duration band starts at day 2 or later", field="duration_bands"
                )
            require_cents(
                band.pitch_fee_per_day_cents,
                "duration_bands.pitch_fee_per_day_cents",
                positive=False,
            )
        starts = [band.from_day for band in self.duration_bands]
        if len(set(starts)) != len(starts):
            raise InvalidValue("one band per starting day", field="duration_bands")

    @property
    def ref(self) -> str:
        """How charge lines name this version: its effective date and délibération. A fluid
        line over several versions at one unit price names each (see ``ChargeLine``)."""
        return f"{self.effective_from.isoformat()}/{self.deliberation_ref}"

    def pitch_fee_on(self, day: date, day_number: int) -> int:
        """Daily fee per emplacement: a duration band beats a season, which beats the base."""
        applicable = [b for b in self.duration_bands if day_number >= b.from_day]
        if applicable:
            return max(applicable, key=lambda b: b.from_day).pitch_fee_per_day_cents
        for season in self.seasons:
            if season.start <= day <= season.end:
                return season.pitch_fee_per_day_cents
        return self.pitch_fee_per_day_cents

    def unit_price(self, meter: Meter | str) -> Decimal:
        """Price of one unit of a fluid: euros per m³ of water or per kWh of electricity."""
        if Meter(meter) is Meter.WATER:
            return self.water_price_per_m3
        return self.electricity_price_per_kwh

    def person_rate(self, age_band: str) -> int:
        for rate in self.person_rates:
            if rate.age_band == age_band:
                return rate.daily_cents
        return 0


def tariff_in_force(tariffs: tuple[Tariff, ...], day: date) -> Tariff | None:
    """The version whose effective date is the latest on or before ``day``."""
    best: Tariff | None = None
    for tariff in tariffs:
        if tariff.effective_from <= day and (
            best is None or tariff.effective_from > best.effective_from
        ):
            best = tariff
    return best


@dataclass(frozen=True)
class Composition:
    """Who is on the pitch: adults, children by age band, caravans. Counts only."""

    adults: int
    children: tuple[tuple[str, int], ...] = ()
    caravans: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "children", tuple((str(band), int(n)) for band, n in self.children)
        )

    def validate(self) -> None:
        if isinstance(self.adults, bool) or not isinstance(self.adults, int) or self.adults < 1:
            raise InvalidValue("a household has at least one adult", field="adults")
        if self.caravans < 0:
            raise InvalidValue("caravans cannot be negative", field="caravans")
        for band, count in self.children:
            if count < 0 or not band:
                raise InvalidValue("children are counted by age band", field="children")

    @property
    def people(self) -> int:
        return self.adults + sum(count for _, count in self.children)

    def by_band(self) -> tuple[tuple[str, int], ...]:
        """Head counts by age band, adults first, bands in a stable order."""
        return (("adult", self.adults), *sorted(c for c in self.children if c[1]))


TARIFF_REF_JOINER = " + "  # between the refs of a line priced by several tariff versions


@dataclass(frozen=True)
class ChargeLine:
    """One line of a charge: quantity × unit price (euros) = amount (cents), with its tariff.

    ``amount_cents`` is ``to_cents(quantity × unit_price)``: each line is rounded once.
    ``tariff_ref`` is the ``Tariff.ref`` of the version that priced the line; a fluid line
    whose days span several versions at the same unit price names them all, in order,
    joined by ``TARIFF_REF_JOINER``.
    """

    revenue_type: str
    component: str
    start: date
    end: date
    quantity: Decimal
    unit_price: Decimal
    amount_cents: int
    tariff_ref: str


@dataclass(frozen=True)
class Totals:
    """Money by revenue type and by payment method, and a count of receipts."""

    by_revenue_type: dict[str, int] = field(default_factory=dict)
    by_method: dict[str, int] = field(default_factory=dict)
    receipts: int = 0
    cancellations: int = 0

    @property
    def net_cents(self) -> int:
        return sum(self.by_method.values())

    def add(
        self, lines: tuple[tuple[str, int], ...], method: str, sign: int, *, counted: bool = True
    ) -> Totals:
        """``lines`` added (``sign`` +1) or taken away (-1) in ``method``; a receipt (+1) or
        a cancellation (-1) is counted, unless ``counted`` is false (money moved between
        third-party funds and revenue, as an advance applied to charges)."""
        by_type = dict(self.by_revenue_type)
        by_method = dict(self.by_method)
        for revenue_type, amount in lines:
            by_type[revenue_type] = by_type.get(revenue_type, 0) + sign * amount
            by_method[method] = by_method.get(method, 0) + sign * amount
        return Totals(
            by_revenue_type=by_type,
            by_method=by_method,
            receipts=self.receipts + (1 if counted and sign > 0 else 0),
            cancellations=self.cancellations + (1 if counted and sign < 0 else 0),
        )

    def __add__(self, other: Totals) -> Totals:
        def merge(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
            return {k: a.get(k, 0) + b.get(k, 0) for k in sorted(a.keys() | b.keys())}

        return Totals(
            by_revenue_type=merge(self.by_revenue_type, other.by_revenue_type),
            by_method=merge(self.by_method, other.by_method),
            receipts=self.receipts + other.receipts,
            cancellations=self.cancellations + other.cancellations,
        )


def days_between(start: date, end: date) -> list[date]:
    """Calendar days from ``start`` up to, not including, ``end``."""
    return [start + timedelta(days=i) for i in range((end - start).days)]
