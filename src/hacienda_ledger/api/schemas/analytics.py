"""Bodies of ``/v1/analytics``: one table of a stored publication (docs/analytics.md)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from hacienda_ledger.api.schemas.common import Page


class AnalyticsTablePublic(Page[dict[str, Any]]):
    """A page of one analytics table of a stored publication: each row's counts below the
    threshold, and what would give them back, are null and named in its ``suppressed``."""

    table: str = Field(description="`<level>_<period>` or `flows_<level>_<period>`")
    as_of: str = Field(
        description="the Paris day the publication read is computed as of (YYYY-MM-DD)"
    )
    threshold: int = Field(description="counts of households or people below it are suppressed")
    position: int = Field(description="the stream position the publication was computed at")
    published_at: str = Field(description="when the publication was made (UTC, ISO 8601)")
    sha256: str = Field(description="the SHA-256 of the publication's content (every table)")
