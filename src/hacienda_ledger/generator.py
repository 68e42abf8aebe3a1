"""A national-scale synthetic operator, written through the application layer.

``generate(settings, aires=250, years=10, seed=1)`` builds collectivités across
départements, aires of 8–40 emplacements with their register, and then lives through every
day: tariff changes, closures, emplacements out of service, arrivals with their deposit,
weekly meter readings, charges and payments, extensions, departures with deposit refunds or
withholdings, cancellations, remittances, cash counts and day/month/year closures. Every
fact is a command of the ``Ledger`` run at a simulated time, so recorded times are the
story's.

Deterministic for a seed: every choice comes from one ``random.Random(seed)`` drawn in a
fixed order, ids are ``uuid5`` of the seed, and nothing depends on the wall clock or on set
order. See docs/generator.md for the seasonal model and the bulk path.

Two paths, same commands:

- the normal path runs each command through ``Ledger`` (lock, idempotency record, one
  transaction per command), as an API client would;
- the bulk path (``BulkWriter``, application/bulk.py) runs the very same handlers, hence the
  same aggregate commands and events, on aggregates kept in memory, and saves every event of a
  simulated day in one transaction, in the order the commands ran. It takes no lock and
  records no idempotency key: the generator is the only writer of its database.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TypeVar
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from hacienda_ledger.aggregates.aire import Aire
from hacienda_ledger.aggregates.collectivite import Collectivite
from hacienda_ledger.aggregates.errors import AireNotFound, AlreadyExists
from hacienda_ledger.aggregates.household import Profile
from hacienda_ledger.aggregates.register import CashRegister
from hacienda_ledger.aggregates.stay import Stay
from hacienda_ledger.aggregates.values import (
    PARIS,
    Composition,
    DurationBand,
    PersonRate,
    SeasonalRate,
    Tariff,
    add_months,
    paris_day,
)
from hacienda_ledger.application import Ledger
from hacienda_ledger.application.bulk import BulkWriter
from hacienda_ledger.application.idempotency import IdempotencyRecord
from hacienda_ledger.application.ledger import Outcome
from hacienda_ledger.demo import REVENUE_TYPES, SimulatedClock, reference_sites
from hacienda_ledger.settings import Settings

A = TypeVar("A", bound=Aggregate)

GENERATOR = UUID("6b1f4a52-93c1-4d1e-9a57-0c2f3e4d5b6a")
METHODS = ("cash", "cheque", "card", "transfer")
ACTOR_MANAGER = "manager-generator"
ACTOR_CASHIER = "cashier-generator"

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


@dataclass(frozen=True)
class _Collectivite:
    code: str
    name: str
    siren: str
    mode: str


def _jitter(rng: random.Random, centre: str, half_width: str) -> Decimal:
    spread = int(Decimal(half_width) * 10_000)
    return (Decimal(centre) + Decimal(rng.randint(-spread, spread)) / 10_000).quantize(
        Decimal("0.0001")
    )


def plan_world(
    aires: int, years: int, seed: int, start_year: int, first_day: date | None = None
) -> tuple[list[_Collectivite], list[_Site]]:
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
    collectivites: list[_Collectivite] = []
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
            collectivite = _Collectivite(
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


class _World:
    """The day-by-day simulation over a ledger (normal or bulk)."""

    def __init__(
        self,
        ledger: Ledger,
        clock: SimulatedClock,
        seed: int,
        collectivites: list[_Collectivite],
        sites: list[_Site],
    ) -> None:
        self.ledger, self.clock, self.seed = ledger, clock, seed
        self.rng = random.Random(f"{seed}-days")
        self.namespace = uuid5(GENERATOR, f"seed-{seed}")
        self.collectivites, self.sites = collectivites, sites
        self.keys = 0  # idempotency keys issued (numbered, for determinism)

    def key(self, what: str) -> str:
        self.keys += 1
        return f"gen-{self.seed}-{what}-{self.keys}"

    def tick(self) -> datetime:
        return self.clock.advance(1)

    # --- the first day ----------------------------------------------------------------

    def setup(self, day: date) -> None:
        ledger, clock = self.ledger, self.clock
        clock.at(day, 7)
        modes = {}
        for c in self.collectivites:
            self.tick()
            ledger.create_collectivite(code=c.code, name=c.name, siren=c.siren, actor=ACTOR_MANAGER)
            modes[c.code] = c.mode
        for site in self.sites:
            collectivite_id = Collectivite.id_for(site.collectivite)
            self.tick()
            ledger.create_aire(
                code=site.code,
                name=site.name,
                collectivite_id=collectivite_id,
                sector=site.sector,
                mode=modes[site.collectivite],
                insee_code=site.insee,
                departement=site.departement,
                latitude=site.latitude,
                longitude=site.longitude,
                actor=ACTOR_MANAGER,
            )
            for n in range(1, site.emplacements + 1):
                self.tick()
                ledger.add_emplacement(
                    site.aire_id,
                    number=str(n),
                    places=2,
                    surface_m2=Decimal(self.rng.choice([120, 150, 180])),
                    actor=ACTOR_MANAGER,
                )
                site.numbers.append(str(n))
            self.tick()
            ledger.open_register(
                site.aire_id,
                regie_ref=f"AC-{site.collectivite}-{day.year - 2}-{self.rng.randint(1, 40):02d}",
                float_cents=self.rng.choice([5_000, 10_000]),
                cash_ceiling_cents=self.rng.choice([100_000, 150_000, 200_000]),
                payment_methods=list(METHODS),
                revenue_types=REVENUE_TYPES,
                actor=ACTOR_MANAGER,
                register_id=site.register_id,
            )

    # --- every day --------------------------------------------------------------------

    def live(self, day: date, first: bool) -> None:
        if day.day == 1 and not first:
            self.close_previous_month(day)
        self.manage(day)
        self.departures(day)
        self.arrivals(day, first)
        self.weekly(day)
        self.evening(day)

    def close_previous_month(self, day: date) -> None:
        self.clock.at(day, 7)
        previous = day - timedelta(days=1)
        for site in self.sites:
            self.tick()
            self.ledger.close_period(
                site.register_id, period="month", day=previous, actor=ACTOR_CASHIER
            )
            if day.month == 1:
                self.tick()
                self.ledger.close_period(
                    site.register_id, period="year", day=previous, actor=ACTOR_CASHIER
                )

    def manage(self, day: date) -> None:
        self.clock.at(day, 8)
        for site in self.sites:
            for adopted, tariff in site.tariffs:
                if adopted == day:
                    self.tick()
                    self.ledger.adopt_tariff(site.aire_id, tariff, actor=ACTOR_MANAGER)
            for notice, start, end in site.closures:
                if notice == day:
                    self.tick()
                    self.ledger.schedule_closure(
                        site.aire_id,
                        start=start,
                        end=end,
                        reason="travaux annuels d'entretien",
                        actor=ACTOR_MANAGER,
                    )
            for number, back in list(site.out_of_service.items()):
                if back == day:
                    self.tick()
                    self.ledger.put_back_in_service(
                        site.aire_id, number=number, start=day, actor=ACTOR_MANAGER
                    )
                    del site.out_of_service[number]
            for out, back in site.outages:
                if out != day:
                    continue
                free = self.free(site)
                if free:
                    number = self.rng.choice(free)
                    self.tick()
                    self.ledger.put_out_of_service(
                        site.aire_id,
                        number=number,
                        start=day,
                        reason=self.rng.choice(
                            ["borne électrique hors service", "fuite d'eau", "dalle à refaire"]
                        ),
                        actor=ACTOR_MANAGER,
                    )
                    site.out_of_service[number] = back

    def free(self, site: _Site) -> list[str]:
        return [n for n in site.numbers if n not in site.stays and n not in site.out_of_service]

    def closed(self, site: _Site, day: date) -> bool:
        return any(start <= day <= end for _, start, end in site.closures)

    def departures(self, day: date) -> None:
        self.clock.at(day, 9)
        for site in self.sites:
            for number, plan in list(site.stays.items()):
                if plan.leave == day:
                    self.depart(site, plan, day)
                    del site.stays[number]

    def depart(self, site: _Site, plan: _StayPlan, day: date) -> None:
        ledger, rng = self.ledger, self.rng
        held = plan.deposit_cents
        due = sum(plan.unpaid.values())
        if plan.late_payer and due > 0:
            withheld = min(due, held)
            self.tick()
            ledger.withhold_deposit(
                site.register_id,
                stay_id=plan.stay_id,
                amount_cents=withheld,
                reason="unpaid_charges",
                reference=f"IMPAYES-{plan.stay_id.hex[:8]}",
                actor=ACTOR_CASHIER,
                idempotency_key=self.key("withhold"),
            )
            _reduce(plan.unpaid, withheld)
            held -= withheld
        elif held and rng.random() < 0.03:
            damage = min(held, rng.choice([2_000, 3_500, 5_000, 8_000]))
            self.tick()
            ledger.withhold_deposit(
                site.register_id,
                stay_id=plan.stay_id,
                amount_cents=damage,
                reason="damage",
                reference=f"EDL-S-{plan.stay_id.hex[:8]}",
                actor=ACTOR_CASHIER,
                idempotency_key=self.key("withhold"),
            )
            held -= damage
        if held:
            self.tick()
            ledger.refund_deposit(
                site.register_id,
                stay_id=plan.stay_id,
                amount_cents=held,
                method=plan.deposit_method,
                actor=ACTOR_CASHIER,
                idempotency_key=self.key("refund"),
            )
        plan.water += Decimal(rng.randint(1, 15)) / 10
        plan.power += Decimal(rng.randint(5, 120))
        departed = self.tick()
        outcome = ledger.depart(
            plan.stay_id,
            departed_at=departed,
            exit_inspection_ref=f"EDL-S-{plan.stay_id.hex[:8]}",
            water_index=plan.water,
            electricity_index=plan.power,
            actor=ACTOR_CASHIER,
        )
        self.charged(plan, outcome)
        if not plan.late_payer:
            self.pay(site, plan)

    def arrivals(self, day: date, first: bool) -> None:
        self.clock.at(day, 14)
        for site in self.sites:
            if self.closed(site, day):
                continue
            in_service = len(site.numbers) - len(site.out_of_service)
            wanted = round(target_rate(day, site.offset) * in_service)
            room = wanted - len(site.stays)
            if room <= 0:
                continue
            free = self.free(site)
            limit = len(free) if first else max(2, len(site.numbers) // 3)
            for _ in range(min(room, limit)):
                number = free.pop(self.rng.randrange(len(free)))
                self.arrive(site, number, day)

    def arrive(self, site: _Site, number: str, day: date) -> None:
        ledger, rng = self.ledger, self.rng
        weights = [w for w, _, _ in STAY_NIGHTS]
        _, shortest, longest = rng.choices(STAY_NIGHTS, weights=weights)[0]
        leave = day + timedelta(days=rng.randint(shortest, longest))
        for _, start, _ in site.closures:
            if day < start < leave:
                leave = start  # everyone leaves before a closure
        site.opened += 1
        stay_id = uuid5(self.namespace, f"stay-{site.code}-{site.opened}")
        household = uuid5(self.namespace, f"household-{site.code}-{site.opened}")
        adults = rng.choice([1, 2, 2, 2, 3])
        children = (("0-3", rng.choice([0, 0, 1])), ("4-17", rng.choice([0, 1, 2, 3])))
        tariff = _in_force(site, day)
        arrived = self.tick()
        base = day + timedelta(days=MAX_BASE_NIGHTS)
        plan = _StayPlan(
            stay_id=stay_id,
            emplacement=number,
            arrival=day,
            leave=leave,
            allowed_through=base,
            cap=add_months(base, Aire.DEFAULT_EXTENSION_CAP_MONTHS),
            water=Decimal(rng.randint(100, 9_000)),
            power=Decimal(rng.randint(1_000, 90_000)),
            deposit_cents=tariff.deposit_cents,
            deposit_method=rng.choices(["cash", "cheque"], weights=[70, 30])[0],
            late_payer=rng.random() < 0.05,
        )
        ledger.record_household(
            aire_id=site.aire_id,
            profile=Profile(f"Ménage {site.code}-{site.opened}"),
            actor=ACTOR_CASHIER,
            household_id=household,
        )
        ledger.open_stay(
            site.aire_id,
            emplacement=number,
            household_ref=household,
            arrived_at=arrived,
            composition=Composition(adults, children, caravans=rng.choice([1, 1, 2])),
            agreement_ref=f"COT-{site.code}-{site.opened}",
            entry_inspection_ref=f"EDL-E-{site.code}-{site.opened}",
            water_index=plan.water,
            electricity_index=plan.power,
            actor=ACTOR_CASHIER,
            stay_id=stay_id,
            idempotency_key=self.key("arrival"),
        )
        site.stays[number] = plan
        if plan.deposit_cents:
            self.tick()
            ledger.post_receipt(
                site.register_id,
                stay_id=stay_id,
                method=plan.deposit_method,
                lines=[("deposit", plan.deposit_cents)],
                actor=ACTOR_CASHIER,
                idempotency_key=self.key("deposit"),
            )

    def weekly(self, day: date) -> None:
        """Readings, charges and payment on each stay's weekly day; extensions due."""
        self.clock.at(day, 17)
        ledger, rng = self.ledger, self.rng
        winter = day.month in (11, 12, 1, 2, 3)
        for site in self.sites:
            for plan in site.stays.values():
                if plan.leave > plan.allowed_through + timedelta(days=1) and (
                    day >= plan.allowed_through - timedelta(days=10)
                ):
                    self.extend(plan)
                if day == plan.arrival or (day - plan.arrival).days % 7:
                    continue
                plan.water += Decimal(rng.randint(5, 25)) / 10
                plan.power += Decimal(rng.randint(150, 900) * (2 if winter else 1)) / 10
                for meter, index in (("water", plan.water), ("electricity", plan.power)):
                    read = self.tick()
                    ledger.record_meter_reading(
                        plan.stay_id, meter=meter, index=index, read_at=read, actor=ACTOR_CASHIER
                    )
                self.tick()
                self.charged(
                    plan, ledger.assess_charges(plan.stay_id, through=day, actor=ACTOR_CASHIER)
                )
                if plan.late_payer and rng.random() < 0.7:
                    continue
                self.pay(site, plan)

    def extend(self, plan: _StayPlan) -> None:
        until = min(plan.leave - timedelta(days=1), plan.allowed_through + timedelta(days=61))
        until = min(until, plan.cap)
        if until <= plan.allowed_through:
            return
        self.tick()
        self.ledger.extend_stay(
            plan.stay_id,
            reason=self.rng.choice(["school", "work", "training", "hospitalisation"]),
            evidence_ref=f"JUSTIF-{plan.stay_id.hex[:6]}-{until:%Y%m%d}",
            until=until,
            actor=ACTOR_MANAGER,
        )
        plan.allowed_through = until

    def charged(self, plan: _StayPlan, outcome: Outcome) -> None:
        for event in outcome.events:
            if isinstance(event, Stay.ChargesAssessed):
                for line in event.lines:
                    plan.unpaid[line.revenue_type] = (
                        plan.unpaid.get(line.revenue_type, 0) + line.amount_cents
                    )

    def pay(self, site: _Site, plan: _StayPlan) -> None:
        lines = [(t, a) for t, a in sorted(plan.unpaid.items()) if a > 0]
        if not lines:
            return
        rng = self.rng
        method = rng.choices(METHODS, weights=[50, 15, 25, 10])[0]
        self.tick()
        outcome = self.ledger.post_receipt(
            site.register_id,
            stay_id=plan.stay_id,
            method=method,
            lines=lines,
            actor=ACTOR_CASHIER,
            idempotency_key=self.key("payment"),
        )
        if rng.random() < 0.006:  # a wrong method keyed in: cancelled and issued again
            self.tick()
            self.ledger.cancel_receipt(
                site.register_id,
                number=outcome.result["number"],
                reason="erreur de mode de paiement",
                actor=ACTOR_CASHIER,
                idempotency_key=self.key("cancel"),
            )
            self.tick()
            self.ledger.post_receipt(
                site.register_id,
                stay_id=plan.stay_id,
                method="card" if method != "card" else "cash",
                lines=lines,
                actor=ACTOR_CASHIER,
                idempotency_key=self.key("payment"),
            )
        for revenue_type, amount in lines:
            plan.unpaid[revenue_type] -= amount

    def evening(self, day: date) -> None:
        """Remittance (at the month's end, or when the cash and cheques to pay in reach the
        ceiling), the Friday cash count, and the day's closure."""
        ledger, rng = self.ledger, self.rng
        month_end = (day + timedelta(days=1)).day == 1
        self.clock.at(day, 19)
        for site in self.sites:
            register = ledger.cash_register(site.register_id)
            # What may be paid in excludes the deposits held and the float.
            in_hand = register.remittable("cash") + register.remittable("cheque")
            if month_end or in_hand >= register.cash_ceiling_cents:
                amounts = {m: register.remittable(m) for m in METHODS}
                if any(amounts.values()):
                    self.tick()
                    ledger.remit(
                        site.register_id,
                        through_receipt=register.last_number,
                        amounts_by_method={m: a for m, a in amounts.items() if a},
                        actor=ACTOR_CASHIER,
                        idempotency_key=self.key("remit"),
                    )
            if day.weekday() == 4:
                book = ledger.cash_register(site.register_id).balances.get("cash", 0)
                difference = 0
                if rng.random() < 0.08:
                    difference = rng.choice([-200, -100, -20, 20, 100, 200])
                self.tick()
                ledger.count_cash(
                    site.register_id,
                    counted_cents=max(0, book + difference),
                    actor=ACTOR_CASHIER,
                )
        self.clock.at(day, 20)
        for site in self.sites:
            self.tick()
            ledger.close_period(site.register_id, period="day", day=day, actor=ACTOR_CASHIER)


