"""Wiring the projections to the ledger: their database, the event source, the followers.

Projection tables live in the events' own database (same SQLite file, same PostgreSQL
database), so a batch's rows and its tracking position commit together.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hacienda_ledger.application.ledger import Ledger
from hacienda_ledger.projections.balances import BalancesProjection
from hacienda_ledger.projections.base import Projection
from hacienda_ledger.projections.cash_journal import CashJournalProjection
from hacienda_ledger.projections.runner import Follower, Runner
from hacienda_ledger.projections.store import ProjectionDatabase


def all_projections() -> list[Projection]:
    return [BalancesProjection(), CashJournalProjection()]


class LedgerSource:
    """The ledger's notification log, as a follower reads it."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def select(self, start: int, limit: int, topics: Sequence[str]) -> Sequence[Any]:
        return self.ledger.recorder.select_notifications(start=start, limit=limit, topics=topics)

    def decode(self, notification: Any) -> Any:
        return self.ledger.mapper.to_domain_event(notification)

    def max_position(self) -> int:
        return self.ledger.last_position()


def projection_database(ledger: Ledger) -> ProjectionDatabase:
    settings = ledger.settings
    if settings.is_postgres:
        return ProjectionDatabase(conninfo=settings.postgres_conninfo)
    return ProjectionDatabase(sqlite_path=str(settings.sqlite_path))


def followers(ledger: Ledger, names: Sequence[str] = (), batch_size: int = 2000) -> list[Follower]:
    db = projection_database(ledger)
    source = LedgerSource(ledger)
    chosen = [p for p in all_projections() if not names or p.name in names]
    unknown = set(names) - {p.name for p in chosen}
    if unknown:
        raise KeyError(f"unknown projections: {', '.join(sorted(unknown))}")
    return [Follower(p, db, source, batch_size=batch_size) for p in chosen]


def runner(ledger: Ledger) -> Runner:
    return Runner(followers(ledger))
