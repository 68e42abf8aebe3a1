"""``hacienda-ledger analytics publish [--as-of DAY]`` and ``analytics export`` (issue 19):
the job that makes a stored publication, and the files of one (docs/analytics.md)."""

from __future__ import annotations

import argparse
from datetime import date, timedelta
from pathlib import Path

from hacienda_ledger.aggregates.errors import AnalyticsNotPublished
from hacienda_ledger.aggregates.values import paris_day
from hacienda_ledger.application import Ledger
from hacienda_ledger.application.analytics import Analytics, Publication
from hacienda_ledger.application.projecting import ProjectionQueries


def _said(publication: Publication) -> str:
    return (
        f"publication {publication.publication_id} as of {publication.as_of.isoformat()}, "
        f"stream position {publication.position:,}, threshold {publication.threshold}, "
        f"made {publication.published_at}: {publication.row_count:,} rows, "
        f"sha256 {publication.sha256}"
    )


def yesterday(ledger: Ledger) -> date:
    """The last day that is over (Paris): what a publication may be as of."""
    return paris_day(ledger.clock()) - timedelta(days=1)


def publish(ledger: Ledger, as_of: date | None) -> int:
    """Publish as of ``as_of`` (default: yesterday, Paris, the last day that is over); 0
    whether made now or already stored for that day, stream position and threshold."""
    analytics = Analytics(ProjectionQueries(ledger), ledger.settings.analytics_threshold)
    day = as_of or yesterday(ledger)
    publication, made = analytics.publish(day)
    print(f"{_said(publication)} ({'stored' if made else 'stored already: nothing computed'})")
    return 0


def export(ledger: Ledger, args: argparse.Namespace) -> int:
    """The tables chosen of the latest publication as of ``--as-of`` (default: the
    latest), one file each in ``--output``; with none stored yet, one published first."""
    analytics = Analytics(ProjectionQueries(ledger), ledger.settings.analytics_threshold)
    try:
        publication = analytics.latest(args.as_of)
    except AnalyticsNotPublished:
        publication = analytics.publish(args.as_of or yesterday(ledger))[0]
        print(f"none stored yet: {_said(publication)} (stored)")
    else:
        print(f"read {_said(publication)}")
    tables = analytics.store.tables(publication)
    chosen = [
        name
        for name in tables
        if (args.level is None or name.rsplit("_", 1)[0] == args.level)
        and (args.period is None or name.endswith(f"_{args.period}"))
    ]
    from hacienda_ledger.reports.analytics_export import write

    for name in chosen:
        path = write(name, tables[name], Path(args.output), args.format)
        print(f"{path}: {len(tables[name])} rows")
    return 0
