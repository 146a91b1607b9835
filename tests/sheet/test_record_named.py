"""The usual cycle's record takes the engine's changed targets (issue 10 item 3).

The plan names the listings whose target changed (``Plan.changed_targets``); the
出品状況 book looks at those, the pushed ones and last time's, without walking the
100,000 targets by identity. The property test (tests/unit/test_listing_book_handed.py)
holds the named path to the walk; this one pins that real cycles take it.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.core import engine
from bot.core.domain import PushResult, PushStatus
from bot.infra.sheet import listing_book
from bot.infra.sheet.gateway import state_values
from tests.sheet.conftest import LISTINGS, Book, product_row


def test_the_usual_cycle_records_the_named_targets_without_a_walk(
    book: Book, monkeypatch: pytest.MonkeyPatch
) -> None:
    book.add_products([product_row(f"NAMED{i:03d}", stock=5) for i in range(40)])
    gw = book.gateway()
    gw.load_startup()
    took = listing_book._Handed.took
    named: list[bool] = []

    def spy(self: listing_book._Handed, *args: Any) -> None:
        named.append(self.exact)
        took(self, *args)

    monkeypatch.setattr(listing_book._Handed, "took", spy)
    state = engine.EngineState()
    for cycle in range(4):
        read = gw.read(state.stock)
        plan = engine.step(state, read.snapshot, [], book.clock.now())
        values = state_values({}, plan.next_state.conditions, plan.next_state.stock)
        result = gw.commit(plan, read, values, bot_stock=state.stock, commit_id=f"c{cycle}")
        assert not result.conflict
        state = engine.committed(plan)
        pushed = [(p, PushResult(p.code, PushStatus.APPLIED, p.quantity)) for p in plan.pushes]
        now = book.clock.now()
        gw.record(result.read, pushed, [], plan.targets, [], now, f"c{cycle}", plan.changed_targets)
        state = engine.replace_listings(
            state,
            {
                **state.listings,
                **{p.key: engine.ListingState(pushed=p.quantity) for p, _ in pushed},
            },
        )
        book.set_cell(f"NAMED{cycle + 3:03d}", "在庫数", 1)  # a staff edit: one new target
        book.clock.advance(15)

    assert named == [False, True, True, True]  # the first: nothing handed before
    shown = {r["モール商品コード"]: r["表示在庫"] for r in book.records(LISTINGS)}
    assert shown["named005"] == 1 and shown["named000"] == 5
