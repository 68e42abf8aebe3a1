"""A small, realistic demo: 3 collectivités, 6 aires in 4 départements, August to October
2025 (see README).

Everything goes through the application layer with a simulated clock, so the recorded times
are those of the story. Positions come from the public list of Maine-et-Loire sites
(``data/aires-49.json``). Loading twice does nothing the second time.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any, TextIO
from uuid import UUID, uuid5

from hacienda_ledger import demo_site
from hacienda_ledger.aggregates.aire import Aire
from hacienda_ledger.aggregates.errors import AireNotFound, LedgerError
from hacienda_ledger.aggregates.household import ContactDetails, Fleet, Profile
from hacienda_ledger.aggregates.register import CashRegister
from hacienda_ledger.aggregates.seal import Seals
from hacienda_ledger.aggregates.stay import Stay
from hacienda_ledger.aggregates.values import PARIS, Composition, Tariff
from hacienda_ledger.application import Ledger
from hacienda_ledger.application.verification import verify_logs
from hacienda_ledger.demo_payments import pay_ahead, settle
from hacienda_ledger.settings import Settings

DEMO = UUID("3f7f5a8e-1d2c-4b6a-8e9f-7a6b5c4d3e2f")
# Invented households get the most common surnames of France: a demo names nobody real.
SURNAMES = ("Martin", "Bernard", "Thomas", "Petit", "Robert", "Richard", "Durand", "Dubois")
REVENUE_TYPES = ["pitch_fee", "water", "electricity", "deposit", "other"]


def reference_sites() -> list[dict[str, str]]:
    """The Maine-et-Loire sites, in WGS84 (see data/README.md)."""
    text = resources.files("hacienda_ledger").joinpath("data/aires-49.json").read_text("utf-8")
    sites: list[dict[str, str]] = json.loads(text)
    return sites


class SimulatedClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def at(self, day: date, hour: int, minute: int = 0) -> datetime:
        moment = datetime.combine(day, time(hour, minute), tzinfo=PARIS).astimezone(UTC)
        self.now = max(self.now, moment)
        return self.now

    def advance(self, seconds: int = 1) -> datetime:
        """Move on a little (one command after another takes some time)."""
        self.now += timedelta(seconds=seconds)
        return self.now


@dataclass
class DemoAire:
    code: str
    name: str
    insee: str
    departement: str
    collectivite: str
    sector: str
    emplacements: int
    latitude: str = ""
    longitude: str = ""
    lieu: str = ""
    aire_id: UUID | None = None
    register_id: UUID | None = None


@dataclass(frozen=True)
class DemoCollectivite:
    code: str
    name: str
    siren: str
    mode: str


# Positions of the Maine-et-Loire aires come from the public list (data/aires-49.json); the
# other collectivités, their SIRENs and positions are illustrative.
COLLECTIVITES = [
    DemoCollectivite("ALM", "Angers Loire Métropole", "244900015", "regie"),
    DemoCollectivite("AGGLO-CHOLET", "Agglomération du Choletais", "200071678", "marche"),
    DemoCollectivite("VAL-TOURAINE", "CC Val de Touraine (EPCI, démo)", "200000001", "dsp"),
]
AIRES = [
    DemoAire(
        "49007-CHALETS",
        "Aire d'accueil des Chalets",
        "49007",
        "49",
        "ALM",
        "Anjou",
        12,
        lieu="Angers les Chalets",
    ),
    DemoAire(
        "49007-FLECHERIE",
        "Aire d'accueil de la Grande Flècherie",
        "49007",
        "49",
        "ALM",
        "Anjou",
        16,
        lieu="Angers la Grande Flècherie",
    ),
    DemoAire(
        "49099-CHOLET",
        "Aire d'accueil de Cholet",
        "49099",
        "49",
        "AGGLO-CHOLET",
        "Mauges",
        20,
        lieu="Cholet",
    ),
    DemoAire(
        "79049-BRESSUIRE",
        "Aire d'accueil de Bressuire (démo)",
        "79049",
        "79",
        "AGGLO-CHOLET",
        "Mauges",
        8,
        latitude="46.8410",
        longitude="-0.4890",
    ),
    DemoAire(
        "37261-TOURS",
        "Aire d'accueil de Tours Nord (démo)",
        "37261",
        "37",
        "VAL-TOURAINE",
        "Touraine",
        30,
        latitude="47.4220",
        longitude="0.6900",
    ),
    DemoAire(
        "41018-BLOIS",
        "Aire d'accueil de Blois (démo)",
        "41018",
        "41",
        "VAL-TOURAINE",
        "Touraine",
        10,
        latitude="47.5940",
        longitude="1.3160",
    ),
]
ROLES = ("admin", "manager", "cashier", "regisseur", "auditor", "analyst", "intervenant")


def demo_token(role: str) -> str:
    """Fixed demo tokens (printed by `make run`); never use a demo database for real data."""
    return f"demo-{role}-token"


#: The demo's story is of 2025 (its simulated clock issues the tokens then) and it is served
#: on the wall clock: its tokens, public and of a throwaway database, expire only then.
DEMO_TOKENS_EXPIRE = datetime(2099, 12, 31, tzinfo=UTC)


def _demo_user(ledger: Ledger, name: str, role: str, **scope: Any) -> UUID:
    """A user of the demo, with its fixed token (``demo_token``)."""
    outcome, _ = ledger.create_user(
        name=name,
        role=role,
        actor="demo",
        token=demo_token(role),
        token_expires_at=DEMO_TOKENS_EXPIRE,
        **scope,
    )
    return outcome.aggregate_id


def load_demo(ledger: Ledger, clock: SimulatedClock, seed: int = 49) -> list[DemoAire]:
    rng = random.Random(seed)
    positions = {s["lieu"]: s for s in reference_sites()}
    start = date(2025, 8, 1)
    clock.at(start, 8)
    _demo_user(ledger, "Admin démo", "admin")
    coll_ids: dict[str, UUID] = {}
    for c in COLLECTIVITES:
        coll_ids[c.code] = ledger.create_collectivite(
            code=c.code, name=c.name, siren=c.siren, actor="demo"
        ).aggregate_id
    modes = {c.code: c.mode for c in COLLECTIVITES}
    for demo in AIRES:
        if demo.lieu:
            demo.latitude = positions[demo.lieu]["latitude"]
            demo.longitude = positions[demo.lieu]["longitude"]
        demo.aire_id = ledger.create_aire(
            code=demo.code,
            name=demo.name,
            collectivite_id=coll_ids[demo.collectivite],
            sector=demo.sector,
            mode=modes[demo.collectivite],
            insee_code=demo.insee,
            departement=demo.departement,
            latitude=Decimal(demo.latitude),
            longitude=Decimal(demo.longitude),
            actor="manager-demo",
        ).aggregate_id
        for n in range(1, demo.emplacements + 1):
            ledger.add_emplacement(
                demo.aire_id, number=str(n), places=2, surface_m2=Decimal(150), actor="manager-demo"
            )
        base = rng.choice([250, 300, 350])
        ledger.adopt_tariff(
            demo.aire_id,
            Tariff(
                effective_from=date(2025, 1, 1),
                deliberation_ref=f"DEL-2024-{rng.randrange(100, 200)}",
                pitch_fee_per_day_cents=base,
                water_price_per_m3=Decimal("3.5120"),
                electricity_price_per_kwh=Decimal("0.2276"),
                deposit_cents=15000,
            ),
            actor="demo",
        )
        ledger.adopt_tariff(
            demo.aire_id,
            Tariff(
                effective_from=date(2025, 10, 1),
                deliberation_ref=f"DEL-2025-{rng.randrange(1, 99)}",
                pitch_fee_per_day_cents=base + 20,
                water_price_per_m3=Decimal("3.6105"),
                electricity_price_per_kwh=Decimal("0.2516"),
                deposit_cents=15000,
            ),
            actor="demo",
        )
        demo.register_id = ledger.open_register(
            demo.aire_id,
            regie_ref=f"AC-{demo.collectivite}-2019-04",
            float_cents=5000,
            cash_ceiling_cents=150000,
            payment_methods=["cash", "cheque", "card", "transfer"],
            revenue_types=REVENUE_TYPES,
            actor="manager-demo",
        ).aggregate_id
        ledger.schedule_closure(
            demo.aire_id,
            start=date(2026, 1, 5),
            end=date(2026, 1, 25),
            reason="travaux annuels de maintenance",
            actor="manager-demo",
        )
        ledger.put_out_of_service(
            demo.aire_id,
            number="2",
            start=date(2025, 9, 15),
            reason="borne électrique hors service",
            actor="manager-demo",
        )
        ledger.put_back_in_service(
            demo.aire_id, number="2", start=date(2025, 10, 6), actor="manager-demo"
        )
    first = AIRES[0]
    assert first.aire_id
    alm = coll_ids["ALM"]
    _demo_user(ledger, "Manager Anjou (démo)", "manager", sectors=["Anjou"], collectivite_id=alm)
    _demo_user(ledger, "Caissier Chalets (démo)", "cashier", aire_ids=[first.aire_id])
    # approves the cashier's cancellations, regularises counts' differences
    _demo_user(ledger, "Régisseuse Chalets (démo)", "regisseur", aire_ids=[first.aire_id])
    _demo_user(ledger, "Trésorerie ALM (démo)", "auditor", collectivite_id=alm)
    _demo_user(ledger, "Analyste (démo)", "analyst")
    # records and reads the first aire's interventions and documents (issue 18)
    worker = _demo_user(
        ledger, "Intervenant Chalets (démo)", "intervenant", aire_ids=[first.aire_id]
    )
    reglement = demo_site.record_documents(ledger, first)  # before the first arrival
    work = demo_site.Work(ledger, clock, AIRES, reglement, worker)
    _simulate(ledger, clock, rng, start, date(2025, 10, 31), work=work)
    return AIRES


def _simulate(
    ledger: Ledger,
    clock: SimulatedClock,
    rng: random.Random,
    start: date,
    end: date,
    *,
    work: demo_site.Work,
) -> None:
    """Arrivals, weekly readings and charges, payments, departures, remittances, closures;
    each morning, the day's interventions (``demo_site.py``)."""
    stays: dict[UUID, dict[str, Any]] = {}
    # households paying a week ahead draw from their own stream: the rest is unchanged
    ahead = random.Random(f"demo-advances-{start}")
    day = start
    while day <= end:
        work.day(day)
        for demo in AIRES:
            assert demo.aire_id and demo.register_id
            aire = ledger.aire(demo.aire_id)
            free = [
                n
                for n, e in aire.emplacements.items()
                if n not in aire.occupants and e.in_service_on(day)
            ]
            if free and rng.random() < 0.35:
                n = rng.choice(free)
                arrived = clock.at(day, 10, rng.randrange(0, 59))
                household = uuid5(DEMO, f"household-{demo.code}-{day}-{n}")
                ledger.record_household(
                    aire_id=demo.aire_id,
                    profile=Profile(
                        f"Famille {rng.choice(SURNAMES)}",
                        contact=ContactDetails(phone=f"06 {rng.randrange(10**8):08d}"),
                        caravans=Fleet(rng.choice([1, 1, 2])),
                    ),
                    actor="cashier-anjou",
                    household_id=household,
                )
                stay_id = ledger.open_stay(
                    demo.aire_id,
                    emplacement=n,
                    household_ref=household,
                    arrived_at=arrived,
                    composition=Composition(
                        rng.choice([1, 2, 2, 3]),
                        (("0-3", rng.randint(0, 1)), ("4-17", rng.randint(0, 3))),
                    ),
                    agreement_ref=f"COT-{day:%Y%m%d}-{n}",
                    entry_inspection_ref=f"EDL-E-{n}",
                    water_index=Decimal(rng.randrange(100, 900)),
                    electricity_index=Decimal(rng.randrange(1000, 9000)),
                    actor="cashier-anjou",
                ).aggregate_id
                stays[stay_id] = {
                    "aire": demo.aire_id,
                    "register": demo.register_id,
                    "left": day + timedelta(days=rng.choice([3, 7, 12, 20, 40, 75])),
                }
                clock.at(day, 10, 59)
                ledger.post_receipt(
                    demo.register_id,
                    stay_id=stay_id,
                    method="cash",
                    lines=[("deposit", 15000)],
                    actor="cashier-anjou",
                    idempotency_key=f"demo-deposit-{stay_id}",
                )
                pay_ahead(ledger, ahead, stay_id, day, stays[stay_id])
        for stay_id, info in list(stays.items()):
            stay = ledger.stay(stay_id)
            weekly = (day - stay.arrival_day).days % 7 == 6
            leaving = day >= info["left"]
            if not (weekly or leaving):
                continue
            clock.at(day, 17)
            water = stay.effective_readings("water")[-1].index + Decimal(rng.randrange(1, 9))
            power = stay.effective_readings("electricity")[-1].index + Decimal(
                rng.randrange(10, 90)
            )
            ledger.record_meter_reading(
                stay_id, meter="water", index=water, read_at=clock(), actor="cashier-anjou"
            )
            ledger.record_meter_reading(
                stay_id, meter="electricity", index=power, read_at=clock(), actor="cashier-anjou"
            )
            through = day if not leaving else day - timedelta(days=1)
            ledger.assess_charges(stay_id, through=through, actor="cashier-anjou")
            method = rng.choice(["cash", "cash", "card", "cheque"])
            settle(ledger, info["register"], stay_id, method, f"demo-pay-{stay_id}-{day}")
            if leaving:  # the household leaves; the final bill is settled; the deposit back
                clock.at(day, 18)
                ledger.depart(
                    stay_id,
                    departed_at=clock(),
                    exit_inspection_ref="EDL-S",
                    water_index=water,
                    electricity_index=power,
                    actor="cashier-anjou",
                )
                settle(ledger, info["register"], stay_id, "cash", f"demo-final-{stay_id}")
                if ledger.stay_account(stay_id)["advance_held_cents"]:  # what is left back
                    ledger.refund_advance(
                        info["register"],
                        stay_id=stay_id,
                        method=info["advance_method"],
                        actor="cashier-anjou",
                        idempotency_key=f"demo-advance-refund-{stay_id}",
                    )
                ledger.refund_deposit(
                    info["register"],
                    stay_id=stay_id,
                    amount_cents=15000,
                    method="cash",
                    actor="cashier-anjou",
                    idempotency_key=f"demo-refund-{stay_id}",
                )
                del stays[stay_id]
        for demo in AIRES:
            assert demo.register_id
            clock.at(day, 19)
            register = ledger.cash_register(demo.register_id)
            # Fridays the régisseur pays in and signs the count (the régisseur's acts)
            if day.weekday() == 4 and register.last_number > register.last_remitted_number:
                # the slip pays in what its lines total (receipts, over/short, withholdings)
                _, amounts = register.slip_preview(register.last_number)
                if amounts:
                    ledger.remit(
                        demo.register_id,
                        through_receipt=register.last_number,
                        amounts_by_method=amounts,
                        actor="regisseur-anjou",
                        idempotency_key=f"demo-remit-{demo.code}-{day}",
                    )
            if day.weekday() == 4:
                counted = ledger.cash_register(demo.register_id).balances["cash"]
                ledger.count_cash(
                    demo.register_id,
                    counted_cents=counted - rng.choice([0, 0, 0, 150]),
                    actor="regisseur-anjou",
                )
            clock.at(day, 20)
            ledger.close_period(demo.register_id, period="day", day=day, actor="cashier-anjou")
        next_day = day + timedelta(days=1)
        if next_day.month != day.month:
            for demo in AIRES:
                assert demo.register_id
                clock.at(next_day, 7)
                ledger.close_period(
                    demo.register_id, period="month", day=day, actor="cashier-anjou"
                )
        if day.day == 2 and day.month != 8:
            # the month before, sealed once its register closed it and its last departures
            # were charged (the last month of the demo stays open: its reports are provisional)
            last = day.replace(day=1) - timedelta(days=1)
            clock.at(day, 21)
            for stay_id in stays:  # every stay charged through the month's end first
                if ledger.stay(stay_id).uncharged_through(last):
                    ledger.assess_charges(stay_id, through=last, actor="cashier-anjou")
            for demo in AIRES:
                assert demo.aire_id
                ledger.seal_month(demo.aire_id, month=last.isoformat()[:7], actor="manager-anjou")
        day = next_day


