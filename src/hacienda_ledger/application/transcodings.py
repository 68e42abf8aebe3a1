"""Transcodings for the value types stored in events and snapshots.

The JSON transcoder matches types exactly; every value type that events or snapshots hold is
registered here. Sequences decode back to tuples, as the value types declare them.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

from eventsourcing.persistence import JSONTranscoder, Transcoding

from hacienda_ledger.aggregates.aire import Closure, Emplacement, OutOfService, Regularisation
from hacienda_ledger.aggregates.collectivite import Contact
from hacienda_ledger.aggregates.household import ContactDetails, Fleet, Member, Profile
from hacienda_ledger.aggregates.register import (
    Cheque,
    Denomination,
    OpenReceipt,
    ReceiptLine,
    SlipLine,
)
from hacienda_ledger.aggregates.register_rules import RegieRules
from hacienda_ledger.aggregates.seal import ChainHead
from hacienda_ledger.aggregates.settlement import Allocation
from hacienda_ledger.aggregates.stay import Extension, MeterReading
from hacienda_ledger.aggregates.values import (
    ChargeLine,
    Composition,
    DurationBand,
    PersonRate,
    SeasonalRate,
    Tariff,
    Totals,
)

VALUE_TYPES: tuple[type, ...] = (
    Allocation,
    ChainHead,
    Regularisation,
    Closure,
    Contact,
    Emplacement,
    OutOfService,
    OpenReceipt,
    ReceiptLine,
    RegieRules,  # register snapshots only
    Cheque,
    SlipLine,
    Denomination,
    Extension,
    MeterReading,
    ChargeLine,
    Composition,
    DurationBand,
    PersonRate,
    SeasonalRate,
    Tariff,
    Totals,
    # household values: only ever stored inside a sealed field (see sealing.py)
    ContactDetails,
    Fleet,
    Member,
    Profile,
)


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


def _tuples(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    return value


class DataclassAsDict(Transcoding):
    """A dataclass as the dict of its fields (nested values are transcoded in turn).

    Decoding a value type with no ``__post_init__`` (a charge line, a receipt line, a meter
    reading...) sets its fields as its generated ``__init__`` would — each field to the
    value given, nothing else — without calling it: every stored event of a rebuild holds
    such values, and the call with keyword arguments was most of their decoding (measured:
    1.3 against 0.3 µs a charge line). Types that check or normalise their fields in
    ``__post_init__`` (tariffs, compositions, household values), and data whose keys are
    not exactly the fields, go through the constructor."""

    def __init__(self, cls: type) -> None:
        self.type = cls
        self.name = cls.__qualname__
        fields = dataclasses.fields(cls)
        self._names = tuple(f.name for f in fields)
        self._fields = frozenset(self._names)
        self.plain = (
            not hasattr(cls, "__post_init__")
            and "__slots__" not in cls.__dict__
            and len(fields) == len(cls.__dataclass_fields__)  # type: ignore[attr-defined]
            and all(f.init for f in fields)
        )

    def encode(self, obj: Any) -> dict[str, Any]:
        return {name: getattr(obj, name) for name in self._names}

    def decode(self, data: dict[str, Any]) -> Any:
        values = {k: _tuples(v) if type(v) is list else v for k, v in data.items()}
        if self.plain and values.keys() == self._fields:
            obj: Any = _new(self.type)
            obj.__dict__.update(values)
            return obj
        return self.type(**values)


_new = object.__new__


def register_value_types(transcoder: JSONTranscoder) -> None:
    transcoder.register(DateAsISO())
    for cls in VALUE_TYPES:
        transcoder.register(DataclassAsDict(cls))
