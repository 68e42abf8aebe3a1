"""Exports benchmark: seconds to write a projection table of N rows as XLSX, against the CSV
of the same rows written in the same run.

    .venv/bin/python -m bench exports [--export-rows 50000] [--rounds 3]

The rows are the cash journal's (``cash_journal``, 22 columns: amounts, some negative,
days, numbers, texts), generated with a fixed seed; no database is involved, only the
export's writers (``reports.exports.to_xlsx`` and ``to_csv``; every XLSX and CSV of the
ledger goes through ``reports.sheets``). The XLSX is also written for a quarter of the rows:
in time linear in the rows, four times the rows take four times as long (the writer this
replaced looked up the sheet's last row for every cell: 50 s for 2,000 rows, see
docs/performance.md). Medians over the rounds.
"""

from __future__ import annotations

import random
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hacienda_ledger.projections.cash_journal import CashJournalProjection
from hacienda_ledger.reports.exports import to_csv, to_xlsx

TABLE = "cash_journal"
TARGET_SECONDS = 10.0  # for 50,000 rows (issue 16)


def journal_rows(count: int, seed: int = 7) -> tuple[list[str], list[dict[str, Any]]]:
    """``count`` cash-journal rows, as the projection returns them (texts, ints, dates)."""
    rng = random.Random(seed)
    columns = list(CashJournalProjection().table(TABLE).column_names)
    register = str(uuid.UUID(int=rng.getrandbits(128)))
    start = datetime(2025, 1, 6, 8, tzinfo=UTC)
    rows = []
    balance = 0
    for n in range(count):
        at = start + timedelta(minutes=7 * n)
        amount = rng.randrange(100, 30_000)
        balance += amount if n % 5 else -amount
        row: dict[str, Any] = dict.fromkeys(columns)
        row.update(
            register_id=register,
            version=n + 2,
            line=0,
            position=3 * n + 10,
            recorded_at=at.isoformat().replace("+00:00", "Z"),
            day=date(at.year, at.month, at.day),
            receipt_number=n + 1,
            kind="receipt" if n % 5 else "deposit_refund",
            revenue_type=rng.choice(["pitch_fee", "water", "electricity", "deposit"]),
            method=rng.choice(["cash", "cheque", "card", "transfer"]),
            amount_in_cents=amount if n % 5 else 0,
            amount_out_cents=0 if n % 5 else amount,
            cashier=str(uuid.UUID(int=rng.getrandbits(128))),
            perpetual_total_cents=balance,
            chain_hash=f"{rng.getrandbits(256):064x}",
        )
        for column in columns:
            if column.startswith("balance_"):
                row[column] = balance  # negative at times: amounts that stay numbers
        rows.append(row)
    return columns, rows


def _seconds(write: Callable[[], bytes], rounds: int) -> tuple[float, int]:
    times, size = [], 0
    for _ in range(rounds):
        started = time.perf_counter()
        size = len(write())
        times.append(time.perf_counter() - started)
    return statistics.median(times), size


def run(rows: int, rounds: int) -> list[str]:
    columns, data = journal_rows(rows)
    at = datetime.now(UTC)
    quarter = data[: rows // 4]
    csv_s, csv_size = _seconds(lambda: to_csv(TABLE, columns, data, at), rounds)
    xlsx_s, xlsx_size = _seconds(lambda: to_xlsx(TABLE, columns, data, at), rounds)
    small_s, _ = _seconds(lambda: to_xlsx(TABLE, columns, quarter, at), rounds)
    verdict = "met" if rows < 50_000 or xlsx_s < TARGET_SECONDS else "NOT met"
    return [
        f"exports benchmark, {at:%Y-%m-%d %H:%M} UTC, {TABLE}: {rows:,} rows x "
        f"{len(columns)} columns, medians of {rounds} rounds",
        f"  csv  (baseline)     {csv_s:7.2f} s   {rows / csv_s:9,.0f} rows/s   "
        f"{csv_size / 1e6:6.1f} MB",
        f"  xlsx                {xlsx_s:7.2f} s   {rows / xlsx_s:9,.0f} rows/s   "
        f"{xlsx_size / 1e6:6.1f} MB   ratio to csv {xlsx_s / csv_s:4.1f}   "
        f"target < {TARGET_SECONDS:.0f} s for 50,000 rows: {verdict}",
        f"  xlsx, {len(quarter):,} rows   {small_s:7.2f} s   "
        f"{len(quarter) / small_s:9,.0f} rows/s   "
        f"(4x the rows took {xlsx_s / small_s:.1f}x the time: linear is 4.0)",
    ]