def _euros(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100:,}.{abs(cents) % 100:02d}".replace(",", " ")


def print_journal(ledger: Ledger, register_id: UUID, out: TextIO, limit: int = 40) -> None:
    """The register's events as a cash journal (the projection of issue 4 will replace this)."""
    register = ledger.cash_register(register_id)
    out.write(f"\nJournal de caisse — régie {register.regie_ref} — register {register_id}\n")
    out.write(
        f"{'n°':>4} {'date (Paris)':16} {'opération':22} {'mode':9} "
        f"{'entrée €':>10} {'sortie €':>10}\n"
    )
    rows = 0
    for event in ledger.events.get(register_id):
        kind = type(event).__name__
        number, method, amount_in, amount_out = "", "", 0, 0
        if isinstance(event, CashRegister.ReceiptIssued):
            number, method, amount_in = str(event.number), event.method, event.total_cents
        elif isinstance(event, CashRegister.ReceiptCancelled):
            number, method, amount_out = str(event.number), event.method, event.total_cents
        elif isinstance(event, CashRegister.DepositRefunded):
            method, amount_out = event.method, event.amount_cents
        elif isinstance(event, CashRegister.RemittanceMade):
            number, amount_out = f"B{event.slip_number}", event.total_cents
        elif isinstance(event, CashRegister.CashShort):
            method, amount_out = "cash", event.amount_cents
        elif isinstance(event, CashRegister.CashOver):
            method, amount_in = "cash", event.amount_cents
        elif not isinstance(event, CashRegister.Opened | CashRegister.MonthClosed):
            continue
        when = event.timestamp.astimezone(PARIS).strftime("%d/%m/%Y %H:%M")
        out.write(
            f"{number:>4} {when:16} {kind:22} {method:9} "
            f"{_euros(amount_in) if amount_in else '':>10} "
            f"{_euros(amount_out) if amount_out else '':>10}\n"
        )
        rows += 1
        if rows >= limit:
            out.write("   … (first lines only)\n")
            break
    out.write(
        f"Receipts issued: {register.last_number}; perpetual grand total: "
        f"{_euros(register.perpetual_total_cents)} €; balances: "
        + ", ".join(f"{m} {_euros(c)} €" for m, c in register.balances.items())
        + "\n"
    )


