"""Handlers, one module per aggregate they handle; importing the package files them all."""

from hacienda_ledger.application.handlers import (
    aires,
    households,
    interventions,
    registers,
    seals,
    stays,
    users,
)

__all__ = ["aires", "households", "interventions", "registers", "seals", "stays", "users"]
