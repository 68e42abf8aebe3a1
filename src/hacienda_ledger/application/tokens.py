"""Bearer tokens: who holds one, until when, and when it was last used.

**Authentication** (``Tokens.authenticate``) loads the token's aggregate (``ApiToken``, its id
derived from the token's SHA-256) and its user, and refuses a token unknown
(``unauthenticated``), past its expiry (``token_expired``) or revoked (``token_revoked``), all
decided on the ledger's clock. What it found is remembered for at most ``RECHECK`` (one
second of that clock): within it, ``known_user`` answers without IO (the hot path of every
request stays a dictionary lookup and a clock read), still refusing a token whose expiry or
known revocation has come; after it, the next request reloads the token *and its user* from
the store. A token revoked through another process is therefore refused here less than a
second after its ``Revoked`` event was recorded, and a user put in or out of an aire's team
there (``User.AireAssigned``, ``AireWithdrawn``) acts here with their new scope within the same
second, with no message between processes and no table polled. A user is never remembered
longer than the token that brought them: their scope is their events, and those change.

**Last use** is kept out of the event store: ``api_token_last_use`` holds one row per token,
written by this process at most once a ``LAST_USE_EVERY`` per token, when an authentication
reloads the token (an upsert that never moves a time backwards). A read never becomes an
event, and a busy token costs one small write a minute per process, not one per request.

**Issuing, revoking, rotating** are commands handled in ``handlers/users.py``, where their
events are made (a token is issued by ``issue_token`` alone, for ``CreateUser`` and
``RotateToken``). Every event the Ledger records passes once, after its save, through
``Tokens.recorded`` (``Ledger._notify``), whatever recorded it (the API, the CLI, a batch of
the pipeline): there a token revoked or rotated, and every token of a user whose scope
changed, is dropped from what this process remembers (so refused or re-scoped here at once),
and there a technical journal of "token issued / revoked / rotated" (``ApiToken.Issued``,
``Revoked``, ``Rotated``) would be hooked. A handler is not that place: it may run again
when the pipeline retries a write.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from uuid import UUID

from hacienda_ledger.aggregates.errors import TokenNotFound, Unauthenticated, UserNotFound
from hacienda_ledger.aggregates.user import ApiToken, User
from hacienda_ledger.application.sealing import SqlTable

if TYPE_CHECKING:
    from hacienda_ledger.application.ledger import Ledger

#: How long an authentication is trusted without reading the store again: the longest a
#: token revoked elsewhere can still be served by this process, and a user's scope changed
#: elsewhere still be the old one here.
RECHECK = timedelta(seconds=1)
#: The last use of a token is written at most this often per token and process.
LAST_USE_EVERY = timedelta(minutes=1)


def _instant(at: datetime) -> str:
    """UTC, always with microseconds: text order is time order."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


class TokenUses(SqlTable):
    """``api_token_last_use``: when each token last authenticated a request (to the minute)."""

    create_statement = (
        "CREATE TABLE IF NOT EXISTS api_token_last_use ("
        "token_id TEXT PRIMARY KEY, last_used_at TEXT NOT NULL)"
    )

    def record(self, token_id: UUID, at: datetime) -> None:
        self.sql.execute(
            "INSERT INTO api_token_last_use (token_id, last_used_at) VALUES (?, ?) "
            "ON CONFLICT (token_id) DO UPDATE SET last_used_at = excluded.last_used_at "
            "WHERE api_token_last_use.last_used_at < excluded.last_used_at",
            (str(token_id), _instant(at)),
        )

    def of(self, token_ids: Sequence[UUID]) -> dict[UUID, datetime]:
        if not token_ids:
            return {}
        marks = ", ".join("?" for _ in token_ids)
        rows = self.sql.rows(
            f"SELECT token_id, last_used_at FROM api_token_last_use WHERE token_id IN ({marks})",
            [str(t) for t in token_ids],
        )
        return {UUID(r["token_id"]): datetime.fromisoformat(r["last_used_at"]) for r in rows}


@dataclass(frozen=True)
class _Known:
    """A token authenticated here: until when it may be served without reading the store."""

    user: User
    token_id: UUID
    checked_at: datetime
    # a second later, or its expiry or known revocation if that comes first
    served_until: datetime
    use_recorded_at: datetime


@dataclass(frozen=True)
class TokenInfo:
    """A token as listed: never the token, nor its digest."""

    id: UUID
    user_id: UUID
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    replaces: UUID | None
    successor_id: UUID | None

    def status(self, now: datetime) -> str:
        if self.revoked_at is not None and now >= self.revoked_at:
            return "revoked"
        if now >= self.expires_at:
            return "expired"
        return "active"


