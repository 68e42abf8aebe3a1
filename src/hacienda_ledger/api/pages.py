"""Pagination: every list endpoint answers at most ``limit`` items and a cursor to the next.

``limit`` is 1 to ``MAX_LIMIT`` (``DEFAULT_LIMIT`` when not sent); ``cursor`` is the
``next_cursor`` of the page before, opaque to the client, and ``next_cursor`` is null on the
last page. ``count`` is the number of items on this page. Lists kept in a stable order that
only grows at its end (aires and collectivités in registration order, seals, documents, the
access log, stored reports) page by position; the cash journal pages by its lines' key
(version, line), so a page is read from the database alone. A cursor that is not one of ours
is ``422 validation_error`` naming ``cursor``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, Query

from hacienda_ledger.api.problems import ProblemError

T = TypeVar("T")

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


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
        return int(parts[0]), int(parts[1])

    def page(self, items: Sequence[T]) -> tuple[list[T], str | None]:
        """This page of a list held in full, and the cursor to the next (None: the last)."""
        start = self.offset
        page = list(items[start : start + self.limit])
        more = start + self.limit < len(items)
        return page, encode("o", str(start + self.limit)) if more else None


def encode(kind: str, value: str) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{value}".encode()).decode().rstrip("=")


def keyed_cursor(version: int, line: int) -> str:
    """The cursor after a journal line."""
    return encode("k", f"{version}.{line}")


def _decode(cursor: str) -> tuple[str, str]:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise _bad_cursor() from None
    kind, sep, value = text.partition(":")
    if not sep or len(value) > 40:
        raise _bad_cursor()
    return kind, value


def _bad_cursor() -> ProblemError:
    return ProblemError(
        422,
        "validation_error",
        "cursor is the next_cursor of a page of this list",
        field="cursor",
    )


async def page_query(
    limit: Annotated[
        int,
        Query(ge=1, le=MAX_LIMIT, description=f"items per page, at most {MAX_LIMIT}"),
    ] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None,
        Query(
            max_length=80,
            pattern=r"^[A-Za-z0-9_-]+$",
            description="the next_cursor of the page before",
        ),
    ] = None,
) -> PageQuery:
    """(``async``: a sync dependency costs a hop to the thread pool, see ``deps.py``.)"""
    return PageQuery(limit, cursor)


PageDep = Annotated[PageQuery, Depends(page_query)]
