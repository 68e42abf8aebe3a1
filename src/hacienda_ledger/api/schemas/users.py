"""Bodies of ``/v1/users``: a user, and the token shown once when it is created."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, Field

from hacienda_ledger.aggregates.user import Role
from hacienda_ledger.api.schemas.common import Body, Text


class UserCreate(Body):
    name: Text
    role: Role
    sectors: list[Text] = []
    aires: list[UUID] = []
    collectivite_id: UUID | None = None


class UserPublic(BaseModel):
    id: UUID
    name: str
    role: str
    sectors: list[str]
    aires: list[UUID]
    collectivite_id: UUID | None


class UserCreatedPublic(UserPublic):
    token: str = Field(description="the bearer token, shown once; only its hash is stored")
    version: int
    position: int
