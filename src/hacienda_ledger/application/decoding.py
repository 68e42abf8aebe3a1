"""Stored events to domain events without the json module's object hook.

The library's mapper decodes a stored state with ``json`` and an object hook called for every
JSON object, then builds the event. Rebuilding the projections decodes every event of the
stream, and that path was a quarter of it. ``EventDecoder`` does what the mapper does, step
for step, with orjson as the parser: the state is parsed, every object found is turned into
a value by the transcoder's own transcodings (innermost first, as the object hook sees them),
and the event is built as the library builds it (``object.__new__`` and its ``__dict__``).

It only does so where nothing but the transcoder applies. The library's mapper decodes the
row instead when:

- the mapper has a cipher or a compressor (the state is not plain JSON);
- the row's ``class_version`` is not the class's own (an upcaster would run);
- the class has ``personal_fields`` (household events: sealed fields are opened with the
  household's key, or read as erased, by ``SealingMapper``);
- anything at all goes wrong on the way (bytes orjson refuses, an unknown ``_type_``, a value
  type that refuses its fields): the mapper then decodes it, or raises what it raises;
- orjson reads a number as a float of 2^63 or more (an integer past 64 bits is a float to
  orjson, a rounded one: an amount of 10^26 cents read 100000000000000004764729344). The
  json module reads such an integer exactly; a float never touches money.

Tests decode every stored event kind and a generated world both ways and compare.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from eventsourcing.persistence import (
    DecimalAsStr,
    JSONTranscoder,
    Mapper,
    UUIDAsHex,
    find_id_convertor,
)
from eventsourcing.utils import resolve_topic

from hacienda_ledger.application.sealing import SealingMapper
from hacienda_ledger.application.transcodings import DateAsISO

KEPT_VALUES = 65_536  # values kept by text, per transcoding (then forgotten, and kept anew)
_IMMUTABLE_FROM_TEXT = (UUIDAsHex, DecimalAsStr, DateAsISO)  # transcodings of immutable values

_Plan = tuple[type, int, Callable[[Any], Any]] | None  # class, class_version, id convertor
#: From here on orjson may have read an integer as a float: the mapper decodes the row.
_EXACT = float(2**63)


class _Inexact(Exception):
    """A number orjson may have rounded (see the module)."""


class EventDecoder:
    """``decoder(stored)`` equals ``mapper.to_domain_event(stored)``, faster where it may."""

    def __init__(self, mapper: Mapper[Any]) -> None:
        self.mapper = mapper
        transcoder = mapper.transcoder
        self.direct = (
            type(mapper) in (Mapper, SealingMapper)
            and isinstance(transcoder, JSONTranscoder)
            and not mapper.cipher
            and not mapper.compressor
        )
        names = transcoder.names if isinstance(transcoder, JSONTranscoder) else {}
        self._decoders: dict[str, Callable[[Any], Any]] = {
            name: transcoding.decode for name, transcoding in names.items()
        }
        self._plans: dict[tuple[str, type], _Plan] = {}
        self._kept: dict[str, dict[str, Any]] = {
            name: {} for name, t in names.items() if type(t) in _IMMUTABLE_FROM_TEXT
        }

    def __call__(self, stored: Any) -> Any:
        if self.direct:
            event = self._direct(stored)
            if event is not None:
                return event
        return self.mapper.to_domain_event(stored)

    def _plan(self, topic: str, id_type: type) -> _Plan:
        """How to build events of a topic, or None where the mapper must (see the module)."""
        key = (topic, id_type)
        if key not in self._plans:
            plan: _Plan = None
            try:
                cls = resolve_topic(topic)
                if not getattr(cls, "personal_fields", ()):
                    plan = (cls, getattr(cls, "class_version", 1), find_id_convertor(cls, id_type))
            except Exception:  # the mapper raises what it raises for this topic
                plan = None
            self._plans[key] = plan
        return self._plans[key]

    def _direct(self, stored: Any) -> Any:
        """The event, or None when the mapper must decode this row."""
        plan = self._plan(stored.topic, type(stored.originator_id))
        if plan is None:
            return None
        cls, class_version, id_convertor = plan
        try:
            state = orjson.loads(stored.state)
            if type(state) is not dict:
                return None
            state = self._object(state)
            if type(state) is not dict or state.pop("class_version", 1) != class_version:
                return None
            state["originator_id"] = id_convertor(stored.originator_id)
        except Exception:  # the mapper decodes it, or raises what it raises
            return None
        state["originator_version"] = stored.originator_version
        event: Any = object.__new__(cls)
        object.__setattr__(event, "__dict__", state)
        return event

    def _object(self, obj: dict[str, Any]) -> Any:
        """What the transcoder's object hook makes of a parsed JSON object (and of every
        object and array inside it, innermost first). A wrapped value written as text (the
        most frequent: ids, times, dates, decimals) is decoded in place, without a call."""
        if len(obj) == 2 and "_type_" in obj and "_data_" in obj:
            return self._wrapped(obj["_type_"], obj["_data_"])
        for key, value in obj.items():
            kind = type(value)
            if kind is dict:
                if len(value) == 2 and "_type_" in value and "_data_" in value:
                    name, data = value["_type_"], value["_data_"]
                    if type(data) is str:
                        cache = self._kept.get(name)
                        if cache is None:
                            obj[key] = self._decoders[name](data)
                            continue
                        found = cache.get(data)
                        if found is None:
                            found = self._wrapped(name, data)
                        obj[key] = found
                        continue
                    obj[key] = self._wrapped(name, data)
                else:
                    obj[key] = self._object(value)
            elif kind is list:
                obj[key] = self._array(value)
            elif kind is float and not -_EXACT < value < _EXACT:
                raise _Inexact(key)
        return obj

    def _wrapped(self, name: str, data: Any) -> Any:
        """A ``{"_type_": name, "_data_": data}`` object's value: its data decoded first (it
        may hold objects), then the transcoding of that name. Immutable values written as
        text (UUIDs, dates, decimals) are kept by text: a stream repeats them (an aire's
        id, a stay's, a tariff's prices), and one instance serves every event."""
        kind = type(data)
        if kind is str:
            cache = self._kept.get(name)
            if cache is not None:
                value = cache.get(data)
                if value is None:
                    if len(cache) >= KEPT_VALUES:
                        cache.clear()
                    value = cache[data] = self._decoders[name](data)
                return value
        elif kind is dict:
            data = self._object(data)
        elif kind is list:
            data = self._array(data)
        return self._decoders[name](data)

    def _array(self, array: list[Any]) -> list[Any]:
        for i, value in enumerate(array):
            kind = type(value)
            if kind is dict:
                array[i] = self._object(value)
            elif kind is list:
                array[i] = self._array(value)
            elif kind is float and not -_EXACT < value < _EXACT:
                raise _Inexact(i)
        return array
