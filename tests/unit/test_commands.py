"""Commands as values: every field is part of the idempotency fingerprint (except who sent
it, its key and ids made when it is built), every date it carries is a business day it
records, every command has a handler and a Ledger method, and nothing else describes it."""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import types
import typing
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

import pytest

from hacienda_ledger.aggregates.collectivite import Contact
from hacienda_ledger.aggregates.household import Profile
from hacienda_ledger.aggregates.integrity import canonical_bytes
from hacienda_ledger.aggregates.register import Cheque, Denomination
from hacienda_ledger.aggregates.values import Composition, Tariff
from hacienda_ledger.application import commands as c
from hacienda_ledger.application.handling import HANDLERS
from hacienda_ledger.application.ledger import Ledger

COMMANDS = sorted(
    (
        cls
        for cls in vars(c).values()
        if inspect.isclass(cls) and issubclass(cls, c.Command) and cls not in c.BASES
    ),
    key=lambda cls: cls.__name__,
)

NOT_CONTENT = {"actor", "idempotency_key"}


def _tariff(k: int) -> Tariff:
    return Tariff(date(2025, 1, k), f"DEL-{k}", 300 + k, Decimal("4.1"), Decimal("0.2"), 15000)


VALUES: dict[type, tuple[Any, Any]] = {
    UUID: (UUID(int=1), UUID(int=2)),
    str: ("a", "b"),
    int: (1, 2),
    bool: (False, True),
    Decimal: (Decimal("1.5"), Decimal("2.5")),
    date: (date(2025, 1, 2), date(2025, 1, 3)),
    datetime: (datetime(2025, 1, 2, 9, tzinfo=UTC), datetime(2025, 1, 3, 9, tzinfo=UTC)),
    Tariff: (_tariff(1), _tariff(2)),
    Composition: (Composition(2), Composition(3)),
    Profile: (Profile("Famille A"), Profile("Famille B")),
    Contact: (Contact("A", "maire", "a@x.fr", "0102030405"), Contact("B", "dgs", "b@x.fr", "0")),
    Cheque: (Cheque("0012345", "La Banque Postale"), Cheque("0012346", "La Banque Postale")),
    Denomination: (Denomination(5000, 1), Denomination(5000, 2)),
}


def two_values(annotation: Any) -> tuple[Any, Any]:
    """Two different values of the annotated type."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return two_values(args[0])
    if origin is not None and issubclass(origin, Mapping):
        return ({"cash": 1}, {"cash": 2})
    if origin is tuple:
        first, second = zip(*(two_values(a) for a in typing.get_args(annotation)), strict=True)
        return tuple(first), tuple(second)
    if origin is not None and issubclass(origin, Sequence):
        (item,) = typing.get_args(annotation)
        a, b = two_values(item)
        return [a], [b]
    if inspect.isclass(annotation) and issubclass(annotation, Enum):
        first, second, *_ = list(annotation)
        return first, second
    return VALUES[annotation]


def build(cls: type[c.Command], change: str | None = None) -> c.Command:
    """An instance with the first value of every field; ``change``: that field's second."""
    hints = typing.get_type_hints(cls)
    values = {}
    for f in dataclasses.fields(cls):
        first, second = two_values(hints[f.name])
        values[f.name] = second if f.name == change else first
    return cls(**values)


@pytest.mark.parametrize("cls", COMMANDS, ids=lambda cls: cls.__name__)
def test_every_field_of_every_command_is_fingerprinted(cls: type[c.Command]) -> None:
    """Changing any argument changes the fingerprint (a retry with another value is refused,
    never replayed); the actor, the key and generated ids do not (a retry builds its command
    anew)."""
    base = build(cls).fingerprint()
    for f in dataclasses.fields(cls):
        changed = build(cls, change=f.name).fingerprint()
        if f.name in NOT_CONTENT or not f.metadata.get("fingerprint", True):
            assert changed == base, f.name
        else:
            assert changed != base, f.name


def test_only_the_sender_the_key_and_generated_ids_are_left_out() -> None:
    left_out = {
        (cls.__name__, f.name)
        for cls in COMMANDS
        for f in dataclasses.fields(cls)
        if not f.metadata.get("fingerprint", True) and f.name not in NOT_CONTENT
    }
    assert left_out == {
        ("CreateUser", "user_id"),
        ("OpenRegister", "register_id"),
        ("OpenStay", "stay_id"),
        ("RecordHousehold", "household_id"),
        ("RecordIntervention", "intervention_id"),
        ("UploadDocument", "document_id"),  # issue 18
    }


def test_a_field_added_later_leaves_the_fingerprints_of_earlier_requests_unchanged() -> None:
    """``IssueReceipt.charges`` came after receipts were recorded: at its default it is left
    out of the fingerprint (a retry of a request recorded before it still matches), and
    any other value is fingerprinted (the test above)."""
    receipt = c.IssueReceipt(
        UUID(int=1), stay_id=None, method="cash", lines=[("other", 100)], actor="a"
    )
    before_the_field = {
        "register_id": UUID(int=1),
        "stay_id": None,
        "method": "cash",
        "lines": [("other", 100)],
        "settle_balance": False,
        "cheque": None,
    }
    expected = hashlib.sha256(canonical_bytes("IssueReceipt", before_the_field)).hexdigest()
    assert receipt.fingerprint() == expected
    named = dataclasses.replace(receipt, charges=(("2.0",),))
    assert named.fingerprint() != expected
    added = {(cls.__name__, f.name) for cls in COMMANDS for f in dataclasses.fields(cls)
             if f.metadata.get("omitted_at_default")}  # fmt: skip
    assert added == {("IssueReceipt", "charges")}


@pytest.mark.parametrize("cls", COMMANDS, ids=lambda cls: cls.__name__)
def test_every_date_a_command_carries_is_one_of_its_business_days(cls: type[c.Command]) -> None:
    """``days()`` lists the Paris day of each date and time the command records: what a
    sealed month is checked against, in one place for every command."""
    command = build(cls)
    expected = []
    if cls in (c.UploadDocument, c.UploadDocumentVersion):
        # an aire document's validity records nothing of a month's accounts (issue 18)
        assert list(command.days()) == []
        return
    for f in dataclasses.fields(cls):
        value = getattr(command, f.name)
        if isinstance(value, datetime):
            expected.append(value.date())  # 09:00 UTC: the same day in Paris
        elif isinstance(value, date):
            expected.append(value)
        elif isinstance(value, Tariff):
            expected.append(value.effective_from)
    assert list(command.days()) == expected


def test_every_command_has_one_handler_and_one_ledger_method() -> None:
    assert set(HANDLERS) >= set(COMMANDS)
    methods = {
        name: getattr(Ledger, name).__doc__
        for name in dir(Ledger)
        if (getattr(Ledger, name).__doc__ or "").startswith("Handle a ``")
    }
    built = {doc.split("``")[1] for doc in methods.values()}
    # create_user, rotate_token: the Ledger makes the token, whose digest the command carries
    assert built == {cls.__name__ for cls in COMMANDS} - {"CreateUser", "RotateToken"}


def test_a_date_inside_a_time_is_its_paris_day() -> None:
    """23:30 UTC on 31 January is 1 February in Paris."""
    reading = c.RecordMeterReading(
        UUID(int=1),
        meter="water",
        index=Decimal(1),
        read_at=datetime(2025, 1, 31, 23, 30, tzinfo=UTC),
        actor="a",
    )
    assert reading.days() == (date(2025, 2, 1),)
