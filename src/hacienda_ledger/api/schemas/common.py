"""Field types and bases every resource's bodies (and, through ``api/params.py``, every path
and query parameter) share: money as strict integer cents, decimals as strings, days,
moments, months and years within the years the ledger covers, sequence numbers within what
the stores hold, short texts, and the ``{data, count, next_cursor}`` list envelope.

Every text a body carries — any field, nested or in a list, declared or added later — is
plain text: no control character (a tab or a line break only in the fields a body names
``multiline``, as a household's notes), no line or paragraph separator, no lone surrogate and no
bidirectional formatting character (the embeddings, overrides and isolates U+202A–U+202E and
U+2066–U+2069, and the marks U+200E, U+200F, U+061C, which reorder what a reader sees:
"Trojan Source"). ``Body`` checks them all (422 ``validation_error`` naming the field); query
texts use ``QueryText``."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Generic, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

from hacienda_ledger.aggregates.values import MAX_CENTS, MAX_UNIT_PRICE

T = TypeVar("T")


DECIMAL_PATTERN = r"^-?\d{1,12}(\.\d{1,8})?$"
_DECIMAL = re.compile(DECIMAL_PATTERN)


def _decimal_string(value: Any) -> Decimal:
    """A decimal as the schema documents it: up to 12 digits, up to 8 decimals, no exponent
    (``1E+999999`` would overflow every computation made with it)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError('a decimal is sent as a string, e.g. "3.5120"')
    text = str(value).strip()
    if not _DECIMAL.fullmatch(text):
        raise ValueError('a decimal has up to 12 digits and 8 decimals, e.g. "3.5120"')
    return Decimal(text)


DecimalStr = Annotated[
    Decimal,
    BeforeValidator(_decimal_string),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string", "pattern": DECIMAL_PATTERN, "examples": ["3.5120"]}),
]
#: The same, where the ledger refuses a negative value (prices, meter indexes) or anything
#: but a positive one (a surface): the document says so with the pattern.
NonNegativeDecimalStr = Annotated[
    Decimal,
    BeforeValidator(_decimal_string),
    PlainSerializer(str, return_type=str),
    WithJsonSchema(
        {"type": "string", "pattern": r"^[0-9]{1,12}(\.[0-9]{1,8})?$", "examples": ["3.5120"]}
    ),
]
#: A fluid's unit price, in euros: from 0 to ``MAX_UNIT_PRICE`` (1000), up to 8 decimals
#: (past it a ``validation_error``; a negative price is the domain's ``invalid_value``).
UnitPriceStr = Annotated[
    Decimal,
    BeforeValidator(_decimal_string),
    Field(le=MAX_UNIT_PRICE),
    PlainSerializer(str, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^([0-9]{1,3}(\.[0-9]{1,8})?|1000(\.0{1,8})?)$",
            "description": f"euros per unit, from 0 to {MAX_UNIT_PRICE}",
            "examples": ["3.5120"],
        }
    ),
]
PositiveDecimalStr = Annotated[
    Decimal,
    BeforeValidator(_decimal_string),
    PlainSerializer(str, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^([1-9][0-9]{0,11}(\.[0-9]{1,8})?|0\.[0-9]{0,7}[1-9])$",
            "examples": ["12.5"],
        }
    ),
]

# Dates and times the ledger accepts. Far outside these years, the domain's calendar
# arithmetic overflows (year 10000, or year 0 once a time is converted to Paris time), and a
# charge "through" a date millennia ahead would price millions of days.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)
DATE_RANGE = f"between {FIRST_DAY} and {LAST_DAY}"


def _day_in_range(value: date) -> date:
    if not FIRST_DAY <= value <= LAST_DAY:
        raise ValueError(f"dates lie {DATE_RANGE}")
    return value


def _moment_in_range(value: datetime) -> datetime:
    if not FIRST_DAY <= value.date() <= LAST_DAY:
        raise ValueError(f"datetimes lie {DATE_RANGE}")
    return value


