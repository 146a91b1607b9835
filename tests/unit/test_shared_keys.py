"""One (mall, code) tuple per listing, shared by every long-lived map of listings.

At 100,000 listings a tuple built again for each map is megabytes that live as long
as the process (issue 10 item 5): the target's ``key`` is the one the engine's listing
knowledge, 出品状況's book and the read-back slices are keyed by.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.core import engine
from bot.core.domain import (
    ListingTarget,
    Product,
    PushReason,
    PushResult,
    PushStatus,
    Snapshot,
    StockPush,
)
from bot.infra.sheet.listing_book import ListingBook
from bot.shell.drift_slices import DriftSlices

NOW = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)


def _target(code: str, quantity: int = 1, **kw: object) -> ListingTarget:
    return ListingTarget(mall="rakuten", code=code, sku=code.upper(), quantity=quantity, **kw)  # type: ignore[arg-type]


def _stored_key(mapping: dict[tuple[str, str], object], key: tuple[str, str]) -> object:
    """The key object ``mapping`` holds for ``key`` (not the equal one asked with)."""
    return next(k for k in mapping if k == key)


def test_a_target_and_a_push_built_from_it_carry_one_key_tuple() -> None:
    target = _target("a:1")
    assert target.key == ("rakuten", "a:1")
    push = StockPush(mall="rakuten", code="a:1", quantity=1, key=target.key)
    assert push.key is target.key
    assert StockPush(mall="rakuten", code="a:1", quantity=1).key == ("rakuten", "a:1")
    wrong = StockPush(mall="rakuten", code="a:1", quantity=1, key=("yahoo", "x"))
    assert wrong.key == ("rakuten", "a:1")  # a key that is not its own is not taken
    assert _target("a:1") == target  # the key takes no part in equality


def test_the_engines_listing_knowledge_is_keyed_by_the_targets_own_tuples() -> None:
    products = {
        s: Product(sku=s, stock=3, codes={"rakuten": (f"{s.lower()}:v",)}) for s in ("A", "B")
    }
    plan = engine.step(engine.EngineState(), Snapshot(products=products), [], NOW)
    assert {p.key for p in plan.pushes} == {t.key for t in plan.targets}
    results = [PushResult(code=p.code, status=PushStatus.APPLIED) for p in plan.pushes]
    state, _, _ = engine.after_push(engine.committed(plan), plan.pushes, results, NOW)
    for target in plan.targets:
        assert _stored_key(dict(state.listings), target.key) is target.key

    slices = DriftSlices()
    parts = [slices.part(state.listings, i, 2) for i in range(2)]
    by_value = {k: k for part in parts for k in part}
    assert all(by_value[t.key] is t.key for t in plan.targets)
    assert sorted(by_value) == sorted(state.listings)


def test_the_listing_book_keys_its_rows_by_the_targets_tuples() -> None:
    book = ListingBook(dirty=False)
    targets = [_target("a:1"), _target("b:1")]
    book.want(targets, [], NOW, str)
    for t in targets:
        assert _stored_key(dict(book.owed), t.key) is t.key
    for row, key in enumerate(list(book.owed), start=1):
        book.landed(key, row)
    for t in targets:
        assert _stored_key(dict(book.entries), t.key) is t.key


def test_the_book_looks_again_only_at_targets_it_was_not_handed() -> None:
    book = ListingBook(dirty=False)
    targets = [_target("a:1"), _target("b:1"), _target("c:1")]
    book.want(targets, [], NOW, str)
    for row, key in enumerate(list(book.owed), start=1):
        book.landed(key, row)

    book.want(list(targets), [], NOW, str)  # the same objects again: nothing owed
    assert book.owed == {}

    stopped = _target("b:1", reason=PushReason.STOPPED, why="連動停止")
    book.want([targets[0], stopped, targets[2]], [], NOW, str)  # same count, one replaced
    assert list(book.owed) == [stopped.key]
    assert book.owed[stopped.key].cols == frozenset({"reason"})
    book.landed(stopped.key, 2)

    added = _target("d:1")
    book.want([targets[0], stopped, added, targets[2]], [], NOW, str)  # one more listing
    assert list(book.owed) == [added.key]
    book.landed(added.key, 4)

    book.want([targets[0], targets[1], targets[2]], [], NOW, str)  # d gone, b back to rule
    assert list(book.owed) == [targets[1].key]
    assert book.owed[targets[1].key].cols == frozenset({"reason"})


def test_pushed_listings_are_owed_with_their_result_even_when_handed_before() -> None:
    book = ListingBook(dirty=False)
    targets = [_target("a:1"), _target("b:1")]
    book.want(targets, [], NOW, str)
    for row, key in enumerate(list(book.owed), start=1):
        book.landed(key, row)

    push = StockPush(mall="rakuten", code="b:1", quantity=1, sku="B:1", key=targets[1].key)
    book.want(targets, [(push, PushResult(code="b:1", status=PushStatus.APPLIED))], NOW, str)
    assert list(book.owed) == [targets[1].key]
    assert book.owed[targets[1].key].pushed


def test_listings_pushed_alike_share_one_state_object() -> None:
    products = {
        s: Product(sku=s, stock=3, codes={"rakuten": (f"{s.lower()}:v",)}) for s in ("A", "B", "C")
    }
    products["C"] = Product(sku="C", stock=5, codes={"rakuten": ("c:v",)})
    plan = engine.step(engine.EngineState(), Snapshot(products=products), [], NOW)
    results = [PushResult(code=p.code, status=PushStatus.APPLIED) for p in plan.pushes]
    state, _, _ = engine.after_push(engine.committed(plan), plan.pushes, results, NOW)
    a, b, c = (state.listings[("rakuten", f"{s}:v")] for s in "abc")
    assert a is b  # pushed alike: one object
    assert (a.pushed, a.expected, a.at) == (3, 3, NOW)
    assert (c.pushed, c.expected, c.at) == (5, 5, NOW)
