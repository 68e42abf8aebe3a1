"""Bodies of ``/v1/collectivites``: the local authorities that own aires."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, Field

from hacienda_ledger.api.schemas.common import Body, Code, Email, Phone, Text


class ContactIn(Body):
    name: Text
    role: Text
    email: Email
    phone: Phone


class CollectiviteCreate(Body):
    code: Code
    name: Text
    siren: Annotated[str, Field(pattern=r"^\d{9}$")]
    contacts: list[ContactIn] = []


class CollectivitePublic(BaseModel):
    id: UUID
    code: str
    name: str
    siren: str
    contacts: list[ContactIn]
    version: int
    position: int | None = None
