"""Analytics (issue 19): usage of the aires by place and time, anonymised, for collectivités
and the State. The method, its limits and every column: docs/analytics.md.

The projection folds what the occupancy and revenue projections do not hold: where each
aire lies and whose it is, the collectivités' SIREN, and the moves of households between
départements. Its tables are facts; the published tables are computed from them by a job
(``analytics_tables.publish``, as of a day: an open stay counts up to the day asked about,
and suppression is a property of every published table together, never of one row) and
stored as a publication (``analytics_store.py``) that reads serve.

Tables:

``analytics_aires`` key ``(aire_id,)``
    ``code``, ``label`` (its name), ``insee_code`` (the commune), ``departement``,
    ``collectivite_id``, ``latitude``, ``longitude`` (decimal): its public identity and place.
``analytics_collectivites`` key ``(collectivite_id,)``
    ``siren``, ``label`` (its name).
``analytics_last_departement`` key ``(household_ref,)``
    ``departement`` of the household's last arrival. **Internal**: the one table keyed by a
    household, read by this fold only and never published (no route, no export reads it).
``analytics_moves`` key ``(month, from_departement, to_departement)``
    ``households``: arrivals in ``month`` (Paris day of ``arrived_at``) of households
    whose previous arrival, in the order recorded, was in another département.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from hacienda_ledger.aggregates.aire import Aire
from hacienda_ledger.aggregates.collectivite import Collectivite
from hacienda_ledger.aggregates.integrity import topic_of
from hacienda_ledger.aggregates.stay import Stay
from hacienda_ledger.projections.base import Projection, Rows, Table, month_of, paris_day, table

AIRES = "analytics_aires"
COLLECTIVITES = "analytics_collectivites"
LAST_DEPARTEMENT = "analytics_last_departement"
MOVES = "analytics_moves"
#: The tables published rows may be read from (never ``analytics_last_departement``).
PUBLIC_FACTS = (AIRES, COLLECTIVITES, MOVES)


class AnalyticsStreamError(LookupError):
    """A stay on an aire never registered: the stream contradicts the aggregates."""


class AnalyticsProjection(Projection):
    """Folds aires, collectivités and arrivals into the facts the analytics tables need."""

    name = "analytics"
    tables: tuple[Table, ...] = (
        table(
            AIRES,
            {"aire_id": "text"},
            code="text",
            label="text",
            insee_code="text",
            departement="text",
            collectivite_id="text",
            latitude="decimal",
            longitude="decimal",
        ),
        table(COLLECTIVITES, {"collectivite_id": "text"}, siren="text", label="text"),
        table(LAST_DEPARTEMENT, {"household_ref": "text"}, departement="text"),
        table(
            MOVES,
            {"month": "text", "from_departement": "text", "to_departement": "text"},
            households="int",
        ),
    )
    topics: tuple[str, ...] = tuple(
        topic_of(cls) for cls in (Aire.Registered, Collectivite.Registered, Stay.Opened)
    )

    def apply(self, event: Any, position: int, rows: Rows) -> None:
        if isinstance(event, Aire.Registered):
            rows.put(
                AIRES,
                {
                    "aire_id": str(event.originator_id),
                    "code": event.code,
                    "label": event.name,
                    "insee_code": event.insee_code,
                    "departement": event.departement,
                    "collectivite_id": str(event.collectivite_id),
                    "latitude": event.latitude,
                    "longitude": event.longitude,
                },
            )
        elif isinstance(event, Collectivite.Registered):
            rows.put(
                COLLECTIVITES,
                {
                    "collectivite_id": str(event.originator_id),
                    "siren": event.siren,
                    "label": event.name,
                },
            )
        elif isinstance(event, Stay.Opened):
            self._arrival(event, rows)

    @staticmethod
    def _arrival(event: Any, rows: Rows) -> None:
        aire = rows.get(AIRES, (str(event.aire_id),))
        if aire is None:
            raise AnalyticsStreamError(f"stay {event.originator_id} on an unknown aire")
        household = str(event.household_ref)
        here = aire["departement"]
        last = rows.get(LAST_DEPARTEMENT, (household,))
        if last is not None and last["departement"] != here:
            key = (month_of(paris_day(event.arrived_at)), last["departement"], here)
            move = rows.get(MOVES, key) or {
                "month": key[0],
                "from_departement": key[1],
                "to_departement": key[2],
                "households": 0,
            }
            move["households"] += 1
            rows.put(MOVES, move)
        rows.put(LAST_DEPARTEMENT, {"household_ref": household, "departement": here})


@cache
def regions() -> tuple[dict[str, str], dict[str, str]]:
    """The reference data shipped in ``data/departements-regions.json`` (INSEE, COG 2024):
    région code -> name, and département code -> région code (all 101)."""
    path = resources.files("hacienda_ledger").joinpath("data/departements-regions.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    return dict(data["regions"]), dict(data["departements"])