#: The range as the document declares it (JSON Schema has no bounds for a date): the year
#: a day or a moment (in its own offset) is written with is 2000 to 2099.
IN_RANGE: dict[str, Any] = {"pattern": r"^20[0-9]{2}-"}
Day = Annotated[
    date,
    AfterValidator(_day_in_range),
    Field(description=f"a calendar day {DATE_RANGE}", json_schema_extra=IN_RANGE),
]
Moment = Annotated[
    AwareDatetime,
    AfterValidator(_moment_in_range),
    Field(description=f"ISO 8601 with its offset, {DATE_RANGE}", json_schema_extra=IN_RANGE),
]
# Months and years of the same range, 2000 to 2099 (a month of year 0000 once ended in a 500).
MONTH_PATTERN = r"^20\d\d-(0[1-9]|1[0-2])$"
PERIOD_PATTERN = r"^20\d\d(-(0[1-9]|1[0-2]))?$"  # a month, or a year
Month = Annotated[
    str,
    Field(
        pattern=MONTH_PATTERN,
        description=f"YYYY-MM, {FIRST_DAY:%Y-%m} to {LAST_DAY:%Y-%m}",
        examples=["2025-09"],
    ),
]
Year = Annotated[int, Field(ge=FIRST_DAY.year, le=LAST_DAY.year)]

# Numbers the ledger counts with (receipts, slips, meter readings) start at 1 and stay within
# the signed 64-bit integer both stores hold (SQLite INTEGER, PostgreSQL BIGINT): past it,
# SQLite cannot even be asked (it raised OverflowError, a 500). A number in the range that
# names nothing is the resource's 404.
MAX_NUMBER = 2**53 - 1
"""(2^53 - 1, the largest integer JSON carries exactly between implementations (RFC 8259
section 6, I-JSON): a validator reading JSON numbers as doubles, as schemathesis's does,
takes 2^63 + 191 for a number within 2^63 - 1; both stores hold far more.)"""
Number = Annotated[
    int, Field(ge=1, le=MAX_NUMBER, description="a sequence number, from 1 to 2^53 - 1")
]
# Money: the domain's one ceiling (``MAX_CENTS``, 10^10 cents), which it also holds what it
# computes to (a charge, a receipt settling a balance): 422 ``amount_too_large`` there.
Cents = Annotated[int, Field(strict=True, ge=0, le=MAX_CENTS)]
PositiveCents = Annotated[int, Field(strict=True, gt=0, le=MAX_CENTS)]
# --- plain text ----------------------------------------------------------------------------

#: Bidirectional formatting characters (Unicode UAX #9, explicit formatting): embeddings,
#: overrides, isolates and their terminators, and the three marks.
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
_LINE_BREAKS = frozenset("\t\n\r")

#: What plain text refuses, as a regular expression's character class (the OpenAPI
#: document declares it on every text, so that what it allows the server accepts): Cc, Cs,
#: Zl, Zp and ``BIDI_CONTROLS``; ``_MULTILINE_REFUSED`` lets tabs and line breaks through.
#: (Lone surrogates, refused too, are left out: regular expression engines that hold
#: Unicode scalar values only, as JSON Schema validators' often do, refuse a class naming
#: them, and a well-formed UTF-8 body cannot carry one.)
_REFUSED = r"\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069"
_MULTILINE_REFUSED = _REFUSED.replace(r"\x00-\x1f", r"\x00-\x08\x0b\x0c\x0e-\x1f")
PLAIN_TEXT = f"^[^{_REFUSED}]*$"
MULTILINE_TEXT = f"^[^{_MULTILINE_REFUSED}]*$"


def refused_character(text: str, *, multiline: bool = False) -> str | None:
    """The first character plain text refuses (see the module docstring), or None."""
    if text.isprintable():  # the common case: no Cc, Cf, Cs, Zl, Zp, no space but " "
        return None
    for char in text:
        if char in BIDI_CONTROLS:
            return char
        if multiline and char in _LINE_BREAKS:
            continue
        if unicodedata.category(char) in ("Cc", "Cs", "Zl", "Zp"):
            return char
    return None


