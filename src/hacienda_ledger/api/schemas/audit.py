"""Bodies of the audit routes: a receipt as given to its payer."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, Field

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
