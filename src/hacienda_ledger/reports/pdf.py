"""PDF pages with fpdf2: a header naming what the document covers, tables, a bar chart.

Fonts are DejaVu Sans (bundled with its licence in ``reports/fonts``): fpdf2's core fonts
are latin-1 only, and « € » and the narrow no-break space are not. Documents are
deterministic: the creation date is the generation time passed in, and nothing random is
written, so the same figures at the same time give the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from importlib.resources import files
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from PIL import Image as PILImage

from hacienda_ledger import __version__
from hacienda_ledger.reports.french import instant_fr

FONT = "DejaVu"
GREY = (110, 110, 110)
BLUE = (31, 78, 121)
LIGHT = (232, 238, 245)


def font_path(name: str) -> str:
    return str(files("hacienda_ledger.reports").joinpath("fonts", name))


class Document(FPDF):
    """An A4 document: title, the lines that identify it, a footer with page numbers."""

    def __init__(
        self,
        title: str,
        identity: Sequence[tuple[str, str]],
        generated_at: datetime,
        *,
        landscape: bool = False,
        stamp: str | None = None,
        mark: str | None = None,
    ) -> None:
        super().__init__(orientation="L" if landscape else "P", unit="mm", format="A4")
        self.mark = mark  # on every page (« PROVISOIRE »), drawn by ``header``
        self.add_font(FONT, "", font_path("DejaVuSans.ttf"))
        self.add_font(FONT, "B", font_path("DejaVuSans-Bold.ttf"))
        self.doc_title = title
        self.generated_at = generated_at
        self.set_creation_date(generated_at)
        self.set_title(title)
        self.set_author("hacienda-ledger")
        self.set_creator(f"hacienda-ledger {__version__}")
        if mark:
            self.set_subject(mark)
            self.set_keywords(mark)
        self.set_producer(f"hacienda-ledger {__version__}")
        self.set_auto_page_break(auto=True, margin=16)
        self.set_margins(14, 14, 14)
        self.alias_nb_pages()
        self.add_page()
        if stamp:  # a red mark at the top right of the first page (« DUPLICATA n°2 »)
            self.set_font(FONT, "B", 14)
            self.set_text_color(200, 0, 0)
            self.set_draw_color(200, 0, 0)
            self.set_xy(self.w - self.r_margin - 62, 4)
            self.cell(62, 9, stamp, border=1, align="C")
            self.set_draw_color(0, 0, 0)
            self.set_xy(self.l_margin, self.t_margin)
        self.set_font(FONT, "B", 15)
        self.set_text_color(*BLUE)
        self.multi_cell(0, 8, title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(0, 0, 0)
        self.ln(1)
        self.key_values(identity, size=8)
        self.ln(2)

    def header(self) -> None:
        if self.mark:  # a red band at the top of every page
            self.set_font(FONT, "B", 10)
            self.set_text_color(200, 0, 0)
            self.set_xy(self.l_margin, 4)
            self.cell(60, 6, self.mark)
            self.set_text_color(0, 0, 0)
            self.set_xy(self.l_margin, self.t_margin)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, "", 7)
        self.set_text_color(*GREY)
        self.cell(
            0,
            5,
            f"{self.doc_title} — généré le {instant_fr(self.generated_at)} par hacienda-ledger "
            f"{__version__} — page {self.page_no()}/{{nb}}",
            align="C",
        )
        self.set_text_color(0, 0, 0)

    def heading(self, text: str) -> None:
        if self.get_y() > self.h - 40:
            self.add_page()
        self.ln(2)
        self.set_font(FONT, "B", 11)
        self.set_text_color(*BLUE)
        self.cell(0, 7, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(0, 0, 0)

    def paragraph(self, text: str, size: float = 9) -> None:
        self.set_font(FONT, "", size)
        self.multi_cell(0, 4.5, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def key_values(self, pairs: Sequence[tuple[str, str]], *, size: float = 9) -> None:
        width = 52
        for key, value in pairs:
            fitted = size  # a long key is set smaller rather than run into its value
            self.set_font(FONT, "B", fitted)
            while fitted > 5 and self.get_string_width(key) > width - 1.5:
                fitted -= 0.5
                self.set_font(FONT, "B", fitted)
            self.cell(width, size * 0.5, key, new_x=XPos.RIGHT, new_y=YPos.TOP)
            self.set_font(FONT, "", self._one_line(value, size))
            self.multi_cell(0, size * 0.5, value, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def _one_line(self, value: str, size: float) -> float:
        """The size to set a value at from the cursor to the right margin: ``size``, or up
        to one point smaller when that keeps it on one line (« empreinte » and a SHA-256
        in hex are 126 mm on average at 8 pt, up to 130 mm, and a line holds 128 mm: the
        hash stays beside its label, never on a line of its own). A longer value wraps."""
        room = self.w - self.r_margin - self.get_x() - 2 * self.c_margin
        fitted = size
        self.set_font(FONT, "", fitted)
        while self.get_string_width(value) > room and fitted > size - 1:
            fitted -= 0.25
            self.set_font(FONT, "", fitted)
        return fitted if self.get_string_width(value) <= room else size

    def grid(
        self,
        headers: Sequence[str],
        rows: Sequence[Sequence[Any]],
        widths: Sequence[float],
        *,
        align: str = "",
        total: Sequence[Any] | None = None,
        size: float = 8,
    ) -> None:
        """A table; ``align`` gives each column's alignment (``L``, ``R``, ``C``; default:
        first column left, others right). A header row repeats after a page break."""
        aligns = list(align) if align else ["L", *("R" * (len(headers) - 1))]
        height = size * 0.62

        def header() -> None:
            self.set_font(FONT, "B", size)
            self.set_fill_color(*LIGHT)
            for text, width in zip(headers, widths, strict=True):
                fitted = size  # a long title is set smaller rather than overflow its cell
                while fitted > 5 and self.get_string_width(text) > width - 1.5:
                    fitted -= 0.5
                    self.set_font(FONT, "B", fitted)
                self.cell(width, height + 1, text, border=1, align="C", fill=True)
                self.set_font(FONT, "B", size)
            self.ln(height + 1)
            self.set_font(FONT, "", size)

        header()
        for row in [*rows, *([total] if total is not None else [])]:
            if self.get_y() + height > self.page_break_trigger:
                self.add_page()
                header()
            style = "B" if row is total else ""
            self.set_font(FONT, style, size)
            for value, width, side in zip(row, widths, aligns, strict=True):
                text = "" if value is None else str(value)
                fitted = size  # a long text is set smaller rather than run into its neighbour
                while fitted > 5 and self.get_string_width(text) > width - 1.5:
                    fitted -= 0.5
                    self.set_font(FONT, style, fitted)
                self.cell(width, height, text, border=1, align=side)
                self.set_font(FONT, style, size)
            self.ln(height)
        self.set_font(FONT, "", size)

    def bar_chart(
        self,
        labels: Sequence[str],
        values: Sequence[float],
        *,
        maximum: float,
        height: float = 45,
        caption: str = "",
        unit: str = "",
    ) -> None:
        """Vertical bars drawn with rectangles and lines (no plotting library)."""
        if self.get_y() + height + 14 > self.page_break_trigger:
            self.add_page()
        left, top = self.l_margin + 10, self.get_y() + 2
        width = self.w - self.l_margin - self.r_margin - 12
        bottom = top + height
        self.set_draw_color(*GREY)
        self.set_font(FONT, "", 6)
        self.set_text_color(*GREY)
        for step in range(5):
            fraction = step / 4
            y = bottom - fraction * height
            self.line(left, y, left + width, y)
            self.set_xy(left - 11, y - 1.5)
            self.cell(10, 3, f"{maximum * fraction:.0f}{unit}", align="R")
        slot = width / max(len(values), 1)
        self.set_fill_color(*BLUE)
        for n, value in enumerate(values):
            bar = 0.0 if maximum <= 0 else max(0.0, min(value / maximum, 1.0)) * height
            if bar > 0:
                self.rect(left + n * slot + slot * 0.15, bottom - bar, slot * 0.7, bar, style="F")
            self.set_xy(left + n * slot, bottom + 0.5)
            self.cell(slot, 3, labels[n], align="C")
        self.set_text_color(0, 0, 0)
        self.set_draw_color(0, 0, 0)
        self.set_xy(self.l_margin, bottom + 4)
        if caption:
            self.set_font(FONT, "", 7)
            self.cell(0, 4, caption, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def picture(self, png: bytes, *, caption: str = "", width: float = 150) -> None:
        """A PNG ``width`` mm wide, centred, on a new page if it does not fit."""
        with PILImage.open(io.BytesIO(png)) as image:
            height = width * image.height / image.width
        if self.get_y() + height + 8 > self.page_break_trigger:
            self.add_page()
        left = (self.w - width) / 2
        self.image(io.BytesIO(png), x=left, y=self.get_y(), w=width, h=height)
        self.set_xy(self.l_margin, self.get_y() + height + 1)
        if caption:
            self.set_font(FONT, "", 7)
            self.multi_cell(0, 3.5, caption, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def bytes(self) -> bytes:
        return bytes(self.output())
