"""ASGI entry point for servers started by import string (several workers):
``uvicorn hacienda_ledger.api.main:app``. Settings come from ``HACIENDA_*``."""

from hacienda_ledger.api.app import create_app

app = create_app()
