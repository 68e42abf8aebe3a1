"""Handlers, one module per aggregate they handle; importing the package files them all."""

from hacienda_ledger.application.handlers import (
    aires,
    documents,
    households,
    interventions,
    registers,
    seals,
    stays,
    users,
)

__all__ = [
    "aires",
    "documents",
    "households",
    "interventions",
    "registers",
    "seals",
    "stays",
    "users",
]
