"""The analytics pictures' figures, read from one publication (``Analytics``): the same
suppressed tables the API and the CLI serve, a reader's territory applied as there (an
aire outside it is not drawn; départements are benchmarks, drawn for every reader).
Drawing: ``reports/pictures.py``. What they show: docs/analytics.md#pictures."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from decimal import Decimal

from hacienda_ledger.aggregates.errors import InvalidValue
from hacienda_ledger.application.analytics import Analytics
from hacienda_ledger.projections.analytics_store import Publication
from hacienda_ledger.reports import pictures
from hacienda_ledger.reports.pictures import AirePoint, MapData, SeriesData

NAME_TITLES = {
    "france": "Aires d'accueil : occupation et demandes non satisfaites",
    "departement": "Aires d'accueil du département",
    "series": "Occupation et demandes non satisfaites par mois",
}


def _departement(code: str | None) -> str:
    if code is None:
        raise InvalidValue(
            "this picture is of one département: give departement", field="departement"
        )
    if code not in pictures.boundaries():
        raise InvalidValue(f"no département {code!r}", field="departement")
    return code


def map_data(
    service: Analytics,
    as_of: date,
    year: int,
    departement: str | None = None,
    territory: Collection[str] | None = None,
) -> MapData:
    """The year's map: every département's unmet requests, the aires (in ``territory``)
    with their places as of ``as_of`` and their published rate of the year."""
    period = {"period": str(year)}
    deps = service.table("departement_year", as_of, period)
    unmet: dict[str, int | None] = {str(r["code"]): r["unmet_requests"] for r in deps}
    places = service.places(as_of)
    aires = [
        AirePoint(
            code=str(r["code"]),
            longitude=float(r["longitude"]),
            latitude=float(r["latitude"]),
            departement=str(r["departement"]),
            places=places.get(str(r["code"]), 0),
            rate=r["occupancy_rate"],
        )
        for r in service.table("aire_year", as_of, period, territory)
        if r["latitude"] is not None and r["longitude"] is not None
    ]
    if departement is None:
        title = f"{NAME_TITLES['france']} — {year}"
    else:
        name = pictures.boundaries()[departement][0]
        title = f"{name} ({departement}) : occupation et demandes non satisfaites — {year}"
    return MapData(title, unmet, aires, departement)


def series_data(
    service: Analytics, as_of: date, departement: str, year: int | None = None
) -> SeriesData:
    """The département's months, from the first fact (or ``year``'s) to ``as_of``."""
    rows = service.table("departement_month", as_of, {"code": departement})
    months: list[tuple[str, Decimal | None, int | None]] = [
        (str(r["period"]), r["occupancy_rate"], r["unmet_requests"])
        for r in sorted(rows, key=lambda r: str(r["period"]))
        if year is None or str(r["period"]).startswith(f"{year}-")
    ]
    name = pictures.boundaries()[departement][0]
    span = str(year) if year is not None else f"jusqu'au {as_of:%d/%m/%Y}"
    return SeriesData(f"{name} ({departement}) : {NAME_TITLES['series'].lower()} — {span}", months)


def default_year(as_of: date) -> int:
    """A map's year when none is asked: the last calendar year complete on ``as_of`` (the
    publication's day): ``as_of``'s own on 31 December, the year before otherwise."""
    return as_of.year if (as_of.month, as_of.day) == (12, 31) else as_of.year - 1


def picture(
    service: Analytics,
    name: str,
    fmt: str,
    day: date | None,
    *,
    departement: str | None = None,
    year: int | None = None,
    territory: Collection[str] | None = None,
) -> tuple[bytes, Publication]:
    """One picture's bytes (``name`` in ``pictures.NAMES``, ``fmt`` png or svg), drawn from
    the latest publication as of ``day`` (None: the latest), and that publication."""
    if name not in pictures.NAMES:
        raise InvalidValue(f"no picture {name!r}: {', '.join(pictures.NAMES)}", field="picture")
    if fmt not in pictures.FORMATS:
        raise InvalidValue(f"no format {fmt!r}: png, svg", field="format")
    publication = service.latest(day)
    as_of = publication.as_of
    if name == "series":
        data = series_data(service, as_of, _departement(departement), year)
        return pictures.render_series(data, fmt), publication
    code = _departement(departement) if name == "departement" else None
    found = map_data(service, as_of, year or default_year(as_of), code, territory)
    return pictures.render_map(found, fmt), publication
