"""Bodies of ``/v1/users`` and ``/v1/tokens``: a user, its tokens as listed (never a token
nor its digest), and a token shown once when it is created or rotated."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from hacienda_ledger.aggregates.user import Role
from hacienda_ledger.api.schemas.common import Body, Page, Text


def _when(roles: list[str], then: dict[str, Any]) -> dict[str, Any]:
    return {"if": {"required": ["role"], "properties": {"role": {"enum": roles}}}, "then": then}


#: The scope each role needs (``User.create``), said in the document.
SCOPES: dict[str, Any] = {
    "allOf": [
        _when(
            ["manager"],
            {
                "required": ["sectors", "collectivite_id"],
                "properties": {"sectors": {"minItems": 1}, "collectivite_id": {"type": "string"}},
            },
        ),
        _when(
            ["cashier", "regisseur"],
            {"required": ["aires"], "properties": {"aires": {"minItems": 1}}},
        ),
        _when(
            ["auditor"],
            {
                "required": ["collectivite_id"],
                "properties": {"collectivite_id": {"type": "string"}},
            },
        ),
    ]
}


class UserCreate(Body):
    model_config = ConfigDict(json_schema_extra=SCOPES)

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


class TokenPublic(BaseModel):
    """A bearer token as listed: its id (what revoking and rotating take), never the token
    nor its digest."""

    id: UUID
    user_id: UUID
    status: Literal["active", "expired", "revoked"] = Field(
        description="now: refused once expired or revoked (a rotated token: after its grace)"
    )
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None = Field(
        description="the last request it authenticated, to the minute (null: never used)"
    )
    revoked_at: datetime | None = Field(
        description="refused from then on (a rotated token: the end of its grace)"
    )
    replaces: UUID | None = Field(description="the token it was rotated from")
    successor_id: UUID | None = Field(description="the token it was rotated to")


class TokensPublic(Page[TokenPublic]):
    pass


class TokenRevokedPublic(BaseModel):
    token_id: UUID
    revoked_at: datetime
    version: int
    position: int


class TokenRotatedPublic(BaseModel):
    token_id: UUID = Field(description="the new token's id")
    token: str = Field(description="the new bearer token, shown once; only its hash is stored")
    expires_at: datetime
    replaces: UUID = Field(description="the old token's id")
    replaced_from: datetime = Field(
        description="the old token is refused from then on (the rotation's grace)"
    )
    version: int
    position: int
