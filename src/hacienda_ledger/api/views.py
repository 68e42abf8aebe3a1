"""Aggregates as response bodies (translation only)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from hacienda_ledger.aggregates.aire import Aire
from hacienda_ledger.aggregates.collectivite import Collectivite
from hacienda_ledger.aggregates.household import Document, Erased, Fleet, Household
from hacienda_ledger.aggregates.integrity import VerificationReport
from hacienda_ledger.aggregates.register import CashRegister
from hacienda_ledger.aggregates.stay import Stay
from hacienda_ledger.aggregates.user import User
from hacienda_ledger.aggregates.values import Tariff, paris_day
from hacienda_ledger.api import schemas as s
from hacienda_ledger.application import Ledger


def collectivite(c: Collectivite, position: int | None = None) -> s.CollectivitePublic:
    return s.CollectivitePublic(
        id=c.id,
        code=c.code,
        name=c.name,
        siren=c.siren,
        contacts=[
            s.Contact(name=x.name, role=x.role, email=x.email, phone=x.phone) for x in c.contacts
        ],
        version=c.version,
        position=position,
    )


def tariff(t: Tariff) -> s.TariffPublic:
    return s.TariffPublic(
        effective_from=t.effective_from,
        deliberation_ref=t.deliberation_ref,
        pitch_fee_per_day_cents=t.pitch_fee_per_day_cents,
        water_price_per_m3=t.water_price_per_m3,
        electricity_price_per_kwh=t.electricity_price_per_kwh,
        deposit_cents=t.deposit_cents,
        person_rates=[
            s.PersonRate(age_band=r.age_band, daily_cents=r.daily_cents) for r in t.person_rates
        ],
        seasons=[
            s.Season(start=x.start, end=x.end, pitch_fee_per_day_cents=x.pitch_fee_per_day_cents)
            for x in t.seasons
        ],
        duration_bands=[
            s.DurationBand(from_day=b.from_day, pitch_fee_per_day_cents=b.pitch_fee_per_day_cents)
            for b in t.duration_bands
        ],
    )


def aire(
    a: Aire, now: datetime, position: int | None = None, *, show_stays: bool = True
) -> s.AirePublic:
    """``show_stays=False`` hides which stay occupies each emplacement (for analysts)."""
    today = paris_day(now)
    current = a.tariff_on(today)
    return s.AirePublic(
        id=a.id,
        code=a.code,
        name=a.name,
        collectivite_id=a.collectivite_id,
        sector=a.sector,
        mode=a.mode.value,
        insee_code=a.insee_code,
        departement=a.departement,
        latitude=a.latitude,
        longitude=a.longitude,
        capacity_places=a.capacity_places,
        emplacements=[
            s.EmplacementPublic(
                number=e.number,
                places=e.places,
                surface_m2=e.surface_m2,
                in_service_today=e.in_service_on(today),
                out_of_service=[
                    s.OutOfServicePublic(start=p.start, end=p.end, reason=p.reason)
                    for p in e.out_of_service
                ],
                occupied_by_stay=a.occupants.get(e.number) if show_stays else None,
            )
            for e in a.emplacements.values()
        ],
        current_tariff=tariff(current) if current else None,
        tariffs=[tariff(t) for t in a.tariffs],
        closures=[
            s.ClosurePublic(
                start=c.start,
                end=c.end,
                reason=c.reason,
                prefect_derogation_ref=c.prefect_derogation_ref,
                notified_on=c.notified_on,
                urgent=c.urgent,
            )
            for c in a.closures
        ],
        max_consecutive_days=a.max_consecutive_days,
        extension_cap_months=a.extension_cap_months,
        register_ids=list(a.register_ids),
        version=a.version,
        position=position,
    )


def aire_summary(a: Aire) -> s.AireSummaryPublic:
    return s.AireSummaryPublic(
        id=a.id,
        code=a.code,
        name=a.name,
        collectivite_id=a.collectivite_id,
        sector=a.sector,
        mode=a.mode.value,
        departement=a.departement,
        capacity_places=a.capacity_places,
    )


def stay(ledger: Ledger, st: Stay, position: int | None = None) -> s.StayPublic:
    account = ledger.stay_account(st.id)
    return s.StayPublic(
        id=st.id,
        aire_id=st.aire_id,
        emplacement=st.emplacement,
        household_ref=st.household_ref,
        arrived_at=st.arrived_at,
        arrival_day=st.arrival_day,
        adults=st.composition.adults,
        children=dict(st.composition.children),
        caravans=st.composition.caravans,
        agreement_ref=st.agreement_ref,
        entry_inspection_ref=st.entry_inspection_ref,
        status="open" if st.is_open else "departed",
        departed_at=st.departed_at,
        exit_inspection_ref=st.exit_inspection_ref,
        readings=[
            s.ReadingPublic(
                seq=r.seq, meter=r.meter, index=r.index, read_at=r.read_at, corrects=r.corrects
            )
            for r in st.readings
        ],
        charges=[
            s.ChargeLinePublic(
                revenue_type=c.revenue_type,
                component=c.component,
                start=c.start,
                end=c.end,
                quantity=c.quantity,
                unit_price=c.unit_price,
                amount_cents=c.amount_cents,
                tariff_ref=c.tariff_ref,
            )
            for c in ledger.stay_charges(st.id)
        ],
        charged_until=st.charged_until,
        charged_cents=account["charged_cents"],
        settled_cents=account["settled_cents"],
        balance_due_cents=account["balance_due_cents"],
        deposit_held_cents=account["deposit_held_cents"],
        extensions=[
            s.ExtensionPublic(reason=e.reason, evidence_ref=e.evidence_ref, until=e.until)
            for e in st.extensions
        ],
        allowed_through=st.allowed_through,
        flagged=st.flagged,
        version=st.version,
        position=position,
    )


def register(r: CashRegister, position: int | None = None) -> s.RegisterPublic:
    return s.RegisterPublic(
        id=r.id,
        aire_id=r.aire_id,
        regie_ref=r.regie_ref,
        float_cents=r.float_cents,
        cash_ceiling_cents=r.cash_ceiling_cents,
        payment_methods=list(r.payment_methods),
        revenue_types=list(r.revenue_types),
        last_receipt_number=r.last_number,
        last_remitted_receipt=r.last_remitted_number,
        last_slip_number=r.last_slip_number,
        balances_cents=dict(r.balances),
        deposits_held_cents=sum(r.deposits_held.values()),
        perpetual_total_cents=r.perpetual_total_cents,
        remittance_due=r.remittance_due,
        closed_through=r.closed_through,
        head_hash=r.head_hash,
        version=r.version,
        position=position,
    )


def receipt(
    event: CashRegister.ReceiptIssued, position: int, remittance_due: bool
) -> s.ReceiptPublic:
    return s.ReceiptPublic(
        register_id=event.originator_id,
        number=event.number,
        stay_id=event.stay_id,
        method=event.method,
        lines=[
            s.ReceiptLine(
                revenue_type=x.revenue_type,
                amount_cents=x.amount_cents,
            )
            for x in event.lines
        ],
        total_cents=event.total_cents,
        cancelled=False,
        remittance_due=remittance_due,
        hash=event.hash,
        version=event.originator_version,
        position=position,
    )


def verification(register_id: object, report: VerificationReport) -> s.VerificationPublic:
    first = report.first_broken
    return s.VerificationPublic(
        register_id=register_id,
        ok=report.ok,
        events=report.events,
        head_hash=report.head_hash,
        first_broken_version=first.version if first else None,
        problems=[
            s.ProblemPublic(version=p.version, kind=p.kind, detail=p.detail)
            for p in report.problems
        ],
    )


def user(u: User) -> s.UserPublic:
    return s.UserPublic(
        id=u.id,
        name=u.name,
        role=u.role.value,
        sectors=list(u.sectors),
        aires=list(u.aire_ids),
        collectivite_id=u.collectivite_id,
    )


def _fleet(f: Fleet) -> s.Fleet:
    return s.Fleet(count=f.count, plates=list(f.plates))


def household(h: Household, position: int | None = None) -> s.HouseholdPublic:
    """A household's record; every personal field is null once erased."""
    p = h.profile
    erased = isinstance(p, Erased)
    return s.HouseholdPublic(
        id=h.id,
        aire_id=h.aire_id,
        erased=erased,
        display_name=None if isinstance(p, Erased) else p.display_name,
        members=[]
        if isinstance(p, Erased)
        else [
            s.Member(
                name=m.name,
                birth_year=m.birth_year,
                age_band=m.age_band,
                relationship=m.relationship,
            )
            for m in p.members
        ],
        contact=None
        if isinstance(p, Erased)
        else s.HouseholdContact(phone=p.contact.phone, email=p.contact.email),
        caravans=None if isinstance(p, Erased) else _fleet(p.caravans),
        vehicles=None if isinstance(p, Erased) else _fleet(p.vehicles),
        notes=None if isinstance(p, Erased) else p.notes,
        documents=[document(d) for d in h.documents],
        stays=[s.HouseholdStayPublic(stay_id=st, aire_id=a) for st, a in h.stays],
        registered_at=h.registered_at,
        erased_at=h.erasure[0] if h.erasure else None,
        version=h.version,
        position=position,
    )


