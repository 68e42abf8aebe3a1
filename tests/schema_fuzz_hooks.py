"""schemathesis hooks for the served fuzzing run (``SCHEMATHESIS_HOOKS``, see
tests/e2e/test_schema_fuzz_served.py and docs/api.md, "Schema fuzzing").

JSON Schema's ``integer`` is any number with no fraction, ``12.0`` included, and the fuzzer
sends such numbers as valid integers. The API takes integers strictly (``12.0`` where cents
or a count are expected is 422 ``validation_error``: a documented rule, tested in
tests/e2e/test_api.py), which no JSON Schema keyword can say. So the run's bodies carry their
integers as integers: ``12.0`` is sent as ``12``. Nothing else is changed.
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


@schemathesis.hook
def before_call(ctx: Any, case: Any, kwargs: Any) -> None:
    if case.body is not None and not isinstance(case.body, bytes | str):
        case.body = integers(case.body)
