"""Value types decoded from stored JSON (application/transcodings.py): a type without
``__post_init__`` is built by setting its fields, exactly what its constructor does; a type
that checks or normalises its fields always goes through its constructor."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

import pytest

from hacienda_ledger.aggregates.household import Fleet, Profile
from hacienda_ledger.aggregates.register import ReceiptLine
from hacienda_ledger.aggregates.values import ChargeLine, Composition
from hacienda_ledger.application.transcodings import VALUE_TYPES, DataclassAsDict


def charge_line() -> ChargeLine:
    return ChargeLine(
        "pitch_fee", "pitch", date(2025, 3, 3), date(2025, 3, 9), Decimal(7), Decimal(3), 2100, "t"
    )


def test_which_types_are_built_without_their_constructor() -> None:
    plain = {cls for cls in VALUE_TYPES if DataclassAsDict(cls).plain}
    assert {ChargeLine, ReceiptLine} <= plain
    assert all(not hasattr(cls, "__post_init__") for cls in plain)
    assert not {Composition, Fleet, Profile} & plain  # they normalise their fields


def test_a_plain_decode_equals_the_constructors_value() -> None:
    transcoding = DataclassAsDict(ChargeLine)
    line = charge_line()
    decoded = transcoding.decode(transcoding.encode(line))
    assert decoded == line and hash(decoded) == hash(line) and type(decoded) is ChargeLine
    assert vars(decoded) == vars(line)
    with pytest.raises(dataclasses.FrozenInstanceError):
        decoded.amount_cents = 1  # type: ignore[misc]


def test_lists_become_tuples_and_odd_data_goes_through_the_constructor() -> None:
    transcoding = DataclassAsDict(ReceiptLine)
    fields = [f.name for f in dataclasses.fields(ReceiptLine)]
    decoded = transcoding.decode({key: [1, [2, 3]] for key in fields})
    assert all(getattr(decoded, name) == (1, (2, 3)) for name in fields)
    with pytest.raises(TypeError):  # a key that is not a field: the constructor refuses it
        transcoding.decode({**dict.fromkeys(fields, 1), "extra": 1})
    with pytest.raises(TypeError):  # a field missing: the constructor refuses it
        transcoding.decode(dict.fromkeys(fields[:-1], 1))


def test_a_normalising_type_still_normalises_what_it_decodes() -> None:
    transcoding = DataclassAsDict(Composition)
    decoded = transcoding.decode({"adults": 2, "children": [["0-3", "1"]], "caravans": 1})
    assert decoded.children == (("0-3", 1),)  # its __post_init__ ran