def document(d: Document) -> s.DocumentPublic:
    return s.DocumentPublic(
        seq=d.seq,
        kind=d.kind,
        date=d.on,
        reference=None if isinstance(d.reference, Erased) else d.reference,
        stay_id=d.stay_id,
        recorded_at=d.recorded_at,
    )


def payer(household_id: UUID | None, names: dict[UUID, str | Erased]) -> s.PayerPublic | None:
    if household_id is None or household_id not in names:
        return None
    name = names[household_id]
    return s.PayerPublic(
        household_id=household_id,
        name=None if isinstance(name, Erased) else name,
        erased=isinstance(name, Erased),
    )


def stay_export(ledger: Ledger, st: Stay) -> s.StayExportPublic:
    account = ledger.stay_account(st.id)
    return s.StayExportPublic(
        stay_id=st.id,
        aire_id=st.aire_id,
        aire_name=ledger.aire(st.aire_id).name,
        emplacement=st.emplacement,
        arrived_at=st.arrived_at,
        departed_at=st.departed_at,
        adults=st.composition.adults,
        children=dict(st.composition.children),
        caravans=st.composition.caravans,
        charged_cents=account["charged_cents"],
        settled_cents=account["settled_cents"],
        balance_due_cents=account["balance_due_cents"],
        deposit_held_cents=account["deposit_held_cents"],
    )
