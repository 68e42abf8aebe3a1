"""The replay benchmark's "orjson floor" (``bench/replay.py``, ``Raw.select_and_reserialise``)
reads the very rows the verification of the aires' and stays' chains reads, and does the
re-serialisation work any orjson-based verification pays for each: a ceiling measured on the
same rows, or it would mean nothing."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest
from bench.replay import Raw, _verify_aires_and_stays

from hacienda_ledger.aggregates.aire import Aire
from hacienda_ledger.aggregates.stay import Stay
from hacienda_ledger.application import Ledger
from hacienda_ledger.generator import generate
from hacienda_ledger.settings import Settings


def test_the_orjson_floor_goes_over_every_row_verification_reads(settings: Settings) -> None:
    generate(settings, aires=1, years=1, seed=5, start_year=2025, days=20)
    ledger = Ledger(settings)
    try:
        aires, stays = list(ledger.ids_of(Aire.Registered)), list(ledger.ids_of(Stay.Opened))
        verified = _verify_aires_and_stays(ledger, aires, stays, 1)
    finally:
        ledger.close()
    raw = Raw(settings)
    assert len(stays) > 5
    assert raw.select_and_reserialise(aires + stays) == raw.select_and_hash(aires + stays)
    assert raw.select_and_hash(aires + stays) == verified

    # It checks, as verification does, that the stored bytes are orjson's compact form: a
    # row with a space inserted is not something it measures.
    spaced = "replace({text}, '{{\"', '{{ \"')"
    where = "WHERE originator_id = {p} AND originator_version = 1"
    if settings.is_postgres:
        text = spaced.format(text="convert_from(state, 'UTF8')")
        with psycopg.connect(settings.database_url) as conn:
            conn.execute(
                f"UPDATE ledger_events SET state = convert_to({text}, 'UTF8') "
                + where.format(p="%s"),
                (stays[0],),
            )
    else:
        text = spaced.format(text="CAST(state AS TEXT)")
        conn = sqlite3.connect(settings.sqlite_path)
        with conn:
            conn.execute(
                f"UPDATE stored_events SET state = CAST({text} AS BLOB) " + where.format(p="?"),
                (stays[0].hex,),
            )
        conn.close()
    with pytest.raises(AssertionError):
        raw.select_and_reserialise([stays[0]])
