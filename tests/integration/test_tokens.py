"""Bearer tokens through the application, on SQLite and PostgreSQL: expiry decided on the
injected clock (the day before, at, and after it), tokens issued before expiries were
recorded, revocation, rotation and its grace, the last use written at most once a minute.
Every refusal records nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent

from hacienda_ledger.aggregates.errors import (
    TokenAlreadyRevoked,
    TokenExpired,
    TokenNotFound,
    TokenRevoked,
    Unauthenticated,
)
from hacienda_ledger.aggregates.user import ApiToken, User
from hacienda_ledger.application import Ledger
from hacienda_ledger.application.tokens import TokenUses
from hacienda_ledger.settings import Settings
from tests.conftest import Clock

FIXTURE = Path(__file__).parents[1] / "fixtures/events-v1.jsonl"


def token_id(ledger: Ledger, secret: str) -> UUID:
    return ApiToken.id_for(ledger.token_digest(secret))


def new_user(ledger: Ledger, name: str = "Analyste") -> tuple[UUID, str]:
    outcome, secret = ledger.create_user(name=name, role="analyst", actor="admin")
    return outcome.aggregate_id, secret


def refused(ledger: Ledger, secret: str) -> str:
    """The code the token is refused with now (read from the store, not the cache)."""
    with pytest.raises(Unauthenticated) as caught:
        ledger.access.authenticate(secret)
    return caught.value.code


def test_a_token_is_refused_from_its_expiry_on(ledger: Ledger, clock: Clock) -> None:
    """Given a token issued at T with the default 90 days, when the clock stands the day
    before T+90 days, then it authenticates; at T+90 days and the day after, it is refused
    ``token_expired``, also by the cache that accepted it the day before (no IO there)."""
    issued_at = clock()
    user_id, secret = new_user(ledger)
    clock.now = issued_at + timedelta(days=89)
    assert ledger.access.authenticate(secret).id == user_id
    assert ledger.access.known_user(secret) is not None
    clock.now = issued_at + timedelta(days=90)
    assert ledger.access.known_user(secret) is None
    assert refused(ledger, secret) == "token_expired"
    clock.now = issued_at + timedelta(days=91)
    assert refused(ledger, secret) == "token_expired"
    (info,) = ledger.tokens.of_user(user_id)
    assert (info.created_at, info.expires_at) == (issued_at, issued_at + timedelta(days=90))
    assert info.status(clock()) == "expired"


def test_the_expiry_is_a_setting_recorded_when_the_token_is_issued(
    settings: Settings, clock: Clock
) -> None:
    """Given ``token_expiry_days`` 7, a token issued at T expires at T+7 days, and keeps that
    expiry when the setting changes afterwards (it is recorded in ``Issued``)."""
    short = Ledger(settings.model_copy(update={"token_expiry_days": 7}), clock=clock)
    try:
        _, secret = new_user(short)
    finally:
        short.close()
    longer = Ledger(settings.model_copy(update={"token_expiry_days": 30}), clock=clock)
    try:
        clock.advance(days=7, seconds=-1)
        longer.access.authenticate(secret)
        clock.advance(seconds=1)
        assert refused(longer, secret) == "token_expired"
    finally:
        longer.close()


def _stored_v1(topic_end: str) -> StoredEvent:
    (payload,) = [
        p
        for p in map(json.loads, FIXTURE.read_text(encoding="utf-8").splitlines())
        if p["topic"].endswith(topic_end) and "class_version" not in p["state"]
    ]
    return StoredEvent(
        originator_id=UUID(payload["originator_id"]),
        originator_version=payload["originator_version"],
        topic=payload["topic"],
        state=payload["state"].encode("utf-8"),
    )


@pytest.mark.parametrize("days", [90, 30])
def test_a_token_issued_before_expiries_expires_at_its_issue_plus_the_setting(
    settings: Settings, clock: Clock, days: int
) -> None:
    """Given a user and its token stored as version 1 (no expiry; the fixture's payloads,
    issued 10 January 2025 08:00 UTC for ``fixture-token``), when the setting says ``days``,
    then the token authenticates the day before its issue + ``days`` and is refused
    ``token_expired`` from then on: no stored event was rewritten."""
    ledger = Ledger(settings.model_copy(update={"token_expiry_days": days}), clock=clock)
    try:
        ledger.recorder.insert_events([_stored_v1("User.Created"), _stored_v1("ApiToken.Issued")])
        issued_at = datetime(2025, 1, 10, 8, tzinfo=UTC)
        token = ledger.tokens.token(token_id(ledger, "fixture-token"))
        assert token.expires_at is None
        clock.now = issued_at + timedelta(days=days - 1)
        assert ledger.access.authenticate("fixture-token").name == "Régisseuse suppléante"
        clock.now = issued_at + timedelta(days=days)
        assert refused(ledger, "fixture-token") == "token_expired"
        (info,) = ledger.tokens.of_user(token.user_id)
        assert info.expires_at == issued_at + timedelta(days=days)
    finally:
        ledger.close()


def test_a_revoked_token_is_refused_and_revoked_once(ledger: Ledger, clock: Clock) -> None:
    """Given a token used once, when it is revoked, then it is refused ``token_revoked``
    at once in this process (its cached authentication dropped); revoking it again is
    ``token_already_revoked`` and an unknown id ``token_not_found``, recording nothing."""
    user_id, secret = new_user(ledger)
    ledger.access.authenticate(secret)
    revoked = ledger.revoke_token(token_id(ledger, secret), actor="admin")
    assert revoked.result["revoked_at"] == clock()
    assert ledger.access.known_user(secret) is None
    assert refused(ledger, secret) == "token_revoked"
    before = ledger.last_position()
    with pytest.raises(TokenAlreadyRevoked):
        ledger.revoke_token(token_id(ledger, secret), actor="admin")
    with pytest.raises(TokenNotFound):
        ledger.revoke_token(UUID(int=1), actor="admin")
    assert ledger.last_position() == before
    (info,) = ledger.tokens.of_user(user_id)
    assert (info.revoked_at, info.status(clock())) == (clock(), "revoked")


def test_a_rotated_token_serves_through_its_grace_then_is_refused(
    ledger: Ledger, clock: Clock
) -> None:
    """Given a token, when it is rotated, then its successor authenticates (expiring 90
    days on), the old one still does until the grace (5 minutes) ends and is refused
    ``token_revoked`` from then; rotating it again is ``token_already_revoked``, recording
    nothing; the list links the two."""
    rotated_at = clock()
    user_id, old = new_user(ledger)
    outcome, new = ledger.rotate_token(token_id(ledger, old), actor="admin")
    assert ledger.access.authenticate(new).id == user_id
    clock.advance(minutes=5, seconds=-1)
    assert ledger.access.authenticate(old).id == user_id
    clock.advance(seconds=1)
    assert refused(ledger, old) == "token_revoked"
    assert ledger.access.authenticate(new).id == user_id
    before = ledger.last_position()
    with pytest.raises(TokenAlreadyRevoked):
        ledger.rotate_token(token_id(ledger, old), actor="admin")
    assert ledger.last_position() == before
    first, second = ledger.tokens.of_user(user_id)
    assert (first.id, second.id) == (token_id(ledger, old), outcome.aggregate_id)
    assert (first.successor_id, second.replaces) == (second.id, first.id)
    assert first.revoked_at == rotated_at + timedelta(minutes=5)
    assert second.expires_at == rotated_at + timedelta(days=90)


def test_a_token_rotated_without_grace_is_refused_at_once(settings: Settings, clock: Clock) -> None:
    """Given ``token_rotation_grace_seconds`` 0, a rotated token is refused at once."""
    ledger = Ledger(settings.model_copy(update={"token_rotation_grace_seconds": 0}), clock=clock)
    try:
        _, old = new_user(ledger)
        ledger.access.authenticate(old)
        ledger.rotate_token(token_id(ledger, old), actor="cli")
        assert refused(ledger, old) == "token_revoked"
    finally:
        ledger.close()


class CountingUses(TokenUses):
    """The real table, counting its writes."""

    def __init__(self, uses: TokenUses) -> None:
        super().__init__(uses.sql)
        self.writes = 0

    def record(self, token_id: UUID, at: datetime) -> None:
        self.writes += 1
        super().record(token_id, at)


def test_the_last_use_is_written_at_most_once_a_minute(ledger: Ledger, clock: Clock) -> None:
    """Given a token, when it authenticates requests for two minutes (a reload from the
    store every second, beyond the cache), then its last use is written three times (at
    0, 60 and 120 s), reads as the last of them, and a refused request writes none."""
    user_id, secret = new_user(ledger)
    uses = ledger.tokens.uses = CountingUses(ledger.tokens.uses)
    start = clock()
    for _ in range(121):
        ledger.access.authenticate(secret)
        clock.advance(seconds=1)
    assert uses.writes == 3
    (info,) = ledger.tokens.of_user(user_id)
    assert info.last_used_at == start + timedelta(seconds=120)
    ledger.revoke_token(token_id(ledger, secret), actor="admin")
    clock.advance(minutes=5)
    assert refused(ledger, secret) == "token_revoked"
    assert uses.writes == 3


def test_the_last_use_never_moves_back(ledger: Ledger, clock: Clock) -> None:
    """Two processes write the same token's last use out of order: the later time stays."""
    user_id, secret = new_user(ledger)
    uses, token = ledger.tokens.uses, token_id(ledger, secret)
    uses.record(token, clock() + timedelta(minutes=2))
    uses.record(token, clock() + timedelta(minutes=1))
    assert uses.of([token]) == {token: clock() + timedelta(minutes=2)}
    assert isinstance(ledger.user(user_id), User)


def test_an_unknown_token_is_not_an_expired_one(ledger: Ledger) -> None:
    """A token never issued is ``unauthenticated``, not ``token_expired``."""
    with pytest.raises(Unauthenticated) as caught:
        ledger.access.authenticate("never-issued")
    assert type(caught.value) is Unauthenticated
    assert not isinstance(caught.value, TokenExpired | TokenRevoked)
