"""The cycle that learns a feed's outcome writes 反映日時 and 結果 alone, to the same tab.

Two Amazon shops run the same cycles on the emulator: one as the bot is, one whose book
rewrites a late outcome's whole row (as it did before). 出品状況 is the same in both
after every cycle, and the late outcomes of the real one took the small write.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.infra.sheet import listing_book
from bot.infra.sheet.listing_book import ALL, RESULT_COLS, ListingBook, Owed, Shown
from tests.e2e.test_amazon_feeds import AmazonShop, _code


def _grids(shop: AmazonShop) -> dict[str, list[list[Any]]]:
    return {tab: shop.emu.get_values(shop.sid, tab) for tab in ("出品状況", "モール更新ログ")}


def test_late_outcomes_write_two_cells_and_leave_the_tab_as_the_whole_rewrite(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    small_paths: list[frozenset[str]] = []
    real = ListingBook._result_owed

    def counted(book: ListingBook, key: tuple[str, str], shown: Shown) -> Owed:
        owed = real(book, key, shown)
        small_paths.append(owed.cols)
        return owed

    monkeypatch.setattr(ListingBook, "_result_owed", counted)
    shop = AmazonShop()

    def whole(book: ListingBook, key: tuple[str, str], shown: Shown) -> Owed:
        return Owed(shown, ALL, pushed=True)

    with monkeypatch.context() as patched:
        patched.setattr(ListingBook, "_result_owed", whole)
        plain = AmazonShop()
    assert listing_book.ListingBook._result_owed is counted
    adapter: Any = shop.app.worker.adapters["amazon"]

    shop.app.worker.cycle()  # the cold push: every listing written PENDING
    with monkeypatch.context() as patched:
        patched.setattr(ListingBook, "_result_owed", whole)
        plain.app.worker.cycle()
    assert _grids(shop) == _grids(plain)
    assert shop.result(_code(3)).startswith("送信済（結果待ち）")

    learnt = False
    for _ in range(12):
        small_paths.clear()
        shop.cycle()
        with monkeypatch.context() as patched:
            patched.setattr(ListingBook, "_result_owed", whole)
            plain.cycle()
        assert _grids(shop) == _grids(plain)
        if small_paths and not adapter.pending_pushes():
            learnt = True
            break
    assert learnt, "the feed's outcome never came"
    # Every late outcome (59 taken, 1 refused) wrote its time and result alone.
    assert len(small_paths) == 60 and set(small_paths) == {RESULT_COLS}
    assert shop.result(_code(3)).startswith("受付済（反映待ち）")
    assert shop.result(_code(7)).startswith("エラー: Amazon が更新を拒否しました")
