"""A rebuild reads its next page while it folds one (``runner.ReadAhead``): a page read ahead
is used only when it is the one asked for next and is full; otherwise the source is asked
again, so that events recorded meanwhile are never missed."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from hacienda_ledger.projections.runner import ReadAhead


@dataclass
class Note:
    id: int
    topic: str = "t"


class Stream:
    """Positions 1..``end`` (``end`` may grow); every select is recorded."""

    def __init__(self, end: int) -> None:
        self.end = end
        self.asked: list[tuple[int, int, tuple[str, ...]]] = []

    def select(self, start: int, limit: int, topics: Sequence[str]) -> Sequence[Any]:
        self.asked.append((start, limit, tuple(topics)))
        return [Note(i, topics[0]) for i in range(start, min(start + limit, self.end + 1))]

    def decode(self, notification: Any) -> Any:
        return notification.id

    def decode_once(self, notification: Any) -> Any:
        return notification.id

    def max_position(self) -> int:
        return self.end


def test_full_pages_are_read_ahead_and_a_short_one_is_read_again() -> None:
    stream = Stream(end=10)
    with ThreadPoolExecutor(1) as executor:
        source = ReadAhead(stream, executor)
        assert [n.id for n in source.select(1, 4, ("t",))] == [1, 2, 3, 4]
        assert [n.id for n in source.select(5, 4, ("t",))] == [5, 6, 7, 8]  # read ahead
        assert source._next is not None
        source._next[1].result()  # 9..10 read ahead (the stream's end then)
        stream.end = 12  # recorded since: the short page is read again
        page = source.select(9, 4, ("t",))
        assert [n.id for n in page] == [9, 10, 11, 12]
    t = ("t",)
    assert stream.asked == [(1, 4, t), (5, 4, t), (9, 4, t), (9, 4, t), (13, 4, t)]


def test_a_page_read_ahead_for_another_ask_is_not_used() -> None:
    stream = Stream(end=20)
    with ThreadPoolExecutor(1) as executor:
        source = ReadAhead(stream, executor)
        source.select(1, 5, ("t",))
        assert source._next is not None
        source._next[1].result()  # 6..10 read ahead, and not used
        assert [n.id for n in source.select(3, 5, ("t",))] == [3, 4, 5, 6, 7]
        page = source.select(8, 5, ("u",))  # read ahead for ("t",): not used
        assert [(n.id, n.topic) for n in page] == [(i, "u") for i in range(8, 13)]
        assert source.max_position() == 20 and source.decode_once(Note(4)) == 4
    assert stream.asked[:3] == [(1, 5, ("t",)), (6, 5, ("t",)), (3, 5, ("t",))]
    assert (8, 5, ("u",)) in stream.asked
