"""Declarations that mirror one another across layers stay in step.

A stored event spells its fields out (a persisted format: ``test_event_shapes``), and so do
the command that records it and the public schema that shows it: three declarations of the
same names, which nothing but this test ties together. A field added to one and forgotten in
another fails here, naming both.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from pydantic import BaseModel

from hacienda_ledger.aggregates.aire import Aire
from hacienda_ledger.aggregates.aire_values import Closure
from hacienda_ledger.aggregates.document import Document
from hacienda_ledger.aggregates.intervention import Intervention
from hacienda_ledger.aggregates.stay import Stay
from hacienda_ledger.api import schemas as s
from hacienda_ledger.application import commands as c


def own_fields(event: type[Any]) -> list[str]:
    """The fields an event class declares itself (not its base events': ids, hashes...)."""
    inherited = {
        f.name
        for base in event.__mro__
        if base.__qualname__ != event.__qualname__ and dataclasses.is_dataclass(base)
        for f in dataclasses.fields(base)
    }
    return [f.name for f in dataclasses.fields(event) if f.name not in inherited]


def arguments(command: type[c.Command], *leave: str) -> list[str]:
    """What a command's request says (fingerprinted fields), less the fields named."""
    return [
        f.name
        for f in dataclasses.fields(command)
        if f.metadata.get("fingerprint", True) and f.name not in leave
    ]


def in_order(names: list[str], within: list[str]) -> list[str]:
    """``names`` as they stand in ``within`` (equal to ``names``: all there, same order)."""
    return [n for n in within if n in names]


#: command -> (the event it records, the command's fields the event does not carry, the
#: event's fields the aggregate adds: who, and what it decides itself)
COMMAND_EVENTS: dict[type[c.Command], tuple[type[Any], tuple[str, ...], tuple[str, ...]]] = {
    c.CreateAire: (Aire.Registered, (), ("actor",)),
    c.OpenStay: (
        Stay.Opened,
        (),
        ("max_consecutive_days", "extension_cap_months", "actor"),  # the aire's rules then
    ),
    c.UploadDocument: (Document.Uploaded, (), ("actor",)),
    c.UploadDocumentVersion: (Document.VersionUploaded, ("aire_id", "document_id"), ("actor",)),
}


@pytest.mark.parametrize("command", COMMAND_EVENTS, ids=lambda k: k.__name__)
def test_a_command_carries_its_events_arguments_in_their_order(command: type[c.Command]) -> None:
    """The command's arguments are the event's fields, in the same order, less only what the
    aggregate adds (the actor, and what it decides itself)."""
    event, leave, added = COMMAND_EVENTS[command]
    expected = [f for f in own_fields(event) if f not in added]
    assert expected == arguments(command, *leave)


#: public schema -> (the domain declaration it shows, the domain's fields it leaves out)
SCHEMA_SOURCES: dict[type[BaseModel], tuple[type[Any], tuple[str, ...]]] = {
    s.ClosurePublic: (Closure, ()),
    s.AirePublic: (Aire.Registered, ("actor",)),
    s.InterventionPublic: (Intervention.Recorded, ("actor",)),
}


def domain_fields(source: type[Any]) -> list[str]:
    """A value's fields; an event's own."""
    names = [f.name for f in dataclasses.fields(source)]
    return own_fields(source) if "originator_id" in names else names


@pytest.mark.parametrize("schema", SCHEMA_SOURCES, ids=lambda k: k.__name__)
def test_a_public_schema_shows_every_field_of_what_it_shows(schema: type[BaseModel]) -> None:
    """Every field of the domain's declaration is in the schema, in the same order (the
    schema may add what the domain derives: ids, versions, counts)."""
    source, left_out = SCHEMA_SOURCES[schema]
    expected = [f for f in domain_fields(source) if f not in left_out]
    assert expected == in_order(expected, list(schema.model_fields))
