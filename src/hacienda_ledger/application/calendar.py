"""Working days where an aire is: Monday to Friday, less France's public holidays.

The holidays come from the ``holidays`` package (python-holidays, maintained by the Vacanza
team: the official French jours fériés, computed for any year, Easter-based ones included).
The département picks the local calendar where the law adds days: Moselle (57) adds Good
Friday and 26 December, Bas-Rhin and Haut-Rhin (67, 68) the same (the package's ``57`` and
``6AE``), and the overseas départements (971 to 976) their own, such as the abolition of
slavery. Elsewhere: the eleven national holidays (1 January, Easter Monday, 1 and 8 May,
Ascension, Whit Monday, 14 July, 15 August, 1 and 11 November, 25 December).

``working_days(departement)`` is the predicate the domain's rules take (``is_working``,
see ``aggregates/register_rules.py``). A year's holidays are computed once per process.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import lru_cache

import holidays

#: Départements whose calendar adds local public holidays, and the package's subdivision.
LOCAL_CALENDARS = {
    "57": "57",
    "67": "6AE",
    "68": "6AE",
    "971": "971",
    "972": "972",
    "973": "973",
    "974": "974",
    "976": "976",
}


@lru_cache(maxsize=256)
def public_holidays(year: int, subdivision: str | None = None) -> frozenset[date]:
    """The French public holidays of a year (of a subdivision's calendar, if given)."""
    return frozenset(holidays.country_holidays("FR", subdiv=subdivision, years=year))


def working_days(departement: str | None = None) -> Callable[[date], bool]:
    """Whether a day is a working day (jour ouvré) in the département: Monday to Friday and
    not a public holiday there."""
    subdivision = LOCAL_CALENDARS.get((departement or "").strip().upper())

    def is_working(day: date) -> bool:
        return day.weekday() < 5 and day not in public_holidays(day.year, subdivision)

    return is_working