def run_demo(settings: Settings, out: TextIO, *, journal: bool = True) -> int:
    clock = SimulatedClock(datetime(2025, 8, 1, 6, tzinfo=UTC))
    ledger = Ledger(settings, clock=clock)
    try:
        try:
            ledger.aire(Aire.id_for(AIRES[0].code))
            out.write(f"Demo already loaded in {settings.database_url}\n")
            for demo in AIRES:
                aire = ledger.aire(Aire.id_for(demo.code))
                demo.aire_id, demo.register_id = aire.id, aire.register_ids[0]
        except AireNotFound:
            out.write(f"Loading the demo into {settings.database_url} …\n")
            load_demo(ledger, clock)
        first = AIRES[0]
        assert first.register_id
        if journal:
            print_journal(ledger, first.register_id, out)
        for demo in AIRES:
            assert demo.register_id
            report = ledger.audit.verify_register(demo.register_id)
            out.write(
                f"{demo.name}: register {demo.register_id}, chain "
                f"{'intact' if report.ok else 'BROKEN'} ({report.events} events)\n"
            )
        from hacienda_ledger.application.attestations import create_key

        created = create_key(settings.attestation_key)
        out.write(
            f"Seal attestations are signed with {settings.attestation_key}"
            f"{' (created now)' if created else ''}: keep it out of the database's reach.\n"
        )
        out.write("\nDemo bearer tokens (Authorization: Bearer <token>):\n")
        for role in ROLES:
            out.write(f"  {role:11} {demo_token(role)}\n")
    except LedgerError as exc:
        out.write(f"error: {exc.code}: {exc.detail}\n")
        return 1
    finally:
        ledger.close()
    return 0


