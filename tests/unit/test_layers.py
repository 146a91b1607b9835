"""Maps and lists held as layers read as the plain dict or list they stand for (issue 10).

``bot/infra/sheet/layers.py`` keeps 入出庫's day-long maps as stacks of dicts shared
between reads instead of copies. These tests hold each to the plain computation over
random histories: every map is the union (or, for counts, the sum) of what was stacked,
every list the concatenation of what it grew by, whichever older view grows next.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.infra.sheet.layers import Counts, Grown, Layers, OnLayers

batches = st.lists(st.lists(st.integers(0, 10_000), max_size=40), max_size=25)


@settings(max_examples=200, deadline=None)
@given(batches=batches, probes=st.lists(st.integers(-5, 10_005), max_size=30))
def test_layers_stacked_batch_by_batch_read_as_the_union_of_the_batches(
    batches: list[list[int]], probes: list[int]
) -> None:
    layers: Layers[int, str] = Layers()
    plain: dict[int, str] = {}
    seen: set[int] = set()
    for n, batch in enumerate(batches):
        top = {k: f"{n}:{k}" for k in batch if k not in seen}  # keys live in one layer
        seen |= set(top)
        before = layers
        layers = layers.stacked(top)
        plain.update(top)
        assert dict(layers.items()) == plain and len(layers) == len(plain)
        assert list(layers) == list(plain)  # oldest first, as a dict filled in order
        assert len(layers.layers) <= 2 + len(plain).bit_length()  # O(log n) layers
        assert before.stacked({}) is before
    for key in [*probes, *plain]:
        assert (key in layers) == (key in plain)
        assert layers.get(key) == plain.get(key)


@settings(max_examples=200, deadline=None)
@given(batches=st.lists(st.lists(st.sampled_from("abcdefg"), max_size=12), max_size=25))
def test_counts_stacked_batch_by_batch_read_as_the_sum_of_the_batches(
    batches: list[list[str]],
) -> None:
    counts: Counts[str] = Counts.of({})
    plain: Counter[str] = Counter()
    for batch in batches:
        counts = counts.stacked(Counter(batch))
        plain.update(batch)
        assert dict(counts.items()) == dict(plain) and len(counts) == len(plain)
        for key in "abcdefgh":
            assert counts.get(key, 0) == plain.get(key, 0)


@settings(max_examples=200, deadline=None)
@given(base=st.dictionaries(st.integers(0, 50), st.text(max_size=2), max_size=20), data=st.data())
def test_a_layered_map_reads_as_its_base_updated_with_what_was_written(
    base: dict[int, str], data: st.DataObject
) -> None:
    layered: OnLayers[int, str] = OnLayers(Layers.of(base))
    plain = dict(base)
    for key, value in data.draw(st.lists(st.tuples(st.integers(0, 80), st.text(max_size=2)))):
        layered[key] = value
        plain[key] = value
    assert dict(layered.items()) == plain and len(layered) == len(plain)
    assert layered == plain
    for key in range(-1, 82):
        assert (key in layered) == (key in plain)
        assert layered.get(key) == plain.get(key)
    assert dict(base) == dict(Layers.of(base).items())  # the base is never written to
    own = [k for k in plain if k not in base]
    for key in own:
        del layered[key]
    if base:
        with pytest.raises(TypeError):
            del layered[next(iter(base))]


@settings(max_examples=200, deadline=None)
@given(steps=st.lists(st.tuples(st.integers(0, 30), st.lists(st.integers(), max_size=5))))
def test_grown_views_read_as_their_own_history_whichever_older_view_grows(
    steps: list[tuple[int, list[int]]],
) -> None:
    views: list[tuple[Grown[int], list[int]]] = [(Grown(), [])]
    for pick, more in steps:
        view, plain = views[pick % len(views)]
        views.append((view.grown(more), [*plain, *more]))
        for each, expected in views:  # no view ever sees what another grew by
            assert each.items() == expected
            assert each == Grown(list(expected), len(expected))


def test_the_newest_view_grows_in_place_and_an_older_one_grows_a_copy() -> None:
    first: Grown[Any] = Grown().grown([1, 2])
    second = first.grown([3])
    assert second.shared is first.shared  # grown in place: nothing copied
    third = first.grown([9])
    assert third.shared is not first.shared
    assert (first.items(), second.items(), third.items()) == ([1, 2], [1, 2, 3], [1, 2, 9])