def _in_force(site: _Site, day: date) -> Tariff:
    best = site.tariffs[0][1]
    for _, tariff in site.tariffs:
        if best.effective_from < tariff.effective_from <= day:
            best = tariff
    return best


def _reduce(unpaid: dict[str, int], amount: int) -> None:
    """Settle ``amount`` against unpaid charges, pitch fee first."""
    for revenue_type in ("pitch_fee", "water", "electricity", *sorted(unpaid)):
        take = min(amount, max(0, unpaid.get(revenue_type, 0)))
        if take:
            unpaid[revenue_type] -= take
            amount -= take


def _recorded_since(ledger: Ledger, position: int) -> tuple[int, int]:
    """Events of the world recorded after ``position`` (idempotency records left out;
    notification ids may have gaps), and the last position read."""
    count, start = 0, position + 1
    while batch := ledger.recorder.select_notifications(start=start, limit=5_000):
        count += sum(1 for n in batch if not n.topic.startswith(IdempotencyRecord.__module__))
        start = batch[-1].id + 1
    return count, start - 1


def register_with_history(ledger: Ledger, years: int) -> UUID:
    """A register of the database whose events span at least ``years`` years (the first
    opened that does; a generated world opens every register on its first day)."""
    for register_id in ledger.ids_of(CashRegister.Opened):
        register = ledger.cash_register(register_id)
        assert register.created_on is not None
        span = paris_day(register.modified_on) - paris_day(register.created_on)
        if span.days + 1 >= round(365.25 * years) - 1:
            return register_id
    raise ValueError(f"no register here has {years} years of events")