def _refusal(char: str) -> str:
    name = unicodedata.name(char, "a control character")
    return f"plain text only: U+{ord(char):04X} ({name}) is refused"


def _first_refused(value: Any, multiline: bool) -> str | None:
    """The first refused character of a text, or of the texts in a list or a mapping."""
    if isinstance(value, str):
        return refused_character(value, multiline=multiline)
    if isinstance(value, list | tuple | set | frozenset):
        items: Any = value
    elif isinstance(value, dict):
        items = [*value.keys(), *value.values()]
    else:
        return None
    for item in items:
        found = _first_refused(item, multiline)
        if found is not None:
            return found
    return None


def _plain(value: str) -> str:
    char = refused_character(value)
    if char is not None:
        raise ValueError(_refusal(char))
    return value


#: The validation context of a response part read from what is stored (``views.read``):
#: shown as stored, even if recorded before texts were checked.
STORED: dict[str, bool] = {"stored": True}

#: A text in a query (a name searched, a sector): plain text, on one line.
QueryText = Annotated[str, AfterValidator(_plain)]

#: A name, a reference, a reason: the ledger refuses one that is blank (``invalid_value``,
#: from the domain, which strips it): the document says so with its pattern.
NON_BLANK: dict[str, Any] = {"pattern": f"^[^{_REFUSED}]*[^{_REFUSED}\\s][^{_REFUSED}]*$"}
Text = Annotated[str, Field(min_length=1, max_length=200, json_schema_extra=NON_BLANK)]
Code = Annotated[str, Field(min_length=1, max_length=40, json_schema_extra=NON_BLANK)]
Phone = Annotated[str, Field(max_length=30, pattern=r"^[0-9+ ().-]{6,30}$")]
_EMAIL_PART = rf"[^@\s{_REFUSED}]+"
Email = Annotated[
    str, Field(max_length=200, pattern=rf"^{_EMAIL_PART}@{_EMAIL_PART}\.{_EMAIL_PART}$")
]


class Body(BaseModel):
    """A request body (or a part of one): a field it does not declare is refused, and every
    text it holds is plain text (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    #: The fields whose texts may hold tabs and line breaks.
    multiline: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> Any:
        """The document says what ``_plain_text`` checks: every text field of the body
        (those of a nested body say it in their own schema) has the plain-text pattern."""
        schema = handler(core_schema)
        target = handler.resolve_ref_schema(schema)
        for name, field in target.get("properties", {}).items():
            declare_plain(field, MULTILINE_TEXT if name in cls.multiline else PLAIN_TEXT)
        return schema

    @field_validator("*", mode="after")
    @classmethod
    def _plain_text(cls, value: Any, info: ValidationInfo) -> Any:
        if info.context is STORED:  # a part of a response, read from the store
            return value
        char = _first_refused(value, info.field_name in cls.multiline)
        if char is not None:
            raise ValueError(_refusal(char))
        return value


def declare_plain(schema: dict[str, Any], pattern: str = PLAIN_TEXT) -> None:
    """Give every text of ``schema`` (a string, or one in a list, a union or a mapping)
    without a pattern, a format or a fixed set of values the plain-text ``pattern``."""
    fixed = {"pattern", "format", "enum", "const"}
    if schema.get("type") == "string" and not schema.keys() & fixed:
        schema["pattern"] = pattern
    for key in ("anyOf", "oneOf", "allOf"):
        for part in schema.get(key, []):
            declare_plain(part, pattern)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            declare_plain(schema[key], pattern)
    if isinstance(schema.get("additionalProperties"), dict):
        schema.setdefault("propertyNames", {}).setdefault("pattern", pattern)


class Page(BaseModel, Generic[T]):
    """A list envelope; each resource names its own (``AiresPublic`` is
    ``Page[AireSummaryPublic]``): at most ``limit`` items (``api/pages.py``)."""

    data: list[T]
    count: int = Field(description="the number of items on this page")
    next_cursor: str | None = Field(
        default=None, description="send it as `cursor` for the next page; null on the last"
    )
