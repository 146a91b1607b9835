"""A push result on a row that already shows its number writes 反映日時 and 結果 alone.

A late outcome (an Amazon feed's processing report, a cycle or more after the push was
written PENDING) changes only those two cells of its 出品状況 row. The book owes just
them — a cold feed's outcome is every Amazon listing — and the tab ends as the whole
row's rewrite would leave it (tests/e2e/test_amazon_late_write.py: the same on the
emulator, cycle by cycle).
"""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.domain import ListingTarget, PushReason, PushResult, PushStatus, StockPush
from bot.infra.clock import JST, format_jst
from bot.infra.sheet import listing_book
from bot.infra.sheet.cells import cell_text
from bot.infra.sheet.listing_book import ALL, RESULT_COLS, VALUES, ListingBook, Shown, _Handed
from bot.infra.sheet.rows import reason_text, result_label

NOW = datetime(2026, 11, 23, 9, 15, tzinfo=JST)
KEY = ("amazon", "AMZ-1")


def _label(mall: str) -> str:
    return mall


def _book_showing(shown: Shown) -> ListingBook:
    book = ListingBook()
    book.entries[KEY] = shown
    book.dirty = False
    return book


def _want(
    book: ListingBook, sku: str, quantity: int, reason: PushReason, status: PushStatus
) -> None:
    target = ListingTarget(mall=KEY[0], code=KEY[1], sku=sku, quantity=quantity, reason=reason)
    push = StockPush(mall=KEY[0], code=KEY[1], quantity=quantity, reason=reason, sku=sku)
    result = PushResult(code=KEY[1], status=status, quantity=quantity, message="feedId 7")
    book.want([target], [(push, result)], NOW, _label)


def _row_after(current: Shown, book: ListingBook) -> tuple[str, ...]:
    """The row's values once the owed cells are written over what it showed."""
    owed = book.owed[KEY]
    return tuple(
        cell_text(getattr(owed.shown, c) if c in owed.cols else getattr(current, c)) for c in VALUES
    )


texts = st.text(alphabet="AB-（）1 ", max_size=6)
reasons = st.sampled_from(list(PushReason))
statuses = st.sampled_from([s for s in PushStatus if s is not PushStatus.PENDING])


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["S1", "S2"]),
    st.one_of(st.none(), st.integers(0, 3)),
    st.one_of(reasons.map(lambda r: reason_text(r, "")), texts),
    texts,
    texts,
    st.sampled_from(["S1", "S2"]),
    st.integers(0, 3),
    reasons,
    statuses,
)
def test_the_row_ends_as_the_whole_rewrite_leaves_it(
    sku: str,
    quantity: int | None,
    reason: str,
    at: str,
    result: str,
    new_sku: str,
    new_quantity: int,
    new_reason: PushReason,
    status: PushStatus,
) -> None:
    current = Shown(7, sku, quantity, reason, at, result)
    book = _book_showing(current)
    _want(book, new_sku, new_quantity, new_reason, status)
    push_result = PushResult(code=KEY[1], status=status, quantity=new_quantity, message="feedId 7")
    whole = (new_sku, new_quantity, reason_text(new_reason, ""), format_jst(NOW))
    assert _row_after(current, book) == tuple(
        cell_text(v) for v in (*whole, result_label(push_result))
    )
    assert book.owed[KEY].pushed  # a push result clears the row's 再送 tick either way


@given(statuses)
def test_a_late_outcome_of_a_row_written_pending_owes_only_its_time_and_result(
    status: PushStatus,
) -> None:
    book = ListingBook()
    book.dirty = False
    _want(book, "S1", 3, PushReason.RULE, PushStatus.PENDING)  # the cold feed: a new row
    assert book.owed[KEY].cols == ALL
    book.landed(KEY, 5)
    _want(book, "S1", 3, PushReason.RULE, status)  # its outcome, a cycle later
    owed = book.owed[KEY]
    assert owed.cols == RESULT_COLS and owed.pushed
    assert owed.shown[1:4] == ("S1", 3, reason_text(PushReason.RULE, ""))


def test_a_push_of_another_number_still_writes_the_whole_row() -> None:
    book = _book_showing(Shown(5, "S1", 3, reason_text(PushReason.RULE, ""), "x", "y"))
    _want(book, "S1", 4, PushReason.RULE, PushStatus.APPLIED)
    assert book.owed[KEY].cols == ALL


def test_an_owed_reason_not_landed_yet_is_written_with_the_result() -> None:
    book = _book_showing(Shown(5, "S1", 3, reason_text(PushReason.RULE, ""), "x", "y"))
    stopped = ListingTarget(
        mall=KEY[0], code=KEY[1], sku="S1", quantity=3, reason=PushReason.ALLOCATION
    )
    book.want([stopped], [], NOW, _label)  # 理由 changed: owed, not landed
    assert book.owed[KEY].cols == frozenset({"reason"})
    _want(book, "S1", 3, PushReason.ALLOCATION, PushStatus.ACCEPTED)
    assert book.owed[KEY].cols == RESULT_COLS | {"reason"}


def test_the_keys_of_a_cold_push_are_found_by_one_walk_not_a_search_each(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    targets = [
        ListingTarget(mall="amazon", code=f"c{i}", sku=f"S{i:05d}", quantity=1)
        for i in range(2_000)
    ]
    keys = [t.key for t in targets]
    handed = _Handed()
    handed.took(targets, handed.to_look_at(targets, keys), set(keys))  # the cold push

    def searched(*_args: object) -> None:
        raise AssertionError("searched one by one")

    monkeypatch.setattr(listing_book, "_place", searched)
    again = list(targets)  # the next cycle: the same targets, late outcomes of 1,200
    looked = handed.to_look_at(again, keys[:1_200])
    assert looked == targets  # the pushed ones and last time's: here every listing
