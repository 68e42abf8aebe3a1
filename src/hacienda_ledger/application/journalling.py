"""What the ledger records in its technical journal (``journal.py``), and when.

- **Changes**, in the change's own transaction: ``for_events`` turns the events of a save
  into entries (a user created, a token created, a household's key taken into use with its
  first event, an erasure, a month sealed), which the recorder appends with the events
  (``Ledger._record``); a key destroyed is recorded in the transaction that destroys it
  (``key_destroyed``).
- **Reads that record** (exports, downloads) and **starts and rebuilds**, on their own
  (``read``, ``Journal.record``).
- **Refused logins** (no token, unknown token), **coalesced** so that an attacker cannot
  bloat the journal: refusals are counted in memory, and at most one entry per process per
  ``REFUSALS_WINDOW`` is written, with the counts since the one before (``refused_login``);
  what is counted when the process stops is written then (``flush``). Neither the token
  nor the caller's address is recorded.
"""

from __future__ import annotations

import csv
import io
import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

from hacienda_ledger.aggregates.errors import UserNotFound
from hacienda_ledger.aggregates.household import Household
from hacienda_ledger.aggregates.seal import Seals
from hacienda_ledger.aggregates.user import ApiToken, User
from hacienda_ledger.aggregates.values import PARIS
from hacienda_ledger.application.access import Permission, authorize
from hacienda_ledger.application.journal import Entry, Kind, Pending, ids, utc_text

if TYPE_CHECKING:
    from hacienda_ledger.application.ledger import Ledger

REFUSALS_WINDOW = timedelta(minutes=1)
#: Reasons of an erasure recorded as they are; any other text (a CLI's ``--reason``) might
#: hold personal data and is recorded as ``other``.
ERASURE_REASONS = frozenset({"request", "retention"})


