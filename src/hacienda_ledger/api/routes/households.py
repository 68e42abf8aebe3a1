"""Households: their record, documents, search, erasure, export and access log.

Every answer that carries a household's personal data is logged in its access log (who,
when, which endpoint). Analysts and auditors never read a household here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response, status

from hacienda_ledger.aggregates.household import ContactDetails, Fleet, Member, Profile
from hacienda_ledger.aggregates.user import User
from hacienda_ledger.api import schemas as s
from hacienda_ledger.api import views
from hacienda_ledger.api.deps import LedgerDep, UserDep
from hacienda_ledger.api.openapi import BINARY
from hacienda_ledger.api.pages import PageDep, encode
from hacienda_ledger.api.schemas.common import QueryText
from hacienda_ledger.application import Ledger
from hacienda_ledger.application import commands as c
from hacienda_ledger.application.access import Permission
from hacienda_ledger.application.disclosure import disclose
from hacienda_ledger.reports.disclosure import access_pdf

router = APIRouter(prefix="/v1/households", tags=["households"])


def endpoint(request: Request) -> str:
    """The route that reads, as the access log records it: ``GET /v1/households/{id}``."""
    route = request.scope.get("route")
    return f"{request.method} {getattr(route, 'path', request.url.path)}"


def _members(members: list[s.Member]) -> tuple[Member, ...]:
    return tuple(Member(m.name, m.birth_year, m.age_band, m.relationship) for m in members)


def _fleet(fleet: s.Fleet) -> Fleet:
    return Fleet(fleet.count, tuple(fleet.plates))


def _contact(contact: s.HouseholdContact) -> ContactDetails:
    return ContactDetails(contact.phone, contact.email)


def _changes(body: s.HouseholdUpdate) -> dict[str, Any]:
    convert: dict[str, Callable[[Any], Any]] = {
        "display_name": lambda v: v,
        "members": _members,
        "contact": _contact,
        "caravans": _fleet,
        "vehicles": _fleet,
        "notes": lambda v: v,
    }
    changes = {}
    for name in body.model_fields_set:
        value = getattr(body, name)
        if value is None:
            continue  # null means "unchanged": a display name cannot be removed
        changes[name] = convert[name](value)
    return changes


def _read(
    ledger: Ledger, user: User, household_id: UUID, request: Request, position: int | None = None
) -> s.HouseholdPublic:
    household = ledger.households.read(user, household_id, endpoint=endpoint(request))
    return views.household(household, position)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=s.HouseholdPublic)
def create_household(
    body: s.HouseholdCreate, request: Request, ledger: LedgerDep, user: UserDep
) -> s.HouseholdPublic:
    """Record a household at an aire of the caller's scope. Its personal fields are sealed
    with a key of its own; stays then name it by its ``id`` only (``household_ref``)."""
    outcome = ledger.handle(
        c.RecordHousehold(
            aire_id=body.aire_id,
            profile=Profile(
                display_name=body.display_name,
                members=_members(body.members),
                contact=_contact(body.contact),
                caravans=_fleet(body.caravans),
                vehicles=_fleet(body.vehicles),
                notes=body.notes,
            ),
            actor=str(user.id),
        ),
        user,
    )
    return _read(ledger, user, outcome.aggregate_id, request, outcome.position)


@router.get("", response_model=s.HouseholdsPublic)
def search_households(
    request: Request,
    ledger: LedgerDep,
    user: UserDep,
    name: Annotated[
        QueryText,
        Query(
            min_length=2,
            max_length=100,
            description="part of the display name or of a member's name (case and accents ignored)",
        ),
    ],
    page: PageDep,
) -> s.HouseholdsPublic:
    """Households of the caller's aires whose name matches, in registration order
    (paginated; only those returned are logged as read). Names are compared on data
    decrypted in memory for this request only (no blind index: see docs/personal-data.md)."""
    found, more = ledger.households.search_page(
        user, name, endpoint=endpoint(request), offset=page.offset, limit=page.limit
    )
    data = [views.household(h) for h in found]
    next_cursor = encode("o", str(page.offset + page.limit)) if more else None
    return s.HouseholdsPublic(data=data, count=len(data), next_cursor=next_cursor)


@router.get("/{household_id}", response_model=s.HouseholdPublic)
def get_household(
    household_id: UUID, request: Request, ledger: LedgerDep, user: UserDep
) -> s.HouseholdPublic:
    """The household's record, for managers and cashiers of an aire where it was recorded
    or has stayed. The read is logged."""
    return _read(ledger, user, household_id, request)


@router.patch("/{household_id}", response_model=s.HouseholdPublic)
def amend_household(
    household_id: UUID, body: s.HouseholdUpdate, request: Request, ledger: LedgerDep, user: UserDep
) -> s.HouseholdPublic:
    """Change some fields (recorded as an event holding the new profile, sealed like the
    first). Refused once the personal data is erased."""
    outcome = ledger.handle(
        c.AmendHousehold(household_id, changes=_changes(body), actor=str(user.id)), user
    )
    return _read(ledger, user, household_id, request, outcome.position or None)


@router.get("/{household_id}/documents", response_model=s.DocumentsPublic)
def list_documents(
    household_id: UUID, request: Request, ledger: LedgerDep, user: UserDep, page: PageDep
) -> s.DocumentsPublic:
    """The documents seen or signed, in the order recorded (paginated)."""
    household = ledger.households.read(user, household_id, endpoint=endpoint(request))
    data, next_cursor = page.page([views.document(d, ledger) for d in household.documents])
    return s.DocumentsPublic(data=data, count=len(data), next_cursor=next_cursor)


@router.post(
    "/{household_id}/documents",
    status_code=status.HTTP_201_CREATED,
    response_model=s.DocumentPublic,
)
def record_document(
    household_id: UUID, body: s.DocumentCreate, request: Request, ledger: LedgerDep, user: UserDep
) -> s.DocumentPublic:
    """Record a document seen or signed: occupation agreement, règlement intérieur
    acknowledged, entry or exit inspection, identity document *seen* (never a copy)."""
    outcome = ledger.handle(
        c.RecordHouseholdDocument(
            household_id,
            kind=body.kind,
            on=body.date,
            reference=body.reference,
            stay_id=body.stay_id,
            actor=str(user.id),
        ),
        user,
    )
    household = ledger.households.read(user, household_id, endpoint=endpoint(request))
    return views.document(household.documents[outcome.result["seq"] - 1], ledger)


@router.delete("/{household_id}/personal-data", response_model=s.ErasurePublic)
def erase_personal_data(
    household_id: UUID,
    ledger: LedgerDep,
    user: UserDep,
    reason: Annotated[str, Query(min_length=1, max_length=200)] = "request",
) -> s.ErasurePublic:
    """Erase the household's personal data: its key is destroyed, so every personal field
    reads as erased everywhere from now on. Amounts, counts, projections and hash chains
    are untouched. Erasing again changes nothing."""
    outcome = ledger.handle(c.EraseHousehold(household_id, reason=reason, actor=str(user.id)), user)
    household = ledger.household(household_id)
    return s.ErasurePublic(
        household_id=household_id,
        erased=household.erased,
        erased_at=household.erasure[0] if household.erasure else None,
        reason=household.erasure[1] if household.erasure else None,
        key_destroyed=bool(outcome.result["key_destroyed"]),
        version=household.version,
        position=outcome.position or None,
    )


@router.get("/{household_id}/access-log", response_model=s.AccessesPublic)
def access_log(
    household_id: UUID, ledger: LedgerDep, user: UserDep, page: PageDep
) -> s.AccessesPublic:
    """Every read of the household's personal data: when, by whom (user id and role),
    through which endpoint, oldest first (paginated). For answering the household's
    data-access requests."""
    ledger.access.authorize_household(user, Permission.ANSWER_DATA_REQUESTS, household_id)
    entries, next_cursor = page.page(ledger.access_log.of(household_id))
    data = [
        s.AccessPublic(at=a.at, user_id=a.user_id, role=a.role, endpoint=a.endpoint)
        for a in entries
    ]
    return s.AccessesPublic(data=data, count=len(data), next_cursor=next_cursor)


@router.get(
    "/{household_id}/export",
    response_model=s.HouseholdExportPublic,
    responses={200: {"content": {"application/pdf": {"schema": BINARY}}}},
)
def export_household(
    household_id: UUID,
    request: Request,
    ledger: LedgerDep,
    user: UserDep,
    format: Annotated[Literal["json", "pdf"], Query()] = "json",
) -> Any:
    """The household's own data (right of access), as JSON or, with ``format=pdf``, the
    same as a PDF: its record and documents; its stays with their meter readings,
    extensions (reason and evidence, while not erased) and what was charged and settled;
    every receipt naming it (lines, amounts, number, cancellation), its deposits refunded
    or withheld, the receipts printed for it; and who read its data. The export is logged."""
    ledger.access.authorize_household(user, Permission.ANSWER_DATA_REQUESTS, household_id)
    household = ledger.households.read(user, household_id, endpoint=endpoint(request))
    found = disclose(ledger, household)
    record = views.household(household)
    body = views.household_export(ledger, record, found, ledger.access_log.of(household_id))
    rows = 1 + len(body.stays) + len(body.access_log)
    ledger.journalling.exported(
        user, {"household": household_id}, table="household", format=format, rows=rows
    )
    if format == "json":
        return body
    return Response(
        access_pdf(body.model_dump(mode="json"), ledger.clock()),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="acces-{household_id}.pdf"'},
    )
