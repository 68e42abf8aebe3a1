"""The analytics pictures (issue 19, point 5): maps and time series drawn from the
published (suppressed) analytics tables, as PNG or SVG, the same bytes for the same
publication.

- ``france``: the départements shaded by the year's unmet requests (``departement_year``),
  the aires as points sized by their places and coloured by their year's occupancy rate
  (``aire_year``); the overseas départements in insets on the left.
- ``departement``: the same, on one département and its neighbours.
- ``series``: one département's months (``departement_month``): the occupancy rate as a
  line, the unmet requests as bars.

Only published cells are drawn: a suppressed count shades nothing (hatched, « secret » in
the legend), an aire whose rate is suppressed is drawn without colour (white, said in the
legend), a suppressed month is a gap. Nothing here reads a household. Boundaries:
``data/departements.geojson`` (Natural Earth, public domain, simplified:
``scripts/simplify_departements.py``). Drawn with matplotlib's Agg canvas (no screen, no
pyplot state), the SVG's ids salted with a constant and the files' dates left out.
"""

from __future__ import annotations

import functools
import io
import json
import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from typing import Any

import matplotlib as mpl
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Ellipse, Patch, Polygon
from matplotlib.ticker import MaxNLocator

NAMES = ("france", "departement", "series")
#: The overseas départements, drawn in insets beside metropolitan France.
OVERSEAS = ("971", "972", "973", "974", "976")
#: The 101 départements' codes (INSEE's list), as the boundaries name them (a test checks):
#: what the pictures route accepts, known without parsing the GeoJSON at import.
DEPARTEMENTS: tuple[str, ...] = (
    *(f"{n:02d}" for n in range(1, 20)),
    "21", "22", "23", "24", "25", "26", "27", "28", "29", "2A", "2B",
    *(str(n) for n in range(30, 96)),
    *OVERSEAS,
)  # fmt: skip
FORMATS = {"png": "image/png", "svg": "image/svg+xml"}
DPI = 100
#: inches: 800 × 800 pixels for the maps, 900 × 450 for a series
MAP_SIZE = (8.0, 8.0)
SERIES_SIZE = (9.0, 4.5)
RATES = mpl.colormaps["viridis"]
UNMET = mpl.colormaps["Oranges"]
SECRET_FILL = "#d9d9d9"
NO_RATE = "#ffffff"
#: matplotlib's settings are global: one picture is drawn at a time
_DRAWING = threading.Lock()
FONT: dict[Any, Any] = {
    "font.family": "DejaVu Sans",
    "svg.hashsalt": "hacienda-ledger",
    "svg.fonttype": "path",
}


@dataclass(frozen=True)
class AirePoint:
    """One aire on a map: where it is, its places, its published rate (None: suppressed)."""

    code: str
    longitude: float
    latitude: float
    departement: str
    places: int
    rate: Decimal | None


@dataclass(frozen=True)
class MapData:
    """A map's cells: each département's unmet requests (absent: none published, None:
    suppressed), the aires drawn, the title."""

    title: str
    unmet: Mapping[str, int | None]
    aires: Sequence[AirePoint]
    departement: str | None = None  # None: France


@dataclass(frozen=True)
class SeriesData:
    """A département's months: (``YYYY-MM``, rate or None, unmet requests or None)."""

    title: str
    months: Sequence[tuple[str, Decimal | None, int | None]]


