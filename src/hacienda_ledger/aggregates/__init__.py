"""Pure domain: aggregates, their events, value types and errors. No IO, no logging."""
