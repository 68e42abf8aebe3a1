"""Generated reports, stored with their bytes and SHA-256 in the events' own database.

Table ``reports`` (SQLite and PostgreSQL alike): ``report_id`` (a UUID derived from kind,
aire, period, format and revision, so that a report has the same id wherever it is built),
``kind``, ``aire_id`` (empty for the operator-wide summary), ``collectivite_id``,
``sector``, ``period``, ``format`` (pdf, xlsx, csv), ``revision`` (1, then 2... when a report
is built again with ``--force``, or built final once its provisional months are sealed),
``generated_at`` (UTC ISO text), ``software_version``,
``sha256``, ``size``, ``filename``, ``media_type`` and ``content`` (the file).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from hacienda_ledger.aggregates.errors import ReportNotFound
from hacienda_ledger.projections.store import ProjectionDatabase

COLUMNS = (
    "report_id",
    "kind",
    "aire_id",
    "collectivite_id",
    "sector",
    "period",
    "format",
    "revision",
    "generated_at",
    "software_version",
    "sha256",
    "size",
    "filename",
    "media_type",
)
NAMESPACE = uuid5(NAMESPACE_URL, "https://hacienda-ledger.fr/reports")


@dataclass(frozen=True)
class StoredReport:
    report_id: str
    kind: str
    aire_id: str
    collectivite_id: str
    sector: str
    period: str
    format: str
    revision: int
    generated_at: str
    software_version: str
    sha256: str
    size: int
    filename: str
    media_type: str

    @property
    def provisional(self) -> bool:
        """Built while a month it covers was not sealed: its file name says so
        (``-PROVISOIRE``), the one place the store records it."""
        return "-PROVISOIRE" in self.filename


def report_id(kind: str, aire_id: str, period: str, fmt: str, revision: int) -> str:
    return str(uuid5(NAMESPACE, f"{kind}/{aire_id or 'operator'}/{period}/{fmt}/{revision}"))


class ReportStore:
    def __init__(self, db: ProjectionDatabase) -> None:
        self.db = db
        blob = "BLOB" if db.dialect == "sqlite" else "BYTEA"
        with db.transaction() as cur:
            db.lock_schema(cur)
            cur.execute(
                "CREATE TABLE IF NOT EXISTS reports (report_id TEXT PRIMARY KEY, "
                "kind TEXT NOT NULL, aire_id TEXT NOT NULL, collectivite_id TEXT NOT NULL, "
                "sector TEXT NOT NULL, period TEXT NOT NULL, format TEXT NOT NULL, "
                "revision INTEGER NOT NULL, generated_at TEXT NOT NULL, "
                "software_version TEXT NOT NULL, sha256 TEXT NOT NULL, size INTEGER NOT NULL, "
                f"filename TEXT NOT NULL, media_type TEXT NOT NULL, content {blob} NOT NULL, "
                "UNIQUE (kind, aire_id, period, format, revision))"
            )

    def latest(self, kind: str, aire_id: str, period: str, fmt: str) -> StoredReport | None:
        """The last revision stored of one report file (None: never built)."""
        m = self.db.mark
        with self.db.transaction() as cur:
            cur.execute(
                f"SELECT {', '.join(COLUMNS)} FROM reports WHERE kind = {m} AND aire_id = {m} "
                f"AND period = {m} AND format = {m} ORDER BY revision DESC LIMIT 1",
                [kind, aire_id, period, fmt],
            )
            row = cur.fetchone()
        return _report(row) if row else None

    def add(self, report: StoredReport, content: bytes) -> StoredReport | None:
        """Store a report file; None when that revision is already stored (another process,
        such as a second API worker, built it first)."""
        values = [getattr(report, c) for c in COLUMNS]
        marks = ", ".join(self.db.mark for _ in range(len(COLUMNS) + 1))
        with self.db.transaction() as cur:
            cur.execute(
                f"INSERT INTO reports ({', '.join(COLUMNS)}, content) VALUES ({marks}) "
                "ON CONFLICT DO NOTHING",
                [*values, content],
            )
            inserted = cur.rowcount == 1
        return report if inserted else None

    def list(
        self,
        *,
        kind: str | None = None,
        aire_id: str | None = None,
        period: str | None = None,
    ) -> list[StoredReport]:
        conditions, params = [], []
        for column, value in (("kind", kind), ("aire_id", aire_id), ("period", period)):
            if value is not None:
                conditions.append(f"{column} = {self.db.mark}")
                params.append(value)
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        with self.db.transaction() as cur:
            cur.execute(
                f"SELECT {', '.join(COLUMNS)} FROM reports{where} "
                "ORDER BY period, kind, aire_id, format, revision",
                params,
            )
            return [_report(row) for row in cur.fetchall()]

    def get(self, report_id: str) -> tuple[StoredReport, bytes]:
        with self.db.transaction() as cur:
            cur.execute(
                f"SELECT {', '.join(COLUMNS)}, content FROM reports "
                f"WHERE report_id = {self.db.mark}",
                [report_id],
            )
            row = cur.fetchone()
        if row is None:
            raise ReportNotFound(f"no report {report_id}")
        return _report(row[: len(COLUMNS)]), bytes(row[len(COLUMNS)])


def _report(row: Any) -> StoredReport:
    values = dict(zip(COLUMNS, row, strict=True))
    values["revision"] = int(values["revision"])
    values["size"] = int(values["size"])
    return StoredReport(**values)


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def valid_id(text: str) -> str:
    """A report id is a UUID (anything else is not found)."""
    try:
        return str(UUID(text))
    except ValueError:
        raise ReportNotFound(f"no report {text}") from None
