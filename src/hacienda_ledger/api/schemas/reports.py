"""Bodies of ``/v1/reports``: the stored report files."""

from __future__ import annotations

from pydantic import BaseModel, Field

from hacienda_ledger.api.schemas.common import Page


class ReportPublic(BaseModel):
    """A stored report file (download it at ``GET /v1/reports/{report_id}``)."""

    report_id: str
    kind: str = Field(description="monthly, alt2, alt2_summary or dsp")
    aire_id: str = Field(description="empty for the operator-wide ALT2 summary")
    collectivite_id: str
    sector: str
    period: str = Field(description="YYYY-MM (monthly) or YYYY (annual)")
    format: str = Field(description="pdf, xlsx or csv")
    revision: int = Field(description="1, then 2... when built again with --force")
    generated_at: str = Field(description="when it was built (ISO 8601)")
    software_version: str = Field(description="the hacienda-ledger version that built it")
    sha256: str = Field(
        description="SHA-256 of the file's bytes (hex), sent again in X-Content-SHA256"
    )
    size: int = Field(description="the file's size in bytes")
    filename: str
    media_type: str


class ReportsPublic(Page[ReportPublic]):
    pass
