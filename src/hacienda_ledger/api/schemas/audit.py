"""Bodies of the audit routes: a receipt as given to its payer, the technical journal."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from hacienda_ledger.api.schemas.common import Page
from hacienda_ledger.api.schemas.registers import ReceiptLinePublic


class PayerPublic(BaseModel):
    household_id: UUID
    name: str | None = Field(description="null once the household's personal data is erased")
    erased: bool


class ReceiptDocumentPublic(BaseModel):
    """A receipt (quittance) as given to the payer, naming the payer."""

    register_id: UUID
    number: int
    issued_at: datetime
    aire_id: UUID
    stay_id: UUID | None
    payer: PayerPublic | None
    method: str
    lines: list[ReceiptLinePublic]
    total_cents: int
    cancelled: bool
    cashier: str
    hash: str
    version: int


class AuditEntryPublic(BaseModel):
    """One entry of the technical journal (JET), with its hashes (docs/integrity.md)."""

    sequence: int = Field(description="1, 2, 3… with no gap")
    kind: str = Field(description="a kind of the closed list (docs/security.md)")
    actor: str = Field(description="a user id, or system, cli, bootstrap, retention")
    subjects: dict[str, str | list[str]] = Field(description="the ids the entry concerns")
    collectivite_id: str | None = Field(description="null: operator-wide (admins only)")
    detail: dict[str, Any] = Field(description="counts, codes and names; no personal data")
    at: datetime = Field(description="the server's clock, UTC")
    version: str = Field(description="the software version that recorded it")
    prev_hash: str
    hash: str


class AuditTrailPublic(Page[AuditEntryPublic]):
    pass
