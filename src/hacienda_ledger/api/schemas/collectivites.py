"""Bodies of ``/v1/collectivites``: the local authorities that own aires."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, Field

from hacienda_ledger.api.schemas.common import Body, Code, Email, Page, Phone, Text


class Contact(Body):
    name: Text
    role: Text
    email: Email
    phone: Phone


class CollectiviteCreate(Body):
    code: Code
    name: Text
    siren: Annotated[str, Field(pattern=r"^\d{9}$")]
    contacts: list[Contact] = []


class CollectivitePublic(BaseModel):
    id: UUID
    code: str
    name: str
    siren: str
    contacts: list[Contact]
    version: int
    position: int | None = None


class CollectivitesPublic(Page[CollectivitePublic]):
    pass