def run_verify(
    settings: Settings,
    register: str | None,
    out: TextIO,
    jobs: int = 1,
    attestations: str | None = None,
) -> int:
    """Verify one register or every register of every aire (``jobs`` processes), every
    aire's seals (against the attestations in ``attestations`` too), the technical journal
    and the access log; non-zero exit on any break."""
    ledger = Ledger(settings)
    try:
        ids: list[UUID] = []
        if register:
            ids = [UUID(register)]
        else:
            # Registers known from their own opening and from the aires they collect for,
            # so that a register whose opening row was deleted is still verified.
            found = dict.fromkeys(ledger.ids_of(CashRegister.Opened))
            for aire_id in ledger.ids_of(Aire.Registered):
                found.update(dict.fromkeys(ledger.aire(aire_id).register_ids))
            ids = list(found)
        broken = 0
        for register_id, report in ledger.audit.verify_registers(ids, jobs=jobs):
            status = "ok" if report.ok else "BROKEN"
            out.write(f"{register_id} {status} events={report.events} head={report.head_hash}\n")
            for problem in report.problems:
                out.write(f"  event {problem.version}: {problem.kind}: {problem.detail}\n")
            broken += not report.ok
        out.write(f"{len(ids)} registers verified, {broken} broken\n")
        if not register:
            broken += _verify_aires_and_stays(ledger, out, jobs)
            broken += _verify_seals(ledger, out)
            lines, broken_logs = verify_logs(ledger)
            out.writelines(f"{line}\n" for line in lines)
            broken += broken_logs
        if attestations:
            broken += _verify_attestations(ledger, Path(attestations), out)
        return 1 if broken else 0
    finally:
        ledger.close()


