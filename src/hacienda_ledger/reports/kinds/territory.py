"""The analytics pictures in the annual reports (issue 19, point 5), a section of their own
added after the report's others: the DSP report shows its aire's département (map and
months), the operator-wide ALT2 summary the map of France. Figures and pictures come from
the published (suppressed) analytics tables as of the year's last day: a cell below the
threshold is blank in the table and drawn as secret (docs/analytics.md#pictures). The
XLSX and CSV hold the section's table; the PDF the table and the pictures."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

from hacienda_ledger.application.analytics import Analytics
from hacienda_ledger.reports import pictures
from hacienda_ledger.reports.analytics_pictures import map_data, series_data
from hacienda_ledger.reports.french import MONTHS
from hacienda_ledger.reports.render import Picture, Report, Section
from hacienda_ledger.reports.tables import table

TITLE = "Territoire : occupation et demandes non satisfaites (données anonymisées)"
NOTE = (
    "Tables d'analyse publiées au {day} (seuil de secret : {threshold}) : une case vide est "
    "un secret statistique (moins de {threshold} ménages ou personnes, ou ce qui permettrait "
    "de les retrouver). Carte : départements teintés par les demandes non satisfaites de "
    "l'année, aires en points (surface selon les places, couleur selon le taux "
    "d'occupation ; sans couleur : taux secret)."
)


def _section(first: str, rows: list[tuple[Any, ...]], day: date, threshold: int) -> Section:
    return table(
        TITLE,
        f"{first}|text|60",
        "Taux d'occupation du département|rate",
        "Demandes non satisfaites|int",
        note=NOTE.format(day=f"{day:%d/%m/%Y}", threshold=threshold),
        sheet="Territoire",
    ).section(rows)


def with_departement(report: Report, analytics: Analytics, departement: str, year: int) -> Report:
    """``report`` with its aire's département: its months of ``year`` (a table), its map
    and its series (pictures under it in the PDF)."""
    if departement not in pictures.boundaries():
        return report
    day = analytics.last_day_of(year)
    analytics.ensure(day)  # a job: the year's publication, made now if none is stored
    series = series_data(analytics, day, departement, year)
    rows = [(MONTHS[int(m[5:7]) - 1], rate, unmet) for m, rate, unmet in series.months]
    section = _section("Mois", rows, day, analytics.threshold)
    drawn = (
        Picture(
            TITLE,
            pictures.render_map(map_data(analytics, day, year, departement), "png"),
            f"Les aires du département {departement} en {year}.",
        ),
        Picture(
            TITLE,
            pictures.render_series(series, "png"),
            f"Le département {departement}, mois par mois, en {year}.",
        ),
    )
    return dataclasses.replace(
        report,
        sections=(*report.sections, section),
        pictures=(*report.pictures, *drawn),
    )


def with_france(report: Report, analytics: Analytics, year: int) -> Report:
    """``report`` with the map of France of ``year`` (the départements' year in a table)."""
    day = analytics.last_day_of(year)
    analytics.ensure(day)  # a job: the year's publication, made now if none is stored
    found = map_data(analytics, day, year)
    rates = {
        str(r["code"]): r["occupancy_rate"]
        for r in analytics.table("departement_year", day, {"period": str(year)})
    }
    rows = [
        (f"{code} — {pictures.boundaries()[code][0]}", rates.get(code), found.unmet[code])
        for code in sorted(found.unmet)
    ]
    section = _section("Département", rows, day, analytics.threshold)
    drawn = Picture(
        TITLE,
        pictures.render_map(found, "png"),
        f"Les aires et les demandes non satisfaites en {year} (outre-mer à gauche).",
    )
    return dataclasses.replace(
        report, sections=(*report.sections, section), pictures=(*report.pictures, drawn)
    )
