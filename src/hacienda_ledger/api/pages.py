"""Pagination: every list endpoint answers at most ``limit`` items and a cursor to the next.

``limit`` is 1 to ``MAX_LIMIT`` (``DEFAULT_LIMIT`` when not sent); ``cursor`` is the
``next_cursor`` of the page before, opaque to the client, and ``next_cursor`` is null on the
last page. ``count`` is the number of items on this page. Lists kept in a stable order that
only grows at its end (aires and collectivités in registration order, seals, documents, the
access log, stored reports) page by position; the cash journal pages by its lines' key
(version, line), so a page is read from the database alone. A cursor that is not one of ours
is ``422 validation_error`` naming ``cursor``.

A cursor is its kind and its position: ``o`` and an offset (``o100``), or ``k`` and a key
(``k12.3``). Each list declares the pattern of its own kind in the OpenAPI document, so that
every cursor the document allows is one the list accepts (schemathesis checks that a
schema-valid request is not refused); a key past every item is an empty last page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, Query

from hacienda_ledger.api.problems import ProblemError

T = TypeVar("T")

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_KEY = 2**63 - 1
"""A key's numbers are read up to this (a BIGINT's largest): past it, past every item."""
POSITIONAL = r"^o[0-9]{1,18}$"
KEYED = r"^k[0-9]{1,40}\.[0-9]{1,40}$"


@dataclass(frozen=True)
class PageQuery:
    """The ``limit`` and ``cursor`` of a list request."""

    limit: int = DEFAULT_LIMIT
    cursor: str | None = None

    @property
    def offset(self) -> int:
        """The position the page starts at (a positional cursor)."""
        if self.cursor is None:
            return 0
        kind, value = _decode(self.cursor)
        if kind != "o" or not value.isdigit():
            raise _bad_cursor()
        return int(value)

    def key(self) -> tuple[int, int] | None:
        """The key of the last item of the page before (a keyed cursor)."""
        if self.cursor is None:
            return None
        kind, value = _decode(self.cursor)
        parts = value.split(".")
        if kind != "k" or len(parts) != 2 or not all(p.isdigit() for p in parts):
            raise _bad_cursor()
        return min(int(parts[0]), MAX_KEY), min(int(parts[1]), MAX_KEY)

    def next_cursor(self, more: bool) -> str | None:
        """The cursor to the page after this one, read from the database (None: the last)."""
        return encode("o", str(self.offset + self.limit)) if more else None

    def page(self, items: Sequence[T]) -> tuple[list[T], str | None]:
        """This page of a list held in full, and the cursor to the next (None: the last)."""
        start = self.offset
        page = list(items[start : start + self.limit])
        more = start + self.limit < len(items)
        return page, encode("o", str(start + self.limit)) if more else None


def encode(kind: str, value: str) -> str:
    return f"{kind}{value}"


def keyed_cursor(version: int, line: int) -> str:
    """The cursor after a journal line."""
    return encode("k", f"{version}.{line}")


def _decode(cursor: str) -> tuple[str, str]:
    kind, value = cursor[:1], cursor[1:]
    if not value.replace(".", "").isdigit() or not value.isascii() or len(value) > 81:
        raise _bad_cursor()
    return kind, value


def _bad_cursor() -> ProblemError:
    return ProblemError(
        422,
        "validation_error",
        "cursor is the next_cursor of a page of this list",
        field="cursor",
    )


Limit = Annotated[
    int, Query(ge=1, le=MAX_LIMIT, description=f"items per page, at most {MAX_LIMIT}")
]
PositionalCursor = Annotated[
    str | None,
    Query(max_length=19, pattern=POSITIONAL, description="the next_cursor of the page before"),
]
KeyedCursor = Annotated[
    str | None,
    Query(max_length=82, pattern=KEYED, description="the next_cursor of the page before"),
]


async def page_query(limit: Limit = DEFAULT_LIMIT, cursor: PositionalCursor = None) -> PageQuery:
    """(``async``: a sync dependency costs a hop to the thread pool, see ``deps.py``.)"""
    return PageQuery(limit, cursor)


async def keyed_page_query(limit: Limit = DEFAULT_LIMIT, cursor: KeyedCursor = None) -> PageQuery:
    return PageQuery(limit, cursor)


PageDep = Annotated[PageQuery, Depends(page_query)]
"""A list paged by position (``o100``)."""
KeyedPageDep = Annotated[PageQuery, Depends(keyed_page_query)]
"""A list paged by its items' key (``k12.3``: the journal, the audit trail)."""
