"""Who did it, by name: the agent an event's ``actor`` names.

Through the API an event's actor is the acting user's id; what people read (a quittance, the
cash journal, the monthly register of cancellations) names the user instead. An actor that
is not a user's id (the CLI's, the demo's and the generator's names, such as
``cashier-anjou``) is printed as it was recorded. Users never change once created, so names
are remembered.
"""

from __future__ import annotations

from uuid import UUID

from hacienda_ledger.aggregates.errors import UserNotFound
from hacienda_ledger.application import Ledger


class Agents:
    """``name(actor)``: the user's name, or the actor as recorded."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._names: dict[str, str] = {}

    def name(self, actor: str | None) -> str:
        if not actor:
            return ""
        found = self._names.get(actor)
        if found is None:
            found = self._names[actor] = self._look_up(actor)
        return found

    def _look_up(self, actor: str) -> str:
        try:
            user_id = UUID(actor)
        except ValueError:
            return actor
        try:
            return self.ledger.user(user_id).name
        except UserNotFound:
            return actor
