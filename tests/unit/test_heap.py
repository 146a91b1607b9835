"""bot.shell.heap: the first cycle's objects leave the collector's walks (issue 10 item 3)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from bot.shell import heap


@pytest.fixture(autouse=True)
def unfrozen() -> Iterator[None]:
    thresholds = gc.get_threshold()
    gc.unfreeze()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_settle_freezes_what_is_alive_and_collects_garbage_first() -> None:
    class Node:
        other: object = None

    a, b = Node(), Node()
    a.other, b.other = b, a  # a reference cycle nobody holds after the del
    gone = weakref.ref(a)
    del a, b
    kept = [[i] for i in range(1000)]

    frozen = heap.settle()

    assert frozen == gc.get_freeze_count() > len(kept)
    walked = {id(o) for o in gc.get_objects()}  # what later collections look at
    assert not any(id(row) in walked for row in kept)  # frozen: out of every walk
    assert gc.is_tracked(kept[0])
    assert gone() is None  # the cycle was collected before the freeze, not frozen
    assert gc.get_threshold() == heap.THRESHOLDS


def test_a_small_catalogue_is_left_to_the_collector() -> None:
    assert heap.settle_if_large(heap.LARGE_CATALOGUE - 1) is False
    assert gc.get_freeze_count() == 0


def test_a_large_catalogue_is_settled_once_asked() -> None:
    assert heap.settle_if_large(heap.LARGE_CATALOGUE) is True
    assert gc.get_freeze_count() > 0