Progress = Callable[[int, int, int], None]  # days done, days in all, events so far


def generate(
    target: Settings | Ledger,
    *,
    aires: int,
    years: int,
    seed: int,
    start_year: int = 2016,
    bulk: bool = True,
    progress: Progress | None = None,
    days: int | None = None,
    first_day: date | None = None,
) -> GenerationSummary:
    """Generate a synthetic operator into the database of ``target`` (its settings are
    used; the generator runs its own ledger on its own simulated clock).

    The story runs from 1 January of ``start_year`` (or ``first_day``, in that year) for
    ``years`` years, or only ``days`` days (the plan is still made for ``years``): small
    worlds for tests. ``progress(days_done, days_in_all, events_so_far)`` is called after
    each simulated day. Refuses a database that already holds this world's first aire."""
    settings = target.settings if isinstance(target, Ledger) else target
    first = first_day or date(start_year, 1, 1)
    if first.year != start_year:
        raise ValueError("first_day falls in start_year")
    collectivites, sites = plan_world(aires, years, seed, start_year, first)
    last = date(start_year + years - 1, 12, 31)
    if days is not None:
        last = min(last, first + timedelta(days=days - 1))
    clock = SimulatedClock(datetime.combine(first, datetime.min.time(), PARIS).astimezone(UTC))
    ledger = (
        Ledger(settings, clock=clock, writer=BulkWriter) if bulk else Ledger(settings, clock=clock)
    )
    try:
        try:
            ledger.aire(sites[0].aire_id)
        except AireNotFound:
            pass
        else:
            raise AlreadyExists(f"aire {sites[0].code} exists: this database holds a world")
        started = time.perf_counter()
        position = ledger.last_position()
        world = _World(ledger, clock, seed, collectivites, sites)
        total = (last - first).days + 1
        day = first
        written = 0
        world.setup(day)
        for done in range(total):
            world.live(day, first=done == 0)
            if isinstance(ledger.writer, BulkWriter):
                written += ledger.writer.flush()
            else:
                counted, position = _recorded_since(ledger, position)
                written += counted
            if progress is not None:
                progress(done + 1, total, written)
            day += timedelta(days=1)
        seconds = time.perf_counter() - started
        return GenerationSummary(
            events=written,
            aires=len(sites),
            registers=tuple(s.register_id for s in sites),
            collectivites=len(collectivites),
            stays=sum(s.opened for s in sites),
            first_day=first,
            last_day=last,
            seconds=seconds,
            bulk=bulk,
        )
    finally:
        ledger.close()


__all__ = [
    "GenerationSummary",
    "generate",
    "plan_world",
    "register_with_history",
    "target_rate",
]