class Journalling:
    """The ledger's technical journal: entries for its changes, reads and refusals."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.journal = ledger.journal
        self._guard = threading.Lock()
        self._refused: Counter[str] = Counter()
        self._first_refused: datetime | None = None
        self._last_written: datetime | None = None

    # --- the collectivité an entry belongs to -------------------------------------------------

    def collectivite_of(self, subjects: Mapping[str, Any]) -> str | None:
        """The collectivité of the first subject that has one (None: operator-wide)."""
        access = self.ledger.access
        try:
            if "collectivite" in subjects:
                return str(subjects["collectivite"])
            if "aire" in subjects:
                return str(access.aire_scope(UUID(subjects["aire"])).collectivite_id)
            if "register" in subjects:
                aire_id = access.aire_of_register(UUID(subjects["register"]))
                return str(access.aire_scope(aire_id).collectivite_id)
            if "household" in subjects:
                return str(access.household_collectivite(UUID(subjects["household"])))
            if "aires" in subjects:
                found = {access.aire_scope(UUID(a)).collectivite_id for a in subjects["aires"]}
                return str(found.pop()) if len(found) == 1 else None
        except Exception:  # a subject that no longer resolves: the entry is operator-wide
            return None
        return None

    def _pending(self, kind: Kind, actor: str, subjects: dict[str, Any], **detail: Any) -> Pending:
        return self.journal.entry(
            kind,
            actor=actor,
            subjects=subjects,
            detail=detail,
            collectivite_id=self.collectivite_of(subjects),
        )

    # --- changes ------------------------------------------------------------------------------

    def for_events(self, events: Sequence[Any]) -> list[Pending]:
        """The entries a save of these events records, in their order."""
        found: list[Pending] = []
        users: dict[UUID, str | None] = {}
        for e in events:
            if isinstance(e, User.Created):
                subjects = ids({"user": e.originator_id, "aires": e.aire_ids or None})
                if e.collectivite_id is not None:
                    subjects["collectivite"] = str(e.collectivite_id)
                entry = self._pending(
                    Kind.USER_CREATED, e.actor, subjects, role=e.role, sectors=list(e.sectors)
                )
                users[e.originator_id] = entry.collectivite_id
                found.append(entry)
            elif isinstance(e, ApiToken.Issued):
                found.append(self._token(e, users))
            elif isinstance(e, ApiToken.Revoked | ApiToken.Rotated):
                found.append(self._token_ended(e))
            elif isinstance(e, Household.Registered):
                subjects = ids({"household": e.originator_id, "aire": e.aire_id})
                found.append(self._pending(Kind.KEY_CREATED, e.actor, subjects))
            elif isinstance(e, Household.PersonalDataErased):
                reason = e.reason if e.reason in ERASURE_REASONS else "other"
                subjects = ids({"household": e.originator_id})
                found.append(self._pending(Kind.ERASURE, e.actor, subjects, reason=reason))
            elif isinstance(e, Seals.MonthSealed):
                aire_id = next(h.aggregate_id for h in e.heads if h.kind == "aire")
                subjects = ids({"aire": aire_id})
                found.append(
                    self._pending(
                        Kind.MONTH_SEALED, e.actor, subjects, month=e.month, seal_hash=e.hash
                    )
                )
        return found

    def _token(self, e: ApiToken.Issued, users: Mapping[UUID, str | None]) -> Pending:
        """A token created: its user, and the token's id (a hash of a hash of the secret:
        what revocation names), never the token."""
        if e.user_id in users:
            collectivite = users[e.user_id]
        else:
            collectivite = self._users_collectivite(e.user_id)
        return self.journal.entry(
            Kind.TOKEN_CREATED,
            actor=e.actor,
            subjects=ids({"user": e.user_id, "token": e.originator_id}),
            collectivite_id=collectivite,
        )

    def _token_ended(self, e: ApiToken.Revoked | ApiToken.Rotated) -> Pending:
        """A token revoked, or rotated (its successor named, and when it is refused)."""
        token = self.ledger.tokens.token(e.originator_id)
        collectivite = self._users_collectivite(token.user_id)
        subjects = ids({"user": token.user_id, "token": e.originator_id})
        if isinstance(e, ApiToken.Rotated):
            subjects["successor"] = str(e.successor_id)
            return self.journal.entry(
                Kind.TOKEN_ROTATED,
                actor=e.actor,
                subjects=subjects,
                collectivite_id=collectivite,
                detail={"refused_from": utc_text(e.effective_at)},
            )
        return self.journal.entry(
            Kind.TOKEN_REVOKED, actor=e.actor, subjects=subjects, collectivite_id=collectivite
        )

    def _users_collectivite(self, user_id: UUID) -> str | None:
        """The collectivité whose auditors read entries about this user, if any."""
        try:
            user = self.ledger.user(user_id)
        except UserNotFound:  # not stored (yet): no collectivité to name
            return None
        return self.collectivite_of(
            ids({"collectivite": user.collectivite_id, "aires": user.aire_ids})
        )

    def destroy_key(self, keys: Any, household_id: UUID, *, at: datetime, actor: str) -> bool:
        """Destroy a household's key (``KeyStore.destroy``) and record it: in the
        destruction's own transaction when the keys live with the events, else on its own
        once the key is gone (a key store apart, ``keys_url``, holds no journal)."""
        entry = self._pending(Kind.KEY_DESTROYED, actor, ids({"household": household_id}))
        if not self.ledger.settings.keys_apart:
            also = lambda cursor: self.journal.append(cursor, [entry])  # noqa: E731
            return bool(keys.destroy(household_id, at=at, actor=actor, also=also))
        destroyed = bool(keys.destroy(household_id, at=at, actor=actor))
        if destroyed:
            with self.journal.sql.cursor(commit=True) as cursor:
                self.journal.append(cursor, [entry])
        return destroyed

    # --- reads --------------------------------------------------------------------------------

    def read(
        self,
        actor: str,
        kind: Kind,
        subjects: Mapping[str, UUID | str | Iterable[UUID] | None],
        *,
        collectivites: set[UUID] | None = None,
        **detail: Any,
    ) -> Entry:
        """An export or a download, on its own (it changes nothing else). An export of a
        whole scope names no subject: it belongs to the user's collectivité when their scope
        lies in one (``collectivites``)."""
        given = ids(subjects)
        collectivite = self.collectivite_of(given)
        if collectivite is None and collectivites is not None and len(collectivites) == 1:
            collectivite = str(next(iter(collectivites)))
        return self.journal.record(
            kind, actor=actor, subjects=given, detail=detail, collectivite_id=collectivite
        )

    def exported(
        self,
        user: User,
        subjects: Mapping[str, UUID | str | None],
        *,
        table: str,
        format: str,
        rows: int | None,
        **more: Any,
    ) -> Entry:
        """An export: what was named (an aire, a register, a household…), the table, its
        format and row count."""
        return self.read(
            str(user.id),
            Kind.EXPORT,
            subjects,
            collectivites=self.ledger.access.collectivites_in_scope(user),
            table=table,
            format=format,
            rows=rows,
            **more,
        )

    def trail(
        self,
        user: User,
        *,
        after: int = 0,
        limit: int | None = None,
        kinds: Sequence[str] = (),
        start: date | None = None,
        end: date | None = None,
    ) -> list[Entry]:
        """The journal as the user may read it (``read_audit_trail``): every entry for an
        admin, those of their collectivité for an auditor; of ``kinds``, recorded from the
        Paris day ``start`` to the day ``end`` (included), after entry ``after``."""
        authorize(user, Permission.READ_AUDIT_TRAIL)
        return self.journal.entries(
            after=after,
            limit=limit,
            kinds=kinds,
            start=None if start is None else datetime.combine(start, time(), PARIS),
            end=None if end is None else datetime.combine(end + timedelta(days=1), time(), PARIS),
            collectivites=self.ledger.access.collectivites_in_scope(user),
        )

    # --- refused logins -----------------------------------------------------------------------

    def refused_login(self, reason: str) -> None:
        """Count a refusal; write the counts when none was written in the last window."""
        now = self.ledger.now()
        with self._guard:
            self._refused[reason] += 1
            self._first_refused = self._first_refused or now
            if self._last_written is not None and now - self._last_written < REFUSALS_WINDOW:
                return
            self._write_refusals(now)

    def flush(self) -> None:
        """Write the refusals counted since the last entry (the process stops)."""
        with self._guard:
            if self._refused:
                self._write_refusals(self.ledger.now())

    def _write_refusals(self, now: datetime) -> None:
        counts, first = dict(self._refused), self._first_refused
        self._refused.clear()
        self._first_refused = None
        self._last_written = now
        assert first is not None
        detail: dict[str, Any] = {"refusals": sum(counts.values()), "since": utc_text(first)}
        detail.update(sorted(counts.items()))
        self.journal.record(Kind.LOGIN_REFUSED, detail=detail)


def csv_rows(content: bytes) -> int:
    """The data rows of a CSV export (its header left out): what an export entry counts."""
    text = content.decode("utf-8-sig", errors="replace")
    return max(sum(1 for _ in csv.reader(io.StringIO(text), delimiter=";")) - 1, 0)