class Tokens:
    """Authentication with its one-second cache, last uses, and the tokens of a user."""

    def __init__(self, ledger: Ledger, uses: TokenUses) -> None:
        self.ledger = ledger
        self.uses = uses
        self._known: dict[str, _Known] = {}

    @property
    def lifetime(self) -> timedelta:
        return timedelta(days=self.ledger.settings.token_expiry_days)

    def known_user(self, token: str) -> User | None:
        """The user of a token authenticated here less than ``RECHECK`` ago and not refused
        since (no IO), else None: ``authenticate`` decides."""
        known = self._known.get(self.ledger.token_digest(token))
        if known is None:
            return None
        if known.checked_at <= self.ledger.now() < known.served_until:
            return known.user
        return None

    def authenticate(self, token: str) -> User:
        """The user holding this bearer token, read from the store; ``Unauthenticated`` (or
        its ``TokenExpired``, ``TokenRevoked``) when it is refused."""
        digest = self.ledger.token_digest(token)
        now = self.ledger.now()
        try:
            issued = self.ledger.load(ApiToken, ApiToken.id_for(digest), TokenNotFound)
            user = self.user(issued.user_id)
            issued.check(now, self.lifetime)
        except (TokenNotFound, UserNotFound):
            self._known.pop(digest, None)
            self.ledger.journalling.refused_login("unknown_token")  # coalesced, no token
            raise Unauthenticated("unknown bearer token") from None
        except Unauthenticated as exc:  # expired or revoked
            self._known.pop(digest, None)
            self.ledger.journalling.refused_login(exc.code)
            raise
        known = self._known.get(digest)
        recorded = known.use_recorded_at if known is not None else None
        if recorded is None or not recorded <= now < recorded + LAST_USE_EVERY:
            self.uses.record(issued.id, now)
            recorded = now
        ends = [now + RECHECK, issued.expiry(self.lifetime)]
        ends += [issued.revoked_at] if issued.revoked_at else []
        self._known[digest] = _Known(user, issued.id, now, min(ends), recorded)
        return user

    def recorded(self, events: Iterable[object]) -> None:
        """Events this process just recorded: a token revoked or rotated among them, and
        every token of a user with an event among them (a team joined or left: their scope),
        is read from the store with its user at its next use here (refused or re-scoped at
        once, not within the second)."""
        tokens: set[UUID] = set()
        users: set[UUID] = set()
        for e in events:
            if isinstance(e, ApiToken.Revoked | ApiToken.Rotated):
                tokens.add(e.originator_id)
            elif isinstance(e, User.Event) and not isinstance(e, User.Created):
                users.add(e.originator_id)
        if tokens or users:
            for digest, known in list(self._known.items()):
                if known.token_id in tokens or known.user.id in users:
                    self._known.pop(digest, None)

    def user(self, user_id: UUID) -> User:
        """The user as stored now (``UserNotFound``): never remembered, their scope changes."""
        return self.ledger.user(user_id)

    def token(self, token_id: UUID) -> ApiToken:
        return self.ledger.load(ApiToken, token_id, TokenNotFound)

    def ids_of_user(self, user_id: UUID) -> list[UUID]:
        """The ids of every token issued for the user, in issue order (the issue events
        read from the stream, filtered by user: no token is loaded)."""
        found: list[UUID] = []
        recorder, mapper = self.ledger.recorder, self.ledger.mapper
        topic = f"{ApiToken.Issued.__module__}:{ApiToken.Issued.__qualname__}"
        start = 1
        while batch := recorder.select_notifications(start=start, limit=500, topics=[topic]):
            for notification in batch:
                event = mapper.to_domain_event(notification)
                if isinstance(event, ApiToken.Issued) and event.user_id == user_id:
                    found.append(event.originator_id)
            start = batch[-1].id + 1
        return found

    def of_user(self, user_id: UUID) -> list[TokenInfo]:
        """Every token of the user (``UserNotFound`` for an unknown user), oldest first,
        with its last use."""
        self.user(user_id)
        return self.infos(self.ids_of_user(user_id))

    def infos(self, token_ids: Iterable[UUID]) -> list[TokenInfo]:
        tokens = [self.token(t) for t in token_ids]
        used = self.uses.of([t.id for t in tokens])
        return [
            TokenInfo(
                id=t.id,
                user_id=t.user_id,
                created_at=t.issued_at,
                expires_at=t.expiry(self.lifetime),
                last_used_at=used.get(t.id),
                revoked_at=t.revoked_at,
                replaces=t.replaces,
                successor_id=t.successor_id,
            )
            for t in tokens
        ]
