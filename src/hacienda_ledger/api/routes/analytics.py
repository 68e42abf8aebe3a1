"""The analytics tables (issue 19): usage of the aires by place and time, anonymised and
suppressed (docs/analytics.md). Every reader reads the same publication; a reader confined
to a scope reads the aires, communes and collectivités of their territory, and every
département, région and France as benchmarks."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response

from hacienda_ledger.aggregates.user import Role
from hacienda_ledger.api.deps import LedgerDep, UserDep
from hacienda_ledger.api.openapi import files
from hacienda_ledger.api.pages import PageDep
from hacienda_ledger.api.schemas.analytics import AnalyticsTablePublic
from hacienda_ledger.api.schemas.common import DATE_RANGE, Day
from hacienda_ledger.application.access import Permission
from hacienda_ledger.application.analytics import Analytics, Publication
from hacienda_ledger.reports import pictures
from hacienda_ledger.reports.analytics_pictures import picture as draw

router = APIRouter(prefix="/v1/analytics", tags=["analytics"])

Filter = Annotated[
    str | None, Query(max_length=40, pattern=r"^[A-Za-z0-9-]+$", description="equal to")
]
PeriodFilter = Annotated[
    str | None,
    Query(
        pattern=r"^20\d\d(-(0[1-9]|1[0-2]|W(0[1-9]|[1-4]\d|5[0-3])|summer|winter))?$",
        description="a period: `2025`, `2025-03`, `2025-W09`, `2025-summer`, `2024-winter` "
        "(years 2000 to 2099)",
    ),
]
TableName = Annotated[
    str,
    Path(
        max_length=40,
        pattern=r"^[a-z_]+$",
        description="`<level>_<period>` (levels aire, commune, collectivite, departement, "
        "region, france; periods week, month, season, year) or "
        "`flows_<departement|region>_<month|year>`",
    ),
]


def analytics(request: Request) -> Analytics:
    found: Analytics = request.app.state.analytics
    return found


AsOf = Annotated[
    Day | None,
    Query(
        description="the day asked: the latest publication as of it or before is read "
        f"(default: the latest publication), {DATE_RANGE}"
    ),
]


def _headers(publication: Publication) -> dict[str, str]:
    """The publication a read comes from, in headers (a picture has no body to say it)."""
    return {
        "X-Analytics-As-Of": publication.as_of.isoformat(),
        "X-Analytics-Position": str(publication.position),
        "X-Analytics-Published-At": publication.published_at,
    }


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


PictureName = Annotated[
    Literal["france", "departement", "series"],
    Path(
        description="`france` (map of the départements and the aires, overseas in insets), "
        "`departement` (map of one département), `series` (one département's months)"
    ),
]


@router.get(
    "/pictures/{picture}",
    response_class=Response,
    responses=files(
        "the picture as PNG (`format=png`) or SVG (`format=svg`)", *pictures.FORMATS.values()
    ),
)
def read_picture(
    picture: PictureName,
    request: Request,
    ledger: LedgerDep,
    user: UserDep,
    format: Annotated[Literal["png", "svg"], Query(description="png or svg")] = "png",
    departement: Annotated[
        str | None,
        Query(
            pattern=f"^({'|'.join(pictures.departement_codes())})$",
            description="the département (`49`, `2A`, `974`: one of the 101): needed by "
            "`departement` and `series`",
        ),
    ] = None,
    year: Annotated[
        int | None,
        Query(
            ge=2000,
            le=2099,
            description="the year of a map (default: the last calendar year complete on "
            "the publication's as-of day: 2025 for a publication as of 2026-03-01); a "
            "series' only months (default: every month)",
        ),
    ] = None,
    as_of: AsOf = None,
) -> Response:
    """A picture of a stored analytics publication (the latest, or the latest as of
    `as_of`), drawn from its published (suppressed) cells only: départements shaded by the
    year's unmet requests, aires as points sized by their places and coloured by their
    occupancy rate (no colour where the rate is suppressed), or a département's months.
    The reader's territory applies as to the tables (aires outside it are not drawn). The
    publication is named in the `X-Analytics-As-Of`, `X-Analytics-Position` and
    `X-Analytics-Published-At` headers. 422 `invalid_value` for a `departement` missing
    where the picture needs one; 404 `analytics_not_published` before any publication
    (docs/analytics.md#pictures)."""
    ledger.access.authorize(user, Permission.READ_ANALYTICS)
    every = user.role in (Role.ADMIN, Role.ANALYST)
    territory = None if every else [str(a) for a in ledger.access.aires_in_scope(user)]
    content, publication = draw(
        analytics(request),
        picture,
        format,
        as_of,
        departement=departement,
        year=year,
        territory=territory,
    )
    suffix = f"-{departement}" if departement and picture != "france" else ""
    filename = f"analytics-{picture}{suffix}-{publication.as_of.isoformat()}.{format}"
    return Response(
        content,
        media_type=pictures.FORMATS[format],
        headers={
            "Content-Disposition": f'inline; filename="{filename}"',
            **_headers(publication),
        },
    )


@router.get("/{table}", response_model=AnalyticsTablePublic)
def read_table(
    table: TableName,
    request: Request,
    response: Response,
    ledger: LedgerDep,
    user: UserDep,
    page: PageDep,
    code: Filter = None,
    commune: Filter = None,
    collectivite: Filter = None,
    departement: Filter = None,
    region: Filter = None,
    period: PeriodFilter = None,
    from_code: Filter = None,
    to_code: Filter = None,
    as_of: AsOf = None,
) -> dict[str, Any]:
    """One analytics table of a stored publication (the latest, or the latest as of
    `as_of`), its rows equal to the filters given (paginated): counts below the threshold,
    and what would give them back, are null and named in each row's `suppressed`. No
    household, name or free text. The body names the publication (`as_of`, `position`,
    `published_at`, `sha256`). Admins and analysts read every row; others their
    territory's aires, communes and collectivité, beside every département, région and
    France (404 `analytics_table_not_found` for another name; 404
    `analytics_not_published` before any publication: nothing is computed on a read)."""
    ledger.access.authorize(user, Permission.READ_ANALYTICS)
    every = user.role in (Role.ADMIN, Role.ANALYST)
    territory = None if every else [str(a) for a in ledger.access.aires_in_scope(user)]
    filters = {
        "code": code,
        "commune": commune,
        "collectivite": collectivite,
        "departement": departement,
        "region": region,
        "period": period,
        "from_code": from_code,
        "to_code": to_code,
    }
    service = analytics(request)
    found = service.read(table, as_of, filters, territory, offset=page.offset, limit=page.limit)
    publication = found.publication
    response.headers.update(_headers(publication))
    return {
        "table": table,
        "as_of": publication.as_of.isoformat(),
        "threshold": publication.threshold,
        "position": publication.position,
        "published_at": publication.published_at,
        "sha256": publication.sha256,
        "data": [{k: _plain(v) for k, v in row.items()} for row in found.rows],
        "count": len(found.rows),
        "next_cursor": page.next_cursor(found.more),
    }
