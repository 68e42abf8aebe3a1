"""Chain links straight from stored bytes: verification without building domain objects.

``Ledger.verify_register`` used to decode every stored row with the transcoder (objects for
every UUID, datetime, Decimal and value type), re-encode it to compare with the stored bytes,
and walk the objects again for the canonical form. Here one row, read as a plain
``(version, topic, state)`` tuple (no ``StoredEvent``, no UUID object per row), is parsed
once with orjson and checked to be written back byte for byte. Only its containers are then
walked: each value the transcoder wrapped (``{"_type_": ..., "_data_": ...}``) is checked
to be exactly how the transcoder writes that value and replaced by what the canonical form
renders; plain strings, integers and the like are left where they are. One sorted orjson
dump of the result is the canonical form, and its SHA-256 must be the stored hash.
``vouched`` then gives ``(version, prev_hash, hash)``; when every row is vouched for and
they chain, ``integrity.intact_report`` gives verify_chain's report without a ``ChainLink``
per row.

Checking a wrapped text is the costly part of the walk, so texts found canonical once
(UUIDs, dates, decimals: registers repeat them) are remembered, and the usual timestamp
form is checked by one regular expression (agreeing with ``fromisoformat``/``isoformat``,
which check every other form).

Any row this cannot vouch for returns ``None`` and is verified the slow way, which names the
problem: bytes that are not the compact encoding, a wrapper it does not know or whose keys
are not in the transcoder's order, a value type whose fields are not exactly its dataclass
fields in order (or whose decoding is not plainly its fields: a ``__post_init__``), a value
not in the transcoder's own form, a float anywhere, a ``hash`` or ``prev_hash`` that is not
a string, a hash that does not match. So this path only ever vouches for intact rows; the
reports are the same either way (tests run both over every chained event kind, every
tampered byte, and rows forged to look intact to a careless reader).
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import orjson

from hacienda_ledger.aggregates.integrity import ChainLink
from hacienda_ledger.application.journal import report_lines
from hacienda_ledger.application.transcodings import VALUE_TYPES

if TYPE_CHECKING:
    from hacienda_ledger.application.ledger import Ledger

Row = tuple[int, str, bytes]
"""One stored event as verification reads it: ``(originator_version, topic, state)``."""

_HEX32 = re.compile(r"[0-9a-f]{32}")


def _pairs_of_text_and_count(data: dict[str, Any]) -> bool:
    children = data["children"]
    return type(children) is list and all(
        type(c) is list and len(c) == 2 and type(c[0]) is str and type(c[1]) is int
        for c in children
    )


def _arrays(*names: str) -> Callable[[dict[str, Any]], bool]:
    return lambda data: all(type(data[name]) is list for name in names)


#: Value types whose ``__post_init__`` only normalises what it is given (tuples of arrays;
#: for ``Composition``, ``str``/``int`` of each age band's pair), with the test that the
#: stored fields are already in that form: then decoding changes nothing, and the row is
#: vouched for like any other. Any other stored form goes the slow way, which names it.
_NORMALISED_WHEN: dict[str, Callable[[dict[str, Any]], bool]] = {
    "Composition": _pairs_of_text_and_count,
    "Tariff": _arrays("person_rates", "seasons", "duration_bands"),
}


def _decodes_to_its_fields(cls: type) -> bool:
    """The transcoder decodes a value type by calling it with the stored fields; only when
    nothing else runs (no ``__post_init__``, or one that ``_NORMALISED_WHEN`` checks; every
    field an init field) does decoding and re-encoding give back exactly the stored
    fields."""
    plain = not hasattr(cls, "__post_init__") or cls.__qualname__ in _NORMALISED_WHEN
    return plain and all(f.init for f in dataclasses.fields(cls))


# Value types this path unwraps, with their fields in the order the transcoder writes them.
_FIELDS = {
    cls.__qualname__: tuple(f.name for f in dataclasses.fields(cls))
    for cls in VALUE_TYPES
    if _decodes_to_its_fields(cls)
}


class _NotVouched(Exception):
    """This row needs the slow way."""


class _Vouched(dict[str, str]):
    """Scalar texts already found in the transcoder's own form, with their canonical text.

    Registers repeat the same aire, stays, households and days from row to row; checking
    each text once per process instead of once per row saves most of the walk. Bounded:
    emptied when it grows past ``limit``."""

    def __init__(self, render: Callable[[str], str], limit: int = 1 << 16) -> None:
        super().__init__()
        self.render, self.limit = render, limit

    def __missing__(self, data: str) -> str:
        text = self.render(data)  # raises _NotVouched for a text not in canonical form
        if len(self) >= self.limit:
            self.clear()
        self[data] = text
        return text


def _uuid(data: str) -> str:
    if not _HEX32.fullmatch(data):
        raise _NotVouched
    return f"{data[:8]}-{data[8:12]}-{data[12:16]}-{data[16:20]}-{data[20:]}"


# The forms datetime.isoformat() writes for an aware datetime with a whole-minute offset:
# time fields in range, microseconds only when not zero, "+00:00" never "-00:00". A text
# of this form whose date is valid is one fromisoformat() reads and isoformat() writes
# back unchanged; any other text gets the full check. ASCII digits only: fromisoformat()
# reads other decimal digits too, which isoformat() does not write.
_ISO_DATETIME = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2})T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
    r"(?:\.(?!000000)[0-9]{6})?(?:\+|-(?!00:00))(?:[01][0-9]|2[0-3]):[0-5][0-9]"
)


def _datetime(data: str) -> str:
    common = _ISO_DATETIME.fullmatch(data)
    if common is not None:
        _DATES[common[1]]  # raises _NotVouched for a date that does not exist
        return data
    try:
        value = datetime.fromisoformat(data)
    except ValueError:
        raise _NotVouched from None
    if value.tzinfo is None or value.isoformat() != data:
        raise _NotVouched
    return data


def _date(data: str) -> str:
    try:
        value = date.fromisoformat(data)
    except ValueError:
        raise _NotVouched from None
    if value.isoformat() != data:
        raise _NotVouched
    return data


def _decimal(data: str) -> str:
    try:
        value = Decimal(data)
    except InvalidOperation:
        raise _NotVouched from None
    if str(value) != data:
        raise _NotVouched
    return data


# The transcoder's scalar wrappers: the canonical text of each vouched-for ``_data_``.
# Timestamps hardly ever repeat: those are checked every time.
_UUIDS, _DATES, _DECIMALS = _Vouched(_uuid), _Vouched(_date), _Vouched(_decimal)
_SCALARS: dict[str, Callable[[str], str]] = {
    "uuid_hex": _UUIDS.__getitem__,
    "datetime_iso": _datetime,
    "date_iso": _DATES.__getitem__,
    "decimal_str": _DECIMALS.__getitem__,
}


def _plain_dict(values: dict[str, Any]) -> dict[str, Any]:
    """A parsed JSON object, in place, as the canonical form renders it (see
    integrity.canonical_bytes): strings, integers, booleans and null stay as they are, so
    only containers are visited."""
    for key, value in values.items():
        kind = type(value)
        if kind is dict:
            values[key] = _unwrapped(value) if "_type_" in value else _plain_dict(value)
        elif kind is list:
            values[key] = _plain_list(value)
        elif kind is float:  # never in our events; canonical_bytes refuses them
            raise _NotVouched
    return values


def _plain_list(values: list[Any]) -> list[Any]:
    """A parsed JSON array, in place, as the canonical form renders it."""
    for i, value in enumerate(values):
        kind = type(value)
        if kind is dict:
            values[i] = _unwrapped(value) if "_type_" in value else _plain_dict(value)
        elif kind is list:
            values[i] = _plain_list(value)
        elif kind is float:
            raise _NotVouched
    return values


def _unwrapped(value: dict[str, Any]) -> Any:
    """A dict holding ``_type_``: the transcoder's wrapper when it has exactly the two keys
    (``vouched`` has checked that ``_type_`` comes first), else a plain dict."""
    if len(value) != 2 or "_data_" not in value:
        return _plain_dict(value)
    name, data = value["_type_"], value["_data_"]
    scalar = _SCALARS.get(name)
    if scalar is not None:
        if type(data) is not str:
            raise _NotVouched
        return scalar(data)
    if type(data) is not dict or tuple(data) != _FIELDS.get(name):
        raise _NotVouched  # an unknown name, or not exactly the type's fields in order
    normalised = _NORMALISED_WHEN.get(name)
    if normalised is not None and not normalised(data):
        raise _NotVouched  # its __post_init__ would change what is stored
    return _plain_dict(data)


def vouched(originator_id: str, row: Row) -> tuple[int, str, str] | None:
    """``(version, prev_hash, hash)`` of one intact stored row, its hash checked; None when
    only the slow way can tell.

    ``originator_id`` is the register's id as canonical text (``str(UUID)``). orjson parses
    and serialises (several times faster than the json module); the json module wrote the
    stored bytes and computed the hash, so wherever the two could differ the answer is None
    and the transcoder decides: bytes that are not what orjson writes back, and a hash that
    does not match. Hence this path only ever vouches for intact rows; every finding comes
    from the slow path, as before."""
    version, topic, data = row
    try:
        state = orjson.loads(data)
        # The transcoder writes "_type_" first: an object with it elsewhere goes the slow
        # way (inside a JSON string the quote would be escaped, so this cannot match text).
        if type(state) is not dict or b',"_type_":' in data or orjson.dumps(state) != data:
            return None
        stored_hash, prev_hash = state.get("hash"), state.get("prev_hash")
        if type(stored_hash) is not str or type(prev_hash) is not str:
            return None
        _plain_dict(state)
        del state["hash"]
        state.pop("class_version", None)
        state["originator_id"] = originator_id
        state["originator_version"] = version
        canonical = orjson.dumps({"topic": topic, "fields": state}, option=orjson.OPT_SORT_KEYS)
    except (_NotVouched, orjson.JSONEncodeError, ValueError, TypeError):
        return None
    if hashlib.sha256(canonical).hexdigest() != stored_hash:
        return None
    return version, prev_hash, stored_hash


def vouched_link(row: Row, hashes: tuple[int, str, str]) -> ChainLink:
    """The chain link of a row ``vouched`` for (its hash is the computed one)."""
    version, prev_hash, stored_hash = hashes
    return ChainLink(version, row[1], {"prev_hash": prev_hash}, stored_hash, True, stored_hash)


def fast_link(originator_id: str, row: Row) -> ChainLink | None:
    """The chain link of one intact stored row, or None when only the slow way can tell."""
    hashes = vouched(originator_id, row)
    return None if hashes is None else vouched_link(row, hashes)


class VerifiedPrefixes:
    """What this process has found intact, per register, to verify again faster.

    Verifying rows 1..n is a pure function of their stored bytes (and topics and versions).
    After a verification that found nothing, checkpoints are kept every ``interval`` events
    and at the end: the SHA-256 of the rows so far (a running digest of version, topic and
    stored bytes) and the chain hash there. The next verification computes the same running
    digest over the rows it reads (at the speed of hashing them) and, where it matches a
    checkpoint, takes that prefix as intact and decodes only the rows after it. A row changed
    in any way changes the digest, so the prefix stops before it and the change is found as
    before. A verification that finds a problem adds no checkpoint.
    """

    def __init__(self, interval: int = 1024) -> None:
        self.interval = interval
        self._checkpoints: dict[Any, list[tuple[int, bytes, str]]] = {}

    @staticmethod
    def _feed(digest: Any, row: Row) -> None:
        version, topic, state = row
        digest.update(b"%d:%d:%s:" % (version, len(state), topic.encode()))
        digest.update(state)

    def trusted(self, register_id: Any, rows: Sequence[Row]) -> tuple[int, tuple[int, str] | None]:
        """How many leading rows are known intact, and (version, hash) at the last of them."""
        checkpoints = self._checkpoints.get(register_id)
        if not checkpoints:
            return 0, None
        digest = hashlib.sha256()
        found: tuple[int, tuple[int, str] | None] = (0, None)
        points = iter(checkpoints)
        point = next(points, None)
        for i, row in enumerate(rows):
            if point is None:
                break
            self._feed(digest, row)
            if row[0] == point[0]:
                if digest.digest() != point[1] or i + 1 != point[0]:
                    break
                found = (i + 1, (point[0], point[2]))
                point = next(points, None)
        return found

    def remember(
        self, register_id: Any, rows: Sequence[Row], hashes: Sequence[str | None], skip: int
    ) -> None:
        """Keep checkpoints for rows that were all found intact (``hashes``: the stored
        hashes of rows[skip:])."""
        digest = hashlib.sha256()
        checkpoints: list[tuple[int, bytes, str]] = []
        for i, row in enumerate(rows):
            self._feed(digest, row)
            version = row[0]
            if version % self.interval and i + 1 != len(rows):
                continue
            chain_hash = hashes[i - skip] if i >= skip else self._hash_at(register_id, version)
            if chain_hash is None:
                return
            checkpoints.append((version, digest.digest(), chain_hash))
        previous = self._checkpoints.get(register_id, [])
        if not previous or checkpoints[-1][0] >= previous[-1][0]:
            self._checkpoints[register_id] = checkpoints

    def _hash_at(self, register_id: Any, version: int) -> str | None:
        for point in self._checkpoints.get(register_id, []):
            if point[0] == version:
                return point[2]
        return None


def verify_logs(ledger: Ledger) -> tuple[list[str], int]:
    """The technical journal's chain and the personal-data access log's (``journal.py``,
    ``access_log.py``): what ``verify`` prints of each, and how many are broken. Their tails
    are checked against the heads the month seals recorded (``Audit.verify_seals``)."""
    journal = ledger.journal.verify()
    rows, access = ledger.access_log.verify()
    lines = report_lines("technical journal", journal) + report_lines("access log", access, rows)
    return lines, (not journal.ok) + (not access.ok)
