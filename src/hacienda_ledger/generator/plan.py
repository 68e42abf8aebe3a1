"""The generated world's plan: départements, collectivités, aires, tariffs, closures and
outages, decided from the seed before the first day is lived (see docs/generator.md)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import TypeVar
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from hacienda_ledger.aggregates.aire import Aire
from hacienda_ledger.aggregates.values import (
    DurationBand,
    PersonRate,
    SeasonalRate,
    Tariff,
)
from hacienda_ledger.demo import DemoCollectivite, reference_sites

A = TypeVar("A", bound=Aggregate)

GENERATOR = UUID("6b1f4a52-93c1-4d1e-9a57-0c2f3e4d5b6a")
METHODS = ("cash", "cheque", "card", "transfer")
ACTOR_MANAGER = "manager-generator"
ACTOR_CASHIER = "cashier-generator"
ACTOR_REGISSEUR = "regisseur-generator"  # approves cancellations, remits, signs counts

# Départements: code, name, approximate centroid (lat, lon) and the half-width of the
# jitter in degrees (small for Corsica). Overseas départements are left out: their days
# are not Europe/Paris days.
DEPARTEMENTS: tuple[tuple[str, str, str, str, str], ...] = (
    ("01", "Ain", "46.10", "5.35", "0.25"),
    ("02", "Aisne", "49.56", "3.56", "0.30"),
    ("06", "Alpes-Maritimes", "43.94", "7.12", "0.15"),
    ("13", "Bouches-du-Rhône", "43.54", "5.09", "0.20"),
    ("14", "Calvados", "49.09", "-0.36", "0.20"),
    ("17", "Charente-Maritime", "45.78", "-0.67", "0.25"),
    ("21", "Côte-d'Or", "47.42", "4.77", "0.30"),
    ("2A", "Corse-du-Sud", "41.86", "8.99", "0.12"),
    ("2B", "Haute-Corse", "42.39", "9.21", "0.15"),
    ("29", "Finistère", "48.26", "-4.06", "0.20"),
    ("31", "Haute-Garonne", "43.36", "1.17", "0.25"),
    ("33", "Gironde", "44.83", "-0.58", "0.30"),
    ("34", "Hérault", "43.58", "3.37", "0.20"),
    ("35", "Ille-et-Vilaine", "48.15", "-1.64", "0.25"),
    ("37", "Indre-et-Loire", "47.26", "0.69", "0.25"),
    ("38", "Isère", "45.26", "5.58", "0.25"),
    ("41", "Loir-et-Cher", "47.62", "1.43", "0.25"),
    ("44", "Loire-Atlantique", "47.35", "-1.68", "0.25"),
    ("45", "Loiret", "47.91", "2.34", "0.25"),
    ("49", "Maine-et-Loire", "47.39", "-0.56", "0.25"),
    ("51", "Marne", "48.95", "4.24", "0.30"),
    ("57", "Moselle", "49.04", "6.66", "0.25"),
    ("59", "Nord", "50.45", "3.21", "0.20"),
    ("62", "Pas-de-Calais", "50.49", "2.29", "0.20"),
    ("63", "Puy-de-Dôme", "45.73", "3.14", "0.25"),
    ("67", "Bas-Rhin", "48.67", "7.55", "0.25"),
    ("69", "Rhône", "45.87", "4.64", "0.20"),
    ("72", "Sarthe", "47.99", "0.22", "0.25"),
    ("76", "Seine-Maritime", "49.66", "1.03", "0.20"),
    ("77", "Seine-et-Marne", "48.63", "2.93", "0.25"),
    ("78", "Yvelines", "48.82", "1.84", "0.15"),
    ("79", "Deux-Sèvres", "46.56", "-0.32", "0.25"),
    ("83", "Var", "43.46", "6.22", "0.20"),
    ("84", "Vaucluse", "43.99", "5.18", "0.15"),
    ("85", "Vendée", "46.68", "-1.30", "0.25"),
    ("86", "Vienne", "46.56", "0.46", "0.25"),
    ("91", "Essonne", "48.52", "2.24", "0.12"),
    ("95", "Val-d'Oise", "49.08", "2.13", "0.10"),
)

# Target share of in-service emplacements occupied, by month (January first): wintering
# (hivernage) fills the aires from November to February, the travelling season empties
# them in spring and early autumn, summer holidays bring some back. Each aire adds its own
# offset in [-0.04, +0.04]; the result is clamped to [0.60, 0.90]. The controller admits
# arrivals until round(rate × emplacements in service) are occupied.
SEASONAL_OCCUPANCY = (0.90, 0.88, 0.78, 0.66, 0.60, 0.62, 0.72, 0.75, 0.65, 0.72, 0.84, 0.90)

# Nights of a stay: (weight, shortest, longest). The last band goes past the 90-day limit
# and is extended (school, work, training, hospitalisation).
STAY_NIGHTS = ((35, 2, 13), (35, 14, 45), (25, 46, 89), (5, 100, 280))

MAX_BASE_NIGHTS = Aire.DEFAULT_MAX_DAYS - 1


def target_rate(day: date, offset: float) -> float:
    """The occupancy the controller aims at on ``day`` for an aire with that offset."""
    return min(0.90, max(0.60, SEASONAL_OCCUPANCY[day.month - 1] + offset))


@dataclass(frozen=True)
class GenerationSummary:
    """What a generation wrote: events (idempotency records excluded), aires, registers
    (in aire order), stays opened, the simulated days and the wall-clock seconds."""

    events: int
    aires: int
    registers: tuple[UUID, ...]
    collectivites: int
    stays: int
    first_day: date
    last_day: date
    seconds: float
    bulk: bool

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0

    def register_with_history(self, years: int) -> UUID:
        """A register holding at least ``years`` years of events (every register opens on
        the first day; the first aire's is returned)."""
        covered = (self.last_day - self.first_day).days + 1
        if covered < round(365.25 * years) - 1 or not self.registers:
            raise ValueError(f"this generation covers {covered} days, not {years} years")
        return self.registers[0]


@dataclass
class _StayPlan:
    stay_id: UUID
    emplacement: str
    arrival: date
    leave: date
    allowed_through: date
    cap: date
    water: Decimal
    power: Decimal
    deposit_cents: int
    deposit_method: str
    late_payer: bool
    unpaid: dict[str, int] = field(default_factory=dict)
    advance_cents: int = 0  # paid ahead at arrival (a week of pitch fee), applied by charges
    advance_method: str = "cash"  # how it was paid, and so refunded


@dataclass
class _Site:
    code: str
    name: str
    insee: str
    departement: str
    sector: str
    latitude: Decimal
    longitude: Decimal
    emplacements: int
    offset: float
    aire_id: UUID
    register_id: UUID
    collectivite: str
    tariffs: list[tuple[date, Tariff]] = field(default_factory=list)
    closures: list[tuple[date, date, date]] = field(default_factory=list)  # notice, first, last
    outages: list[tuple[date, date]] = field(default_factory=list)  # out, back
    stays: dict[str, _StayPlan] = field(default_factory=dict)
    out_of_service: dict[str, date] = field(default_factory=dict)
    numbers: list[str] = field(default_factory=list)
    opened: int = 0


def _jitter(rng: random.Random, centre: str, half_width: str) -> Decimal:
    spread = int(Decimal(half_width) * 10_000)
    return (Decimal(centre) + Decimal(rng.randint(-spread, spread)) / 10_000).quantize(
        Decimal("0.0001")
    )


def plan_world(
    aires: int, years: int, seed: int, start_year: int, first_day: date | None = None
) -> tuple[list[DemoCollectivite], list[_Site]]:
    """Collectivités and aires with their tariffs, closures and outages, from the seed."""
    if not 1 <= aires <= 2000:
        raise ValueError("aires: 1 to 2000")
    if not 1 <= years <= 30:
        raise ValueError("years: 1 to 30")
    rng = random.Random(seed)
    namespace = uuid5(GENERATOR, f"seed-{seed}")
    anjou = [s for s in reference_sites() if s["type"] == "Aire d'accueil"]
    by_dept: dict[str, list[int]] = {}
    chosen = [rng.randrange(len(DEPARTEMENTS)) for _ in range(aires)]
    for index, dept_index in enumerate(chosen):
        by_dept.setdefault(DEPARTEMENTS[dept_index][0], []).append(index)
    collectivites: list[DemoCollectivite] = []
    sites: dict[int, _Site] = {}
    first = first_day or date(start_year, 1, 1)
    last = date(start_year + years - 1, 12, 31)
    for dept_code, name, lat, lon, spread in DEPARTEMENTS:
        members = by_dept.get(dept_code, [])
        position = 0
        while position < len(members):
            size = rng.randint(1, 4)
            group = members[position : position + size]
            position += size
            number = len(collectivites) + 1
            collectivite = DemoCollectivite(
                code=f"GEN-{dept_code}-{number:03d}",
                name=f"Agglomération n° {number} — {name} (synthétique)",
                siren=f"200{rng.randrange(10**6):06d}",
                mode=rng.choices(["regie", "marche", "dsp"], weights=[50, 25, 25])[0],
            )
            collectivites.append(collectivite)
            for index in group:
                insee = f"{dept_code}{rng.randint(1, 599):03d}"
                code = f"{insee}-G{index + 1:04d}"
                label = f"Aire d'accueil n° {index + 1} — {name}"
                latitude, longitude = _jitter(rng, lat, spread), _jitter(rng, lon, spread)
                if dept_code == "49" and anjou:
                    place = anjou[(index * 7) % len(anjou)]
                    label = f"Aire d'accueil de {place['lieu']} (synthétique n° {index + 1})"
                    latitude = Decimal(place["latitude"]).quantize(Decimal("0.0001"))
                    longitude = Decimal(place["longitude"]).quantize(Decimal("0.0001"))
                sites[index] = _Site(
                    code=code,
                    name=label,
                    insee=insee,
                    departement=dept_code,
                    sector=name,
                    latitude=latitude,
                    longitude=longitude,
                    emplacements=rng.randint(8, 40),
                    offset=rng.uniform(-0.04, 0.04),
                    aire_id=Aire.id_for(code),
                    register_id=uuid5(namespace, f"register-{code}"),
                    collectivite=collectivite.code,
                )
    ordered = [sites[i] for i in range(aires)]
    for site in ordered:
        _plan_tariffs(rng, site, start_year, years, first)
        for year in range(start_year, start_year + years):
            if rng.random() < 0.3:  # a summer maintenance closure, announced 75 days ahead
                start = date(year, 8, rng.randint(1, 17))
                end = start + timedelta(days=rng.randint(6, 13))
                notice = start - timedelta(days=75)
                if notice > first and end <= last:
                    site.closures.append((notice, start, end))
            if rng.random() < 0.6:  # an emplacement out of service for repairs
                out = date(year, rng.randint(1, 12), rng.randint(1, 28))
                back = out + timedelta(days=rng.randint(5, 20))
                if (
                    out > first
                    and back <= last
                    and not any(o <= out <= b + timedelta(days=1) for o, b in site.outages)
                ):
                    site.outages.append((out, back))
    return collectivites, ordered


def _plan_tariffs(
    rng: random.Random, site: _Site, start_year: int, years: int, first: date
) -> None:
    """One tariff in force from 1 January of the first year, then a change on 1 January
    each year and, one year in two, on 1 July (the first year always has its July change);
    each adopted a month ahead, or on the first day for those already in force."""
    fee = rng.choice([200, 250, 300, 350, 400])
    water = Decimal(rng.randint(32_000, 42_000)) / 10_000
    power = Decimal(rng.randint(2_000, 2_800)) / 10_000
    deposit = rng.choice([10_000, 15_000, 20_000])
    winter_supplement = rng.choice([0, 0, 50, 100])
    person_rate = rng.choice([0, 0, 0, 50])
    long_stay_supplement = rng.choice([0, 0, 100])
    changes = [(start_year, 1), (start_year, 7)]
    for year in range(start_year + 1, start_year + years):
        changes.append((year, 1))
        if rng.random() < 0.5:
            changes.append((year, 7))
    for year, month in changes:
        if (year, month) != (start_year, 1):
            fee += rng.randint(5, 20) if month == 1 else rng.randint(0, 10)
            water += Decimal(rng.randint(0, 1_500)) / 10_000
            power += Decimal(rng.randint(0, 300)) / 10_000
        effective = date(year, month, 1)
        seasons = []
        if winter_supplement:
            if month == 1:
                seasons.append(
                    SeasonalRate(date(year, 1, 1), date(year, 2, 28), fee + winter_supplement)
                )
            seasons.append(
                SeasonalRate(date(year, 11, 1), date(year, 12, 31), fee + winter_supplement)
            )
        tariff = Tariff(
            effective_from=effective,
            deliberation_ref=f"DEL-{year - (month == 1)}-{rng.randint(1, 250):03d}",
            pitch_fee_per_day_cents=fee,
            water_price_per_m3=water,
            electricity_price_per_kwh=power,
            deposit_cents=deposit,
            person_rates=(PersonRate("adult", person_rate),) if person_rate else (),
            seasons=tuple(seasons),
            duration_bands=(DurationBand(91, fee + long_stay_supplement),)
            if long_stay_supplement
            else (),
        )
        site.tariffs.append((max(first, effective - timedelta(days=31)), tariff))
