"""An aire's snapshot state, stored and restored (``Aire.Snapshot`` in ``aire.py``).

Stored: its team as pairs (a JSON object's keys are text, its members are user ids), its
mode as its value, its emplacements copied (the one mutable value an aire holds: a later
command must not reach a snapshot waiting to be stored), the ids it links as text (20 times
faster to decode than UUID objects). Restored as the events build them: sequences as
tuples, the team as a dict in the order assigned, the mode an enum, ids as UUIDs.

The state's version is ``Aire.class_version``: a snapshot of an older one, which does not
hold what only the aire's events give, is not used (``OutdatedSnapshot``): the aire is then
loaded from its events, and the next snapshot taken in the current shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any
from uuid import UUID, SafeUUID

from hacienda_ledger.aggregates.register import OutdatedSnapshot
from hacienda_ledger.aggregates.values import Mode


def before_last_stays(state: dict[str, Any]) -> None:
    """``Aire.upcast_v1_v2``: a v1 snapshot does not know which stay left each emplacement
    last (``Aire.last_stays``, v2): not used."""
    raise OutdatedSnapshot("an aire snapshot from before the emplacements' last stays")


def stored_state(aire: Any, state: dict[str, Any], id_tuples: Sequence[str]) -> None:
    """``state`` (the library's copy of the aire's attributes) made storable."""
    state["team"] = [[user_id, role] for user_id, role in aire.team.items()]
    state["mode"] = aire.mode.value
    state["emplacements"] = {k: replace(e) for k, e in aire.emplacements.items()}
    for name in id_tuples:
        state[name] = [i.hex for i in state[name]]


def restored(aire: Any, id_tuples: Sequence[str]) -> Any:
    """The aire the library rebuilt from a stored state, with its values as events build
    them."""
    attributes = vars(aire)
    team = {UUID(str(user_id)): role for user_id, role in attributes["team"]}
    for name, value in list(attributes.items()):
        if isinstance(value, list) and not name.startswith("_"):
            setattr(aire, name, tuple(value))
    aire.team = team
    aire.mode = Mode(aire.mode)
    for name in id_tuples:
        setattr(aire, name, tuple(map(_uuid, attributes[name])))
    return aire


def _uuid(hex_digits: str) -> UUID:
    """A UUID from the 32 hex digits ``UUID.hex`` wrote, without the constructor's parsing
    (a thousand of them is what an aire of a thousand interventions restores: 1 ms this way,
    10 to 30 through ``UUID(...)`` here)."""
    made = object.__new__(UUID)
    object.__setattr__(made, "int", int(hex_digits, 16))
    object.__setattr__(made, "is_safe", SafeUUID.unknown)
    return made
