"""Aggregates as response bodies (translation only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from pydantic import BaseModel

from hacienda_ledger.aggregates.aire import Aire
from hacienda_ledger.aggregates.collectivite import Collectivite
from hacienda_ledger.aggregates.errors import ReceiptAlreadyRemitted, ReceiptNotFound
from hacienda_ledger.aggregates.household import Document, Erased, Household, Justification
from hacienda_ledger.aggregates.integrity import VerificationReport
from hacienda_ledger.aggregates.intervention import Intervention
from hacienda_ledger.aggregates.register import CashRegister
from hacienda_ledger.aggregates.stay import Stay
from hacienda_ledger.aggregates.user import User
from hacienda_ledger.aggregates.values import paris_day
from hacienda_ledger.api import schemas as s
from hacienda_ledger.api.schemas.common import STORED
from hacienda_ledger.application import Ledger
from hacienda_ledger.application.access_log import Access
from hacienda_ledger.application.disclosure import Disclosure, StayRecord
from hacienda_ledger.application.regie import Standing
from hacienda_ledger.application.seal_checks import SealFinding
from hacienda_ledger.application.tokens import TokenInfo

M = TypeVar("M", bound=BaseModel)


def read(model: type[M], value: object, **given: object) -> M:
    """``model`` filled from a domain value whose attributes bear its field names (and so on
    down its parts: a tariff's seasons, a household's members); ``given`` are the fields the
    value names otherwise or does not hold (a position, a count). What is stored is shown as
    stored: the plain-text rule of request bodies (``STORED``) is not applied to it."""
    if not given:
        return model.model_validate(value, from_attributes=True, context=STORED)
    held = {name: getattr(value, name) for name in model.model_fields if name not in given}
    return model.model_validate({**held, **given}, from_attributes=True, context=STORED)


def collectivite(c: Collectivite, position: int | None = None) -> s.CollectivitePublic:
    return read(s.CollectivitePublic, c, position=position)


def aire(
    a: Aire,
    now: datetime,
    position: int | None = None,
    *,
    show_stays: bool = True,
    team: list[s.TeamMemberPublic] | None = None,
) -> s.AirePublic:
    """``show_stays=False`` hides which stay occupies each emplacement (for analysts and
    intervenants); ``team``: its members by name (``team``), else none shown."""
    today = paris_day(now)
    return read(
        s.AirePublic,
        a,
        emplacements=[
            read(
                s.EmplacementPublic,
                e,
                in_service_today=e.in_service_on(today),
                occupied_by_stay=a.occupants.get(e.number) if show_stays else None,
            )
            for e in a.emplacements.values()
        ],
        current_tariff=a.tariff_on(today),
        team=team or [],
        position=position,
    )


def team(ledger: Ledger, a: Aire) -> list[s.TeamMemberPublic]:
    """The aire's team: each member's id, name and role."""
    return [
        s.TeamMemberPublic(user_id=user_id, name=ledger.user(user_id).name, role=role)
        for user_id, role in a.team.items()
    ]


def intervention(i: Intervention, position: int | None = None) -> s.InterventionPublic:
    return read(
        s.InterventionPublic,
        i,
        kind=i.kind.value,
        status=i.status.value,
        position=position,
    )


def aire_summary(a: Aire) -> s.AireSummaryPublic:
    return read(s.AireSummaryPublic, a)


def clear(value: str | Erased) -> str | None:
    """A personal value as a body shows it: null once erased."""
    return None if isinstance(value, Erased) else value


def extensions(st: Stay, why: dict[int, Justification]) -> list[s.ExtensionPublic]:
    """The stay's extensions, each with its why when ``why`` holds it (by event version)."""
    found = []
    for granted in st.extensions:
        j = why.get(granted.version)
        found.append(
            s.ExtensionPublic(
                reason=None if j is None else clear(j.reason),
                evidence_ref=None if j is None else clear(j.evidence_ref),
                until=granted.until,
            )
        )
    return found


