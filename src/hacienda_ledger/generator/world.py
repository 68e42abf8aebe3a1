"""The generated world lived day by day: every fact a command of the Ledger, run at the
simulated time (see docs/generator.md)."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from decimal import Decimal
from uuid import uuid5

from hacienda_ledger.aggregates.aire import Aire
from hacienda_ledger.aggregates.collectivite import Collectivite
from hacienda_ledger.aggregates.household import Profile
from hacienda_ledger.aggregates.stay import Stay
from hacienda_ledger.aggregates.values import (
    Composition,
    Tariff,
    add_months,
)
from hacienda_ledger.application import Ledger
from hacienda_ledger.application.ledger import Outcome
from hacienda_ledger.demo import REVENUE_TYPES, DemoCollectivite, SimulatedClock
from hacienda_ledger.generator.plan import (
    ACTOR_CASHIER,
    ACTOR_MANAGER,
    ACTOR_REGISSEUR,
    GENERATOR,
    MAX_BASE_NIGHTS,
    METHODS,
    SEASONAL_OCCUPANCY,
    STAY_NIGHTS,
    _Site,
    _StayPlan,
    target_rate,
)


class _World:
    """The day-by-day simulation over a ledger (normal or bulk)."""

    def __init__(
        self,
        ledger: Ledger,
        clock: SimulatedClock,
        seed: int,
        collectivites: list[DemoCollectivite],
        sites: list[_Site],
    ) -> None:
        self.ledger, self.clock, self.seed = ledger, clock, seed
        self.rng = random.Random(f"{seed}-days")
        # families turned away draw from their own stream: the rest is the same for a seed
        self.unmet_rng = random.Random(f"{seed}-unmet")
        # and so do the households paying ahead (advances) and how
        self.advance_rng = random.Random(f"{seed}-advances")
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

    def withhold(
        self, site: _Site, plan: _StayPlan, amount: int, reason: str, reference: str
    ) -> None:
        """Keep ``amount`` of the stay's deposit, for ``reason``, naming ``reference``."""
        self.tick()
        self.ledger.withhold_deposit(
            site.register_id,
            stay_id=plan.stay_id,
            amount_cents=amount,
            reason=reason,
            reference=reference,
            actor=ACTOR_CASHIER,
            idempotency_key=self.key("withhold"),
        )

    def depart(self, site: _Site, plan: _StayPlan, day: date) -> None:
        """The household leaves: the departure assesses the final bill; it is paid (unless
        a late payer's, then withheld from the deposit as far as it goes), damage found at
        the exit inspection may be withheld, and what is left of the deposit refunded once
        nothing is owed."""
        ledger, rng = self.ledger, self.rng
        plan.water += Decimal(rng.randint(1, 15)) / 10
        plan.power += Decimal(rng.randint(5, 120))
        departed = self.tick()
        exit_ref = f"EDL-S-{plan.stay_id.hex[:8]}"
        outcome = ledger.depart(
            plan.stay_id,
            departed_at=departed,
            exit_inspection_ref=exit_ref,
            water_index=plan.water,
            electricity_index=plan.power,
            actor=ACTOR_CASHIER,
        )
        self.charged(plan, outcome)
        held = plan.deposit_cents
        due = sum(plan.unpaid.values())
        if not plan.late_payer:
            self.pay(site, plan)
        elif due > 0 and held:
            withheld = min(due, held)
            self.withhold(site, plan, withheld, "unpaid_charges", f"IMPAYES-{plan.stay_id.hex[:8]}")
            _reduce(plan.unpaid, withheld)
            held -= withheld
        if held and rng.random() < 0.03:
            damage = min(held, rng.choice([2_000, 3_500, 5_000, 8_000]))
            self.withhold(site, plan, damage, "damage", exit_ref)
            held -= damage
        if plan.advance_cents:
            self.refund_advance(site, plan)
        if held and sum(plan.unpaid.values()) <= 0:
            self.tick()
            ledger.refund_deposit(
                site.register_id,
                stay_id=plan.stay_id,
                amount_cents=held,
                method=plan.deposit_method,
                actor=ACTOR_CASHIER,
                idempotency_key=self.key("refund"),
            )

    def arrivals(self, day: date, first: bool) -> None:
        self.clock.at(day, 14)
        for site in self.sites:
            self.turned_away(site, day)
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

    def turned_away(self, site: _Site, day: date) -> None:
        """Now and then a family turned away (issue 19): more in the winter months, when the
        aires fill; on a closed day because it is closed."""
        closed = self.closed(site, day)
        busy = SEASONAL_OCCUPANCY[day.month - 1] - 0.7
        chance = 0.05 if closed else 0.25 * max(0.0, busy)
        if self.unmet_rng.random() >= chance:
            return
        reason = "closed" if closed else "group_too_large" if self.free(site) else "full"
        self.ledger.record_unmet_demand(
            site.aire_id,
            day=day,
            reason=reason,
            caravans=self.unmet_rng.randint(1, 3),
            people=self.unmet_rng.randint(2, 9),
            actor=ACTOR_CASHIER,
        )

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
        self.pay_ahead(site, plan, tariff)
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

    def pay_ahead(self, site: _Site, plan: _StayPlan, tariff: Tariff) -> None:
        """A few households (8 %) pay a week of pitch fee ahead at arrival:
        an advance, held for them until the charges assessed apply it, and what is left
        refunded at the departure. Drawn from its own stream: other draws do not shift."""
        rng = self.advance_rng
        if rng.random() >= 0.08 or not tariff.pitch_fee_per_day_cents:
            return
        plan.advance_cents = 7 * tariff.pitch_fee_per_day_cents
        plan.advance_method = rng.choices(["cash", "card"], weights=[60, 40])[0]
        self.tick()
        self.ledger.post_receipt(
            site.register_id,
            stay_id=plan.stay_id,
            method=plan.advance_method,
            lines=[("advance", plan.advance_cents)],
            actor=ACTOR_CASHIER,
            idempotency_key=f"gen-{self.seed}-advance-{plan.stay_id.hex}",
        )

    def refund_advance(self, site: _Site, plan: _StayPlan) -> None:
        """What is left of a stay's advance after its final bill goes back to it, in the
        method it was paid (where the register keeps it reserved)."""
        held = self.ledger.stay_account(plan.stay_id)["advance_held_cents"]
        if not held:
            return
        self.tick()
        self.ledger.refund_advance(
            site.register_id,
            stay_id=plan.stay_id,
            method=plan.advance_method,
            actor=ACTOR_CASHIER,
            idempotency_key=f"gen-{self.seed}-advance-refund-{plan.stay_id.hex}",
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
        if plan.advance_cents:  # the advance paid some: what is left is the stay's to say
            plan.unpaid = {}
            for due in self.ledger.stay(plan.stay_id).settlement.dues:
                kind = due.revenue_type
                plan.unpaid[kind] = plan.unpaid.get(kind, 0) + due.remaining_cents
            return
        for event in outcome.events:
            if isinstance(event, Stay.ChargesAssessed):
                for line in event.lines:
                    plan.unpaid[line.revenue_type] = (
                        plan.unpaid.get(line.revenue_type, 0) + line.amount_cents
                    )

    def pay(self, site: _Site, plan: _StayPlan) -> None:
        lines = [(t, a) for t, a in sorted(plan.unpaid.items()) if a > 0]
        rng = self.rng
        if not lines:
            if plan.advance_cents:  # the advance paid it all: the draws are made all the same
                rng.choices(METHODS, weights=[50, 15, 25, 10])
                rng.random()
            return
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
            # the cashier asks, the régisseur approves (a cashier cancels nothing alone)
            self.tick()
            self.ledger.request_cancellation(
                site.register_id,
                number=outcome.result["number"],
                reason="erreur de mode de paiement",
                actor=ACTOR_CASHIER,
                idempotency_key=self.key("cancel"),
            )
            self.tick()
            self.ledger.approve_cancellation(
                site.register_id,
                number=outcome.result["number"],
                actor=ACTOR_REGISSEUR,
                idempotency_key=self.key("approve"),
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
                # the slip pays in what its lines total (receipts, over/short, withholdings)
                _, amounts = register.slip_preview(register.last_number)
                if amounts:
                    self.tick()
                    ledger.remit(
                        site.register_id,
                        through_receipt=register.last_number,
                        amounts_by_method=amounts,
                        actor=ACTOR_REGISSEUR,
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
                    actor=ACTOR_REGISSEUR,
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
