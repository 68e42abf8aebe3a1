"""The reports: figures (``reports.figures``) laid out as report models (``render.py``).

``monthly`` (rapport mensuel d'activité, ``activity.py``, with the register's month in
``cash.py`` and the régie at the month's end in ``regie.py``), ``alt2`` (déclaration
annuelle ALT2 of one aire), ``alt2_summary`` (the operator-wide ALT2 summary) and ``dsp``
(rapport annuel du délégataire), all three in ``annual.py``. Their tables are declared as
data (``reports.tables``); ``common.py`` holds what they share.
"""

from hacienda_ledger.reports.kinds.activity import monthly
from hacienda_ledger.reports.kinds.annual import alt2, alt2_summary, dsp
from hacienda_ledger.reports.kinds.common import KINDS, TITLES

__all__ = ["KINDS", "TITLES", "alt2", "alt2_summary", "dsp", "monthly"]