def stay(
    ledger: Ledger,
    st: Stay,
    position: int | None = None,
    why: dict[int, Justification] | None = None,
) -> s.StayPublic:
    return read(
        s.StayPublic,
        st,
        extensions=extensions(st, why or {}),
        adults=st.composition.adults,
        children=dict(st.composition.children),
        caravans=st.composition.caravans,
        status="open" if st.is_open else "departed",
        charges=ledger.stay_charges(st.id),
        settlement=[
            read(
                s.DuePublic,
                d,
                settled_by=[
                    s.SettledByPublic(reference=r, amount_cents=c) for r, c in d.settled.items()
                ],
            )
            for d in st.settlement.dues
        ],
        overpaid_cents=sum(st.settlement.overpaid.values()),
        rules=None if st.rules is None else _rules(st.rules),
        **ledger.stay_account(st.id),  # charged, settled, balance due, deposit held
        position=position,
    )


def register(r: CashRegister, position: int | None = None) -> s.RegisterPublic:
    return read(
        s.RegisterPublic,
        r,
        last_receipt_number=r.last_number,
        last_remitted_receipt=r.last_remitted_number,
        balances_cents=dict(r.balances),
        deposits_held_cents=sum(r.deposits_held.values()),
        **held_and_pending(r),
        position=position,
    )


def held_and_pending(r: CashRegister) -> dict[str, Any]:
    """What a register holds for others (deposits and advances by method), its open cash
    differences and the cancellations waiting for the régisseur: the register as served
    now, and its history as of an instant, show the same."""
    return {
        "deposits_held_by_method_cents": {m: c for m, c in r.deposits_by_method.items() if c},
        "advances_held_cents": sum(r.advances_by_method.values()),
        "advances_held_by_method_cents": {m: c for m, c in r.advances_by_method.items() if c},
        "open_cash_differences": [
            {"count_number": n, "difference_cents": d} for n, d in r.open_difference_cents.items()
        ],
        "pending_cancellations": [
            read(s.PendingCancellationPublic, p).model_dump(mode="json") for p in r.pending
        ],
    }


def alerts(standing: Standing) -> s.AlertsPublic:
    """A register's alerts on a day, with the rules they apply."""
    found = [read(s.AlertPublic, a) for a in standing.alerts]
    return s.AlertsPublic(
        register_id=standing.register.id,
        today=standing.today,
        rules=read(s.RegisterRulesPublic, standing.register.rules),
        data=found,
        count=len(found),
    )


def slip_preview(r: CashRegister, through_receipt: int) -> s.SlipPreviewPublic:
    """The next slip through ``through_receipt``: a receipt not issued yet is not found
    (404, as any number naming nothing), one already remitted a conflict with the
    register's state (409); neither is a malformed request."""
    if through_receipt > r.last_number:
        raise ReceiptNotFound(
            f"no receipt {through_receipt} on this register yet (the last is {r.last_number})",
            field="through_receipt",
        )
    if through_receipt < r.last_remitted_number:
        raise ReceiptAlreadyRemitted(
            f"receipts up to {r.last_remitted_number} are remitted already",
            field="through_receipt",
        )
    lines, amounts = r.slip_preview(through_receipt)
    return s.SlipPreviewPublic(
        register_id=r.id,
        slip_number=r.last_slip_number + 1,
        first_receipt=r.last_remitted_number + 1,
        through_receipt=through_receipt,
        lines=[read(s.SlipLinePublic, line) for line in lines],
        amounts_by_method_cents=amounts,
        total_cents=sum(amounts.values()),
    )


def receipt(
    event: CashRegister.ReceiptIssued, position: int, remittance_due: bool
) -> s.ReceiptPublic:
    return read(
        s.ReceiptPublic,
        event,
        register_id=event.originator_id,
        cancelled=False,
        remittance_due=remittance_due,
        version=event.originator_version,
        position=position,
    )


def verification(register_id: object, report: VerificationReport) -> s.VerificationPublic:
    return read(
        s.VerificationPublic,
        report,
        register_id=register_id,
        first_broken_version=_first_broken_version(report),
    )


def _first_broken_version(report: VerificationReport) -> int | None:
    return report.first_broken.version if report.first_broken else None


