"""The API's bodies take their choices from the domain's enums, and are named by role."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from enum import Enum
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel

from hacienda_ledger.aggregates import household, intervention, register_rules, user, values
from hacienda_ledger.api import schemas

DOMAIN_ENUMS: list[type[Enum]] = [
    obj
    for module in (values, household, intervention, user, register_rules)
    for _, obj in inspect.getmembers(module, inspect.isclass)
    if issubclass(obj, Enum) and obj.__module__ == module.__name__
]

# A Literal the API keeps although its values are all a domain enum's: the API accepts only
# some of that enum's members on purpose. None today; one added here names its enum, and
# test_deliberate_subsets_are_subsets_of_their_enum ties the two.
DELIBERATE_SUBSETS: dict[tuple[str, str], type[Enum]] = {}

# Parts that appear inside a request body and inside a response: named by their thing alone.
SHARED_PARTS = {
    "Cheque",
    "Contact",
    "DurationBand",
    "Fleet",
    "HouseholdContact",
    "Member",
    "PersonRate",
    "Season",
}


def models() -> dict[str, type[BaseModel]]:
    """Every body the package exports, by name (bases and generic envelopes aside)."""
    return {
        name: obj
        for name, obj in inspect.getmembers(schemas, inspect.isclass)
        if issubclass(obj, BaseModel) and obj not in (schemas.Body, schemas.Page)
    }


def parts(annotation: Any) -> Iterator[Any]:
    """An annotation and every type inside it (list items, dict keys, Annotated, unions)."""
    yield annotation
    for arg in get_args(annotation):
        if get_origin(annotation) is not Literal:
            yield from parts(arg)


def field_types(model: type[BaseModel]) -> Iterator[tuple[str, Any]]:
    for name, field in model.model_fields.items():
        for part in parts(field.annotation):
            yield name, part


def test_every_enum_in_a_body_is_the_domain_s() -> None:
    """No body declares its own enum: each enum a field names is defined in aggregates/."""
    foreign = sorted(
        f"{name}.{field}: {part.__module__}.{part.__name__}"
        for name, model in models().items()
        for field, part in field_types(model)
        if inspect.isclass(part) and issubclass(part, Enum) and part not in DOMAIN_ENUMS
    )
    assert foreign == []
    assert {values.PaymentMethod, values.RevenueType, household.Relationship, user.Role} <= {
        part for model in models().values() for _, part in field_types(model)
    }


def test_no_literal_copies_a_domain_enum() -> None:
    """A Literal whose values all belong to a domain enum is that enum written twice: the
    field names the enum instead (or the subset is listed in DELIBERATE_SUBSETS)."""
    copies = sorted(
        f"{name}.{field}: {enum.__name__}"
        for name, model in models().items()
        for field, part in field_types(model)
        if get_origin(part) is Literal
        for enum in DOMAIN_ENUMS
        if set(get_args(part)) <= {m.value for m in enum}
        and (name, field) not in DELIBERATE_SUBSETS
    )
    assert copies == []


def test_deliberate_subsets_are_subsets_of_their_enum() -> None:
    """Each subset the API accepts on purpose holds only values of its domain enum."""
    for (name, field), enum in DELIBERATE_SUBSETS.items():
        literal = models()[name].model_fields[field].annotation
        assert set(get_args(literal)) < {m.value for m in enum}, (name, field)


def test_names_say_the_role() -> None:
    """Requests end in Create or Update, responses in Public; a part named by its thing
    alone is one that a request and a response both carry."""
    every = models()
    odd = sorted(name for name in every if not name.endswith(("Create", "Update", "Public")))
    assert odd == sorted(SHARED_PARTS)
    for part in SHARED_PARTS:
        holders = {
            name
            for name, model in every.items()
            for _, inner in field_types(model)
            if inner is every[part]
        }
        assert any(h.endswith(("Create", "Update")) for h in holders), part
        assert any(h.endswith("Public") for h in holders), part