def _verify_aires_and_stays(ledger: Ledger, out: TextIO, jobs: int) -> int:
    """The chain of every aire, of every stay (known from its own opening and from the
    aire that admitted it, so that a stay whose opening row was deleted is still verified)
    and of every intervention and document (known from the aire that linked it), naming the
    first broken link of each broken chain; the documents' stored bytes against their
    SHA-256; how many are broken."""
    aires = list(ledger.ids_of(Aire.Registered))
    stays = dict.fromkeys(ledger.ids_of(Stay.Opened))
    for aire_id in aires:
        stays.update(dict.fromkeys(ledger.audit.stays_of(aire_id)))
    interventions = [i for a in aires for i in ledger.audit.interventions_of(a)]
    documents = [d for a in aires for d in ledger.audit.documents_of(a)]
    broken = _verify_documents(ledger, out)
    for kind, ids in (
        ("aire", aires),
        ("stay", list(stays)),
        ("intervention", interventions),
        ("document", documents),
    ):
        events = failed = 0
        for chain_id, report in ledger.audit.verify_registers(ids, jobs=jobs, kind=kind):
            events += report.events
            if report.ok:
                continue
            failed += 1
            first = report.problems[0]
            out.write(
                f"{kind} {chain_id} BROKEN at event {first.version}: {first.kind}: {first.detail}\n"
            )
            for problem in report.problems[1:]:
                out.write(f"  event {problem.version}: {problem.kind}: {problem.detail}\n")
        out.write(f"{len(ids)} {kind}s verified ({events} events), {failed} broken\n")
        broken += failed
    return broken


