"""The record step through the real worker: summary rows, partial failures, 再送, staff sorts.

Sizes are shrunk where a test needs many batchUpdates or a bulk push from a six-product
shop (the push threshold, the piece and body budgets); tests/sheet/test_record.py runs
the same code at its real sizes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest

from bot.core import words
from bot.core.domain import AlertKind
from bot.infra.sheet import budget
from bot.infra.sheet.layout import column_letter
from tests.e2e.conftest import (
    LISTINGS,
    MALL_LOG,
    PRODUCTS,
    Shop,
    assert_mall_matches_sheet,
    make_shop,
)

GHOST = ("GHOST", "楽天に無い商品", 3, "ghost:none")
"""A product whose 楽天コード the mall does not have (its push fails: コードなし)."""


@pytest.fixture
def bulk_of_two(monkeypatch: pytest.MonkeyPatch) -> None:
    """More than two pushes to one channel in a cycle count as a bulk push."""
    monkeypatch.setattr("bot.shell.push_log.BULK_PUSH_ROWS", 2)


@pytest.fixture
def tiny_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """One or two rows a batchUpdate, so a six-product record takes several."""
    monkeypatch.setattr(budget, "PIECE_BYTES", 400)
    monkeypatch.setattr("bot.infra.sheet.record.MAX_REQUEST_BYTES", 5_200)


@pytest.fixture
def ghost_shop() -> Iterator[Shop]:
    s = make_shop(products=[*PRODUCTS, GHOST])
    yield s
    s.alerts.close()


def writes(shop: Shop) -> int:
    return shop.emu.counts()["write"]


@pytest.mark.usefixtures("bulk_of_two")
def test_a_cold_start_logs_one_summary_row_and_each_failed_listing(ghost_shop: Shop) -> None:
    shop = ghost_shop
    report = shop.cycle()

    assert report.pushes == {"rakuten": 6}
    rows = shop.rows(MALL_LOG)
    summary, failed = rows
    assert summary["結果"] == words.say("shell.push_bulk_result")
    assert summary["モール"] == "楽天" and not summary["モール商品コード"]
    assert "楽天 に 6件の在庫をまとめて送りました（成功 5件・失敗 1件）" in summary["詳細"]
    assert failed["モール商品コード"] == "ghost:none"
    assert failed["結果"] == words.say("engine.push_unknown_code")
    # 出品状況 still has every listing, with its own number and result.
    assert shop.listing("ghost:none")["結果"].startswith(words.say("engine.push_unknown_code"))
    assert shop.listing("tshirt:m")["表示在庫"] == 10
    assert_mall_matches_sheet(shop)


@pytest.mark.usefixtures("tiny_batches")
def test_a_record_failing_halfway_is_finished_next_cycle_with_nothing_twice(
    ghost_shop: Shop,
) -> None:
    shop = ghost_shop
    shop.emu.reset_counts()
    # Writes of the first cycle: the commit, then the record's batchUpdates; the third
    # write (the record's second batch) and its retries are refused.
    shop.emu.before_next(lambda: shop.emu.fail_next(503, times=5), 3, kind="write")

    first = shop.cycle()

    assert first.committed and first.error  # the record stopped part-way
    assert writes(shop) >= 3
    shop.run_until_quiet()
    logged = Counter(r["モール商品コード"] for r in shop.rows(MALL_LOG))
    assert logged == Counter(
        {code: 1 for code in ("tshirt:m", "tshirt:l", "mug:blue", "soap:single", "gift:set")}
        | {"ghost:none": 1}
    )
    codes = [r["モール商品コード"] for r in shop.rows(LISTINGS)]
    assert sorted(codes) == sorted(logged)  # every listing once
    assert_mall_matches_sheet(shop)


def test_a_ticked_resend_is_pushed_within_the_minute_and_unticked(shop: Shop) -> None:
    shop.run_until_quiet()
    shop.sim.set_stock("mug:blue", 40)  # someone typed a number on 楽天 by hand
    row = next(
        i for i, r in enumerate(shop.rows(LISTINGS), start=2) if r["モール商品コード"] == "mug:blue"
    )
    letter = column_letter(shop.grid(LISTINGS)[0].index("再送"))
    shop.emu.set_values(shop.sid, LISTINGS, f"{letter}{row}", [[True]])

    for _ in range(6):  # 90 s: the quiet-shop check runs once a minute
        shop.cycle()

    assert shop.live("mug:blue") == 6
    assert shop.listing("mug:blue")["再送"] in ("", None, False)
    assert not shop.alerts_of(AlertKind.DRIFT)  # re-sent on the tick, not found as drift


def test_staff_sorting_the_listings_tab_keeps_every_row_right(shop: Shop) -> None:
    shop.run_until_quiet()
    col = shop.grid(LISTINGS)[0].index("表示在庫")
    shop.emu.sort_rows(shop.sid, LISTINGS, col, descending=True)
    order = [r["モール商品コード"] for r in shop.rows(LISTINGS)]

    shop.order(("tshirt:m", 2))
    shop.run_until_quiet()

    assert [r["モール商品コード"] for r in shop.rows(LISTINGS)] == order  # staff's order
    for row in shop.rows(LISTINGS):
        assert row["表示在庫"] == shop.live(str(row["モール商品コード"])), row
    assert shop.listing("tshirt:m")["表示在庫"] == 8


def test_a_listings_row_staff_deleted_comes_back(shop: Shop) -> None:
    shop.run_until_quiet()
    shop.emu.delete_rows(shop.sid, LISTINGS, 2, 3)
    assert len(shop.rows(LISTINGS)) == 4

    shop.order(("soap:single", 1))
    shop.run_until_quiet()

    codes = sorted(r["モール商品コード"] for r in shop.rows(LISTINGS))
    assert codes == sorted(["tshirt:m", "tshirt:l", "mug:blue", "soap:single", "gift:set"])
    for row in shop.rows(LISTINGS):
        assert row["表示在庫"] == shop.live(str(row["モール商品コード"])), row
