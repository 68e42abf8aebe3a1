"""The analytics tables as files (issue 19): Parquet through pyarrow, one file per table
with typed columns (DuckDB and pandas read ``<table>.parquet`` as it is), or CSV with French
conventions (BOM, ``;``, decimal comma, every cell made safe for a spreadsheet)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from hacienda_ledger.projections.analytics_cells import COLUMNS, FLOW_COLUMNS, PLACE_COLUMNS
from hacienda_ledger.projections.base import Row
from hacienda_ledger.reports.french import csv_text, decimal_fr

FORMATS = ("parquet", "csv")
#: Decimal columns: (precision, scale) in Parquet, places in CSV.
DECIMALS = {
    "occupancy_rate": (9, 4),
    "revenue_per_occupied_place_day_cents": (18, 2),
    "latitude": (10, 6),
    "longitude": (10, 6),
}
TEXTS = {*PLACE_COLUMNS, "period", "suppressed", "from_code", "to_code"}


def columns_of(table: str) -> tuple[str, ...]:
    return FLOW_COLUMNS if table.startswith("flows_") else COLUMNS


def write(table: str, rows: Sequence[Row], directory: Path, fmt: str) -> Path:
    """``<directory>/<table>.<fmt>``, written whole (replacing one there)."""
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r}: one of {', '.join(FORMATS)}")
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{table}.{fmt}"
    columns = columns_of(table)
    if fmt == "csv":
        path.write_bytes(csv_text([[columns, *([_cell(c, r[c]) for c in columns] for r in rows)]]))
    else:
        _parquet(columns, rows, path)
    return path


def _cell(column: str, value: Any) -> Any:
    if isinstance(value, Decimal):
        return decimal_fr(value, DECIMALS[column][1])
    return "" if value is None else value


def _parquet(columns: Sequence[str], rows: Sequence[Row], path: Path) -> None:
    # only the export needs pyarrow: imported when it runs
    import pyarrow as pa
    import pyarrow.parquet as pq

    fields = []
    arrays = []
    for column in columns:
        values = [r[column] for r in rows]
        if column in DECIMALS:
            precision, scale = DECIMALS[column]
            kind = pa.decimal128(precision, scale)
            exponent = Decimal(1).scaleb(-scale)
            values = [None if v is None else Decimal(v).quantize(exponent) for v in values]
        elif column in TEXTS:
            kind = pa.string()
        else:
            kind = pa.int64()
        fields.append(pa.field(column, kind))
        arrays.append(pa.array(values, type=kind))
    pq.write_table(pa.Table.from_arrays(arrays, schema=pa.schema(fields)), path)
