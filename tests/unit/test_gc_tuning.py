"""A served process collects garbage less often and leaves start-up objects alone."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from hacienda_ledger.api.app import tune_gc
from hacienda_ledger.settings import Settings


@pytest.fixture
def restored() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_tune_gc_raises_the_threshold_and_freezes_what_exists(restored: None) -> None:
    tune_gc(Settings(database_url="sqlite:///:memory:"))
    assert gc.get_threshold() == (50_000, 20, 100)
    assert gc.get_freeze_count() > 0


def test_tune_gc_can_be_turned_off(restored: None) -> None:
    before = gc.get_threshold()
    tune_gc(Settings(database_url="sqlite:///:memory:", gc_threshold0=0))
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
