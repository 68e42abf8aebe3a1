"""Read models built from the event stream (see docs/projections.md)."""