def aire_verification(
    aire_id: UUID,
    chains: list[tuple[str, UUID, VerificationReport]],
    seals: list[SealFinding],
) -> s.AireVerificationPublic:
    found = [
        read(
            s.ChainVerificationPublic,
            report,
            kind=kind,
            id=chain_id,
            first_broken_version=_first_broken_version(report),
        )
        for kind, chain_id, report in chains
    ]
    return s.AireVerificationPublic(
        aire_id=aire_id,
        ok=all(x.ok for x in found) and not seals,
        chains=found,
        seals=[read(s.SealFindingPublic, f) for f in seals],
    )


def user(u: User) -> s.UserPublic:
    return read(s.UserPublic, u, role=u.role.value, aires=u.aire_ids)


def token(t: TokenInfo, now: datetime) -> s.TokenPublic:
    return read(s.TokenPublic, t, status=t.status(now))


def household(h: Household, position: int | None = None) -> s.HouseholdPublic:
    """A household's record; every personal field is null once erased."""
    p = None if isinstance(h.profile, Erased) else h.profile
    return s.HouseholdPublic(
        id=h.id,
        aire_id=h.aire_id,
        erased=p is None,
        display_name=p.display_name if p else None,
        members=[read(s.Member, m) for m in p.members] if p else [],
        contact=read(s.HouseholdContact, p.contact) if p else None,
        caravans=read(s.Fleet, p.caravans) if p else None,
        vehicles=read(s.Fleet, p.vehicles) if p else None,
        notes=p.notes if p else None,
        documents=[document(d) for d in h.documents],
        stays=[s.HouseholdStayPublic(stay_id=st, aire_id=a) for st, a in h.stays],
        registered_at=h.registered_at,
        erased_at=h.erasure[0] if h.erasure else None,
        version=h.version,
        position=position,
    )


def document(d: Document, ledger: Ledger | None = None) -> s.DocumentPublic:
    """A household's document; a ``rules_acknowledged`` one of a stay names the règlement
    intérieur that stay is bound to (read from the stay, given the ``ledger``)."""
    return s.DocumentPublic(
        seq=d.seq,
        kind=d.kind,
        date=d.on,
        reference=None if isinstance(d.reference, Erased) else d.reference,
        stay_id=d.stay_id,
        recorded_at=d.recorded_at,
        rules=_acknowledged(d, ledger),
    )


def _acknowledged(d: Document, ledger: Ledger | None) -> s.RulesPublic | None:
    if ledger is None or d.kind != "rules_acknowledged" or d.stay_id is None:
        return None
    found = ledger.stay(d.stay_id).rules
    return None if found is None else _rules(found)


def _rules(found: tuple[UUID, int, str]) -> s.RulesPublic:
    return s.RulesPublic(document_id=found[0], version=found[1], sha256=found[2])


def payer(household_id: UUID | None, names: dict[UUID, str | Erased]) -> s.PayerPublic | None:
    if household_id is None or household_id not in names:
        return None
    name = names[household_id]
    return s.PayerPublic(
        household_id=household_id,
        name=None if isinstance(name, Erased) else name,
        erased=isinstance(name, Erased),
    )


def _why(value: str | Erased | None) -> str | None:
    return None if value is None or isinstance(value, Erased) else value


def stay_export(ledger: Ledger, record: StayRecord) -> s.StayExportPublic:
    st = record.stay
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
        **ledger.stay_account(st.id),  # charged, settled, balance due, deposit held
        readings=[read(s.ReadingPublic, r) for r in record.readings],
        extensions=[
            s.ExtensionPublic(
                reason=_why(e.reason), evidence_ref=_why(e.evidence_ref), until=e.until
            )
            for e in record.extensions
        ],
    )


