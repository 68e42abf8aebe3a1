"""``python -m hacienda_ledger.cli``: the same as ``hacienda-ledger``."""

from hacienda_ledger.cli import main

raise SystemExit(main())
