"""bot.shell.heap: the catalogue out of the collector's walks, the collector out of the cycle."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from bot.shell import heap


@pytest.fixture(autouse=True)
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()
    gc.enable()


class Node:
    other: object = None


def pair() -> weakref.ref[Node]:
    """A reference cycle nobody holds once this returns; a weak reference to it."""
    a, b = Node(), Node()
    a.other, b.other = b, a
    return weakref.ref(a)


def test_settle_freezes_what_is_alive_and_collects_garbage_first() -> None:
    gone = pair()
    kept = [[i] for i in range(1000)]

    frozen = heap.settle()

    assert frozen == gc.get_freeze_count() > len(kept)
    walked = {id(o) for o in gc.get_objects()}  # what later collections look at
    assert not any(id(row) in walked for row in kept)  # frozen: out of every walk
    assert gc.is_tracked(kept[0])
    assert gone() is None  # the cycle was collected before the freeze, not frozen


def test_a_small_catalogue_is_left_to_the_collector() -> None:
    h = heap.Heap()
    assert h.settle_if_large(heap.LARGE_CATALOGUE - 1) is False
    assert gc.get_freeze_count() == 0
    with h.cycle():
        assert gc.isenabled()


def test_a_large_catalogue_is_settled_once_asked() -> None:
    h = heap.Heap()
    assert h.settle_if_large(heap.LARGE_CATALOGUE) is True
    assert gc.get_freeze_count() > 0


def test_a_settled_cycle_runs_without_the_collector_and_collects_its_garbage_after() -> None:
    h = heap.Heap(large=1, young_every=1)
    h.settle_if_large(1)
    with h.cycle():
        assert not gc.isenabled()
        gone = pair()
        kept = [[i] for i in range(100)]
        assert gone() is not None  # no collection while the cycle runs
    assert gone() is None  # the cycle's cyclic garbage did not outlive it
    walked = {id(o) for o in gc.get_objects()}
    assert id(kept[0]) not in walked  # what it left alive: frozen out of later walks
    assert gc.is_tracked(kept[0])


def test_the_young_collection_comes_every_young_every_cycles() -> None:
    h = heap.Heap(large=1, young_every=3)
    h.settle_if_large(1)
    gone = []
    for _ in range(2):
        with h.cycle():
            gone.append(pair())
        assert not gc.isenabled()  # nor between cycles: the heap collects, not the counter
    assert all(ref() is not None for ref in gone)  # waiting for the third cycle
    with h.cycle():
        kept = [[i] for i in range(100)]
    assert all(ref() is None for ref in gone)  # the three cycles' garbage, at once
    walked = {id(o) for o in gc.get_objects()}
    assert id(kept[0]) not in walked  # and what they left alive is frozen


def test_a_cycle_that_raises_counts_like_any() -> None:
    h = heap.Heap(large=1, young_every=1)
    h.settle_if_large(1)
    gone = None
    with pytest.raises(RuntimeError), h.cycle():
        gone = pair()
        raise RuntimeError("sheet down")
    assert gone is not None and gone() is None


def test_a_collector_turned_back_on_is_off_again_in_the_next_cycle() -> None:
    h = heap.Heap(large=1)
    h.settle_if_large(1)
    gc.enable()  # a library, or a debugging session
    with h.cycle():
        assert not gc.isenabled()


def test_frozen_cyclic_garbage_is_collected_every_full_every_cycles() -> None:
    a, b = Node(), Node()
    a.other, b.other = b, a
    gone = weakref.ref(a)
    h = heap.Heap(large=1, full_every=3)
    h.settle_if_large(1)  # the pair is alive: frozen
    del a, b
    for _ in range(2):
        with h.cycle():
            pass
    assert gone() is not None  # frozen: no collection looks at it between full ones
    with h.cycle():
        pass
    assert gone() is None
    assert gc.get_freeze_count() > 0  # what is alive is frozen again


def test_trim_returns_free_memory_where_the_c_library_can() -> None:
    assert heap.trim() is (heap._TRIM is not None)


def test_trim_is_harmless_without_malloc_trim(monkeypatch: pytest.MonkeyPatch) -> None:
    """macOS and musl have no malloc_trim: settling still works, trimming says no."""
    monkeypatch.setattr(heap, "_TRIM", None)
    assert heap.trim() is False
    assert heap.settle() == gc.get_freeze_count()


def test_a_library_without_malloc_trim_is_found_out(monkeypatch: pytest.MonkeyPatch) -> None:
    class NoTrim:
        def __init__(self, name: object) -> None:
            pass

    monkeypatch.setattr(heap.ctypes, "CDLL", NoTrim)
    assert heap._malloc_trim() is None


def test_a_large_catalogue_fixes_the_mmap_threshold_and_a_small_one_keeps_the_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[int, int]] = []

    def mallopt(param: int, value: int) -> int:
        calls.append((param, value))
        return 1

    monkeypatch.setattr(heap, "_MALLOPT", mallopt)
    heap.Heap().settle_if_large(heap.LARGE_CATALOGUE - 1)
    assert calls == []
    h = heap.Heap()
    h.settle_if_large(heap.LARGE_CATALOGUE)
    h.settle_if_large(heap.LARGE_CATALOGUE)
    assert calls == [(heap.M_MMAP_THRESHOLD, 128 * 1024)]


def test_fix_mmap_threshold_sets_it_where_the_c_library_can() -> None:
    assert heap.fix_mmap_threshold() is (heap._MALLOPT is not None)


def test_a_library_without_mallopt_settles_all_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    """macOS and musl have no mallopt of glibc's kind: a large catalogue still settles."""
    monkeypatch.setattr(heap, "_MALLOPT", None)
    assert heap.fix_mmap_threshold() is False
    assert heap.Heap().settle_if_large(heap.LARGE_CATALOGUE) is True


def test_a_library_without_mallopt_is_found_out(monkeypatch: pytest.MonkeyPatch) -> None:
    class NoMallopt:
        def __init__(self, name: object) -> None:
            pass

    monkeypatch.setattr(heap.ctypes, "CDLL", NoMallopt)
    assert heap._mallopt() is None