def _verify_documents(ledger: Ledger, out: TextIO) -> int:
    """The aires' documents' stored bytes, each against the SHA-256 it is stored under."""
    stored, bad = ledger.documents.verify()
    out.writelines(f"document bytes {h} BROKEN: they no longer match their sha-256\n" for h in bad)
    out.write(f"{stored} documents' bytes verified, {len(bad)} broken\n")
    return len(bad)


def _verify_attestations(ledger: Ledger, directory: Path, out: TextIO) -> int:
    """The store against every attestation of ``directory``, trusting the public half of
    the ``attestation_key``; how many attestations failed."""
    from hacienda_ledger.application.attestations import load_key, read_dir

    try:
        trusted = load_key(ledger.settings.attestation_key).public_key()
    except LedgerError as exc:
        out.write(f"attestations not checked: {exc.detail}\n")
        return 1
    checked = read_dir(directory, trusted)
    failed = 0
    for found in checked:
        document = found.document
        name = f"aire {document.get('aire_id')} month {document.get('month')}"
        if found.untrusted:
            failed += 1
            out.write(f"attestation {document.get('file', name)} UNTRUSTED: {found.untrusted}\n")
            continue
        findings = ledger.audit.verify_attested(document)
        if findings:
            failed += 1
            out.write(f"attestation of {name} BROKEN\n")
        for f in findings:
            out.write(f"  {f.kind}: {f.aggregate_id}: {f.detail}\n")
    out.write(f"{len(checked)} attestations checked, {failed} broken\n")
    return failed


def _verify_seals(ledger: Ledger, out: TextIO) -> int:
    """Every aire's seals against the store; how many aires have a broken seal."""
    broken = sealed = 0
    for aire_id in ledger.ids_of(Aire.Registered):
        if not ledger.exists(Seals.id_for(aire_id)):
            continue
        sealed += 1
        findings = ledger.audit.verify_seals(aire_id)
        if findings:
            broken += 1
            out.write(f"aire {aire_id} seals BROKEN\n")
        for f in findings:
            where = f"month {f.month}" if f.month else "the seals' chain"
            out.write(f"  {where}: {f.kind}: {f.aggregate_id}: {f.detail}\n")
    out.write(f"{sealed} aires with seals verified, {broken} broken\n")
    return broken


__all__ = ["load_demo", "run_demo", "run_verify"]
