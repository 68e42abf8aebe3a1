"""The stack's own limit: a bare FastAPI route doing one insert-and-commit per request.

Served by the same uvicorn settings as the ledger (one process, uvloop, httptools), it parses
a body of the receipt's shape with pydantic, inserts one row as large as a stored receipt
event into a plain table through a psycopg pool, commits, and answers a small JSON document.
``BENCH_BARE_URL`` names the database, ``BENCH_BARE_SIZE`` the row size in bytes.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import FastAPI, Header
from psycopg_pool import ConnectionPool
from pydantic import BaseModel, Field

URL = os.environ.get("BENCH_BARE_URL", "")
SIZE = int(os.environ.get("BENCH_BARE_SIZE", "600"))
PAYLOAD = b"x" * SIZE
pool = ConnectionPool(URL, min_size=8, max_size=16, open=False)


class Line(BaseModel):
    revenue_type: str
    amount_cents: int


class Body(BaseModel):
    stay_id: uuid.UUID | None = None
    method: str
    lines: Annotated[list[Line], Field(min_length=1)]


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    pool.open(wait=True)
    with pool.connection() as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS bare (id bigserial PRIMARY KEY, originator uuid, "
            "topic text, state bytea)"
        )
    yield
    pool.close()


app = FastAPI(lifespan=lifespan)


@app.get("/ready")
def ready() -> dict[str, str]:
    return {"status": "ready"}


@app.post("/v1/registers/{register_id}/receipts", status_code=201)
def post(
    register_id: uuid.UUID,
    body: Body,
    key: Annotated[str, Header(alias="Idempotency-Key")],
) -> dict[str, object]:
    with pool.connection() as conn:
        row = conn.execute(
            "INSERT INTO bare (originator, topic, state) VALUES (%s, %s, %s) RETURNING id",
            (register_id, key, PAYLOAD),
        ).fetchone()
    assert row is not None
    return {"register_id": register_id, "number": row[0], "method": body.method}