@functools.cache
def boundaries() -> dict[str, tuple[str, list[list[tuple[float, float]]]]]:
    """Each département's name and outer rings (lon, lat), from the shipped GeoJSON: read
    once, when a picture or a report first needs it (never at import)."""
    path = resources.files("hacienda_ledger").joinpath("data/departements.geojson")
    data = json.loads(path.read_text(encoding="utf-8"))
    found: dict[str, tuple[str, list[list[tuple[float, float]]]]] = {}
    for feature in data["features"]:
        geometry = feature["geometry"]
        polygons = (
            [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
        )
        rings = [[(float(x), float(y)) for x, y in polygon[0]] for polygon in polygons]
        found[feature["properties"]["code"]] = (feature["properties"]["nom"], rings)
    return found


def departement_codes() -> tuple[str, ...]:
    return DEPARTEMENTS


def _bounds(codes: Sequence[str]) -> tuple[float, float, float, float]:
    points = [p for c in codes for ring in boundaries()[c][1] for p in ring]
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return min(xs), max(xs), min(ys), max(ys)


def _neighbours(code: str) -> list[str]:
    """The départements whose box meets ``code``'s (drawn around it, in grey)."""
    x0, x1, y0, y1 = _bounds([code])
    found = []
    for other in boundaries():
        if other in OVERSEAS or other == code:
            continue
        a0, a1, b0, b1 = _bounds([other])
        if a0 <= x1 and a1 >= x0 and b0 <= y1 and b1 >= y0:
            found.append(other)
    return found


def _frame(ax: Axes, codes: Sequence[str], margin: float) -> None:
    """Equirectangular at the box's middle latitude: a degree of longitude is shorter."""
    x0, x1, y0, y1 = _bounds(codes)
    dx, dy = (x1 - x0) * margin, (y1 - y0) * margin
    ax.set_xlim(x0 - dx, x1 + dx)
    ax.set_ylim(y0 - dy, y1 + dy)
    ax.set_aspect(1 / math.cos(math.radians((y0 + y1) / 2)))
    ax.set_axis_off()


def _shade(ax: Axes, codes: Sequence[str], data: MapData, norm: Normalize, grey: bool) -> None:
    for code in codes:
        value = data.unmet.get(code, 0)
        face: Any
        hatch: str | None
        for ring in boundaries()[code][1]:
            if grey:
                face, hatch = "#f2f2f2", None
            elif value is None:
                face, hatch = SECRET_FILL, "///"
            else:
                face, hatch = UNMET(norm(value)) if value else "#ffffff", None
            patch = Polygon(
                ring, closed=True, facecolor=face, edgecolor="#6b6b6b", linewidth=0.4, hatch=hatch
            )
            patch.set_gid(f"dep-{code}")
            ax.add_patch(patch)


def _radius(places: int, scale: float) -> float:
    """A point's radius in degrees: its area grows with the places."""
    return scale * math.sqrt(max(places, 1))


def _points(ax: Axes, aires: Sequence[AirePoint], scale: float) -> None:
    """Round on screen: the axes stretch a degree of latitude by their aspect."""
    aspect = float(ax.get_aspect())
    for aire in sorted(aires, key=lambda a: (-a.places, a.code)):
        width = 2 * _radius(aire.places, scale)
        point = Ellipse(
            (aire.longitude, aire.latitude),
            width,
            width / aspect,
            facecolor=RATES(float(aire.rate)) if aire.rate is not None else NO_RATE,
            edgecolor="#000000",
            linewidth=0.6,
            zorder=3,
        )
        point.set_gid(f"aire-{aire.code}")
        ax.add_patch(point)


def _legend(fig: Figure, norm: Normalize) -> None:
    rates = fig.add_axes((0.12, 0.07, 0.34, 0.018))
    bar = fig.colorbar(
        mpl.cm.ScalarMappable(Normalize(0, 1), RATES), cax=rates, orientation="horizontal"
    )
    bar.set_label("Taux d'occupation de l'aire (point : surface ∝ places)", fontsize=8)
    bar.ax.xaxis.set_label_position("top")
    bar.ax.tick_params(labelsize=7)
    unmet = fig.add_axes((0.56, 0.07, 0.34, 0.018))
    bar = fig.colorbar(mpl.cm.ScalarMappable(norm, UNMET), cax=unmet, orientation="horizontal")
    bar.set_label("Demandes non satisfaites du département", fontsize=8)
    bar.ax.xaxis.set_label_position("top")
    bar.ax.tick_params(labelsize=7)
    fig.legend(
        handles=[
            Patch(facecolor=NO_RATE, edgecolor="#000000", label="taux secret (aire sans couleur)"),
            Patch(facecolor=SECRET_FILL, hatch="///", edgecolor="#6b6b6b", label="nombre secret"),
        ],
        loc="lower center",
        bbox_to_anchor=(0.5, 0.0),
        ncol=2,
        fontsize=7,
        frameon=False,
    )


def _figure(size: tuple[float, float]) -> Figure:
    fig = Figure(figsize=size, dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def draw_map(data: MapData) -> Figure:
    """The map as a figure (its aires' circles carry ``aire-<code>`` ids)."""
    with mpl.rc_context(FONT):
        fig = _figure(MAP_SIZE)
        published = [v for v in data.unmet.values() if v is not None]
        norm = Normalize(0, max([*published, 1]))
        metropolitan = [c for c in boundaries() if c not in OVERSEAS]
        if data.departement is None:
            ax = fig.add_axes((0.2, 0.12, 0.78, 0.8))
            _shade(ax, metropolitan, data, norm, grey=False)
            _frame(ax, metropolitan, 0.02)
            _points(ax, [a for a in data.aires if a.departement not in OVERSEAS], 0.04)
            for n, code in enumerate(OVERSEAS):
                inset = fig.add_axes((0.01, 0.76 - n * 0.15, 0.16, 0.13))
                _shade(inset, [code], data, norm, grey=False)
                _frame(inset, [code], 0.08)
                _points(inset, [a for a in data.aires if a.departement == code], 0.01)
                inset.set_title(boundaries()[code][0], fontsize=7)
        else:
            ax = fig.add_axes((0.05, 0.12, 0.9, 0.8))
            code = data.departement
            if code not in OVERSEAS:
                _shade(ax, _neighbours(code), data, norm, grey=True)
            _shade(ax, [code], data, norm, grey=False)
            _frame(ax, [code], 0.05)
            _points(ax, [a for a in data.aires if a.departement == code], 0.006)
        fig.suptitle(data.title, fontsize=11)
        _legend(fig, norm)
        return fig


def draw_series(data: SeriesData) -> Figure:
    with mpl.rc_context(FONT):
        fig = _figure(SERIES_SIZE)
        ax = fig.add_axes((0.08, 0.22, 0.84, 0.66))
        months = [m for m, _, _ in data.months]
        xs = list(range(len(months)))
        unmet = [u if u is not None else 0 for _, _, u in data.months]
        right = ax.twinx()
        right.bar(xs, unmet, color=UNMET(0.6), width=0.6, label="demandes non satisfaites")
        right.set_ylabel("Demandes non satisfaites", fontsize=8)
        right.set_ylim(0, max([*unmet, 4]) * 1.1)
        right.yaxis.set_major_locator(MaxNLocator(integer=True))
        rates = [float(r) * 100 if r is not None else math.nan for _, r, _ in data.months]
        ax.plot(xs, rates, color=RATES(0.3), marker="o", markersize=3, label="taux d'occupation")
        for x, (_, rate, _) in zip(xs, data.months, strict=True):
            if rate is None:  # the rate secret: the month greyed, the line broken
                ax.axvspan(x - 0.5, x + 0.5, color=SECRET_FILL, zorder=0, linewidth=0)
        hidden = [x for x, (_, _, u) in zip(xs, data.months, strict=True) if u is None]
        right.plot(
            hidden,
            [0] * len(hidden),
            linestyle="none",
            marker="x",
            markersize=6,
            color="#555555",
            clip_on=False,
            label="demandes : nombre secret",
        )
        ax.set_zorder(right.get_zorder() + 1)
        ax.patch.set_visible(False)
        ax.set_ylim(0, 100)
        ax.set_ylabel("Taux d'occupation (%)", fontsize=8)
        step = max(1, len(months) // 12)
        ax.set_xticks(xs[::step], months[::step], rotation=45, fontsize=7)
        ax.set_xlim(-0.5, max(len(months), 1) - 0.5)
        if not months:
            ax.text(0, 50, "aucun mois publié", ha="center", va="center", fontsize=10)
        fig.suptitle(data.title, fontsize=11)
        fig.legend(
            handles=[
                *ax.get_legend_handles_labels()[0],
                *right.get_legend_handles_labels()[0],
                Patch(facecolor=SECRET_FILL, label="taux secret"),
            ],
            loc="lower center",
            ncol=4,
            fontsize=7,
            frameon=False,
        )
        return fig


def to_bytes(fig: Figure, fmt: str) -> bytes:
    """PNG or SVG, without the dates and software versions that would differ by run."""
    out = io.BytesIO()
    metadata: dict[str, Any] = (
        {"Software": None} if fmt == "png" else {"Date": None, "Creator": None}
    )
    with mpl.rc_context(FONT):
        fig.savefig(out, format=fmt, dpi=DPI, metadata=metadata)
    return out.getvalue()


def pixel(fig: Figure, code: str) -> tuple[float, float]:
    """Where aire ``code``'s point is on the PNG (x from the left, y from the top)."""
    for ax in fig.axes:
        ax.apply_aspect()  # as drawing does: the box shrinks to the aspect
        for patch in ax.patches:
            if patch.get_gid() == f"aire-{code}":
                assert isinstance(patch, Ellipse)
                x, y = ax.transData.transform(patch.center)
                return float(x), float(fig.bbox.height - y)
    raise KeyError(code)


def render_map(data: MapData, fmt: str) -> bytes:
    with _DRAWING:
        return to_bytes(draw_map(data), fmt)


def render_series(data: SeriesData, fmt: str) -> bytes:
    with _DRAWING:
        return to_bytes(draw_series(data), fmt)