def household_export(
    ledger: Ledger, household: s.HouseholdPublic, found: Disclosure, accesses: list[Access]
) -> s.HouseholdExportPublic:
    """Everything the ledger holds about a household (right of access)."""
    return s.HouseholdExportPublic(
        exported_at=ledger.clock(),
        household=household,
        stays=[stay_export(ledger, record) for record in found.stays],
        access_log=[
            s.AccessPublic(at=a.at, user_id=a.user_id, role=a.role, endpoint=a.endpoint)
            for a in accesses
        ],
        receipts=[
            s.ReceiptExportPublic(
                **{k: v for k, v in vars(r).items() if k != "lines"},
                lines=[
                    s.ReceiptLineExportPublic(revenue_type=t, amount_cents=c) for t, c in r.lines
                ],
                cancelled=r.cancelled_at is not None,
            )
            for r in found.receipts
        ],
        deposits=[s.DepositMoveExportPublic(**vars(d)) for d in found.deposits],
        advances=[
            s.AdvanceMoveExportPublic(
                **{k: v for k, v in vars(a).items() if k not in ("by_revenue_type", "charges")},
                by_revenue_type_cents=dict(a.by_revenue_type),
                charges=[
                    s.AdvanceChargeExportPublic(charge=c, revenue_type=t, amount_cents=n)
                    for c, t, n in a.charges
                ],
            )
            for a in found.advances
        ],
        printed=[s.PrintedExportPublic(**vars(p)) for p in found.printed],
    )


def journal_payers(
    ledger: Ledger, user: User, register_id: UUID, rows: list[dict[str, Any]], endpoint: str
) -> None:
    """Name the payer on the journal lines of receipts and cancellations (``payer`` with the
    household id, its name or null once erased); every name read is logged."""
    versions = {r["version"] for r in rows if r["kind"] in ("receipt", "cancellation")}
    household_of = {
        v: getattr(ledger.register_event(register_id, v), "household_ref", None) for v in versions
    }
    names = ledger.households.payer_names(
        user, [h for h in household_of.values() if h is not None], endpoint=endpoint
    )
    for row in rows:
        found = payer(household_of.get(row["version"]), names)
        row["payer"] = found.model_dump(mode="json") if found else None


def journal(
    rows: list[dict[str, Any]], summaries: dict[str, Any] | None, next_cursor: str | None = None
) -> dict[str, Any]:
    """A page of journal lines, days as ISO text, with the period's daily and monthly
    summaries (on the first page only) and the cursor to the next page."""
    return {
        "data": [{**r, "day": r["day"].isoformat()} for r in rows],
        "count": len(rows),
        "next_cursor": next_cursor,
        "summaries": summaries,
    }


def register_history(register_id: UUID, as_of: datetime, found: dict[str, Any]) -> dict[str, Any]:
    """``Ledger.register_history`` as the auditor reads it."""
    register = found["register"]
    totals = found["open_year_totals"]
    last_closure = None
    if register.last_closure is not None:
        period, first, last, version = register.last_closure
        last_closure = {"period": period, "start": first, "end": last, "version": version}
    return {
        "as_of": as_of.isoformat(),
        "version": register.version,
        "last_receipt_number": register.last_number,
        "receipt_count": register.last_number,
        "balances": {f"{m}_cents": c for m, c in register.balances.items()},
        "deposits_held_cents": sum(register.deposits_held.values()),
        # the register's own figures as GET /v1/registers/{id} showed them then (``register``)
        **held_and_pending(register),
        "totals": {
            "by_revenue_type_cents": totals.by_revenue_type,
            "by_method_cents": totals.by_method,
            "receipts": totals.receipts,
            "cancellations": totals.cancellations,
            "perpetual_total_cents": register.perpetual_total_cents,
            "third_party_by_method_cents": found["open_year_third_party"].by_method,
            "third_party_cents": found["open_year_third_party"].net_cents,
        },
        "last_closure": last_closure,
        "head_hash": register.head_hash,
        "verification": verification(register_id, found["verification"]).model_dump(mode="json"),
    }


def seals(ledger: Ledger, aire_id: UUID) -> list[s.SealPublic]:
    """The aire's seals, oldest first, from the seals' own events."""
    found = []
    for event in ledger.audit.seal_events(aire_id):
        heads = [read(s.ChainHeadPublic, head) for head in event.heads]
        found.append(
            s.SealPublic(
                aire_id=aire_id,
                month=event.month,
                sealed_at=event.timestamp.isoformat(),
                actor=event.actor,
                hash=event.hash,
                prev_hash=event.prev_hash,
                heads=heads,
                digests=dict(event.digests),
                version=event.originator_version,
            )
        )
    return found
