"""schemathesis hooks for the served fuzzing run (``SCHEMATHESIS_HOOKS``, see
tests/e2e/test_schema_fuzz_served.py and docs/api.md, "Schema fuzzing").

JSON Schema's ``integer`` is any number with no fraction, ``12.0`` included, and the fuzzer
sends such numbers as valid integers. The API takes integers strictly (``12.0`` where cents
or a count are expected is 422 ``validation_error``: a documented rule, tested in
tests/e2e/test_api.py), which no JSON Schema keyword can say. So the run's bodies carry their
integers as integers: ``12.0`` is sent as ``12``.

A period's two ends are sent in order: the API refuses a range whose first day comes after
its last (422, « give the first day first »: ``from`` after ``to`` in a query, a closure's
``start`` after its ``end``...), a rule between two parameters that no JSON Schema keyword
can say either; the fuzzer drew ``from=2087-05-25&to=2045-02-25``. The refusals themselves
are tested in tests/e2e/test_plain_messages.py. The pictures of one département are
asked with a département (``needs_departement``). Nothing else is changed.
"""

from __future__ import annotations

from typing import Any

import schemathesis


def integers(value: Any) -> Any:
    """``value`` with every integral float (in a mapping or a list too) made an int."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: integers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [integers(v) for v in value]
    return value


PERIODS = (("from", "to"), ("start", "end"), ("started_at", "ended_at"), ("valid_from", "valid_to"))
"""The names of a period's first and last ends, in a query or a body."""


def in_order(values: Any) -> None:
    """Swap a period's ends given in ISO form (days and moments order as text) when the
    first comes after the last."""
    if not isinstance(values, dict):
        return
    for first, last in PERIODS:
        a, b = values.get(first), values.get(last)
        if isinstance(a, str) and isinstance(b, str) and a > b:
            values[first], values[last] = b, a


@schemathesis.hook
def before_call(ctx: Any, case: Any, kwargs: Any) -> None:
    if case.body is not None and not isinstance(case.body, bytes | str):
        case.body = integers(case.body)
        in_order(case.body)
    in_order(case.query)
    needs_departement(case)


def needs_departement(case: Any) -> None:
    """The analytics pictures of one département (``departement``, ``series``) are asked
    with one: the parameter is optional for the map of France only, a rule between a path
    parameter's value and a query parameter that the document states in words."""
    picture = (case.path_parameters or {}).get("picture")
    if picture in ("departement", "series"):
        query = case.query if isinstance(case.query, dict) else {}
        query.setdefault("departement", "49")
        case.query = query
