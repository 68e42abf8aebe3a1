"""ASGI entry point for servers started by import string (several workers):
``uvicorn hacienda_ledger.api.main:app``. Settings come from ``HACIENDA_*``."""

from hacienda_ledger.api.app import create_app, tune_gc
from hacienda_ledger.settings import Settings

settings = Settings()
app = create_app(settings)
tune_gc(settings)
