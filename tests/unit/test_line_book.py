"""The order ledger's expiry book: two flat sorted tuples, merged by bisection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bot.core.engine.expiry import ExpiryBook
from bot.core.engine.expiry import merged as _merged

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

_entry = st.tuples(
    st.integers(0, 5).map(lambda m: T0 + timedelta(minutes=m)), st.sampled_from("abcd")
)


@given(st.lists(_entry, max_size=20), st.lists(_entry, max_size=6))
def test_a_merge_is_the_sorted_union_of_the_book_and_the_new_entries(
    old: list[tuple[datetime, str]], new: list[tuple[datetime, str]]
) -> None:
    old.sort()
    new.sort()
    times, keys = _merged((tuple(t for t, _ in old), tuple(k for _, k in old)), new)
    assert list(zip(times, keys, strict=True)) == sorted(old + new)
    assert isinstance(times, tuple) and isinstance(keys, tuple)


_steps = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.lists(_entry, max_size=5), st.integers(0, 6)),
        st.tuples(st.just("expire"), st.integers(0, 6), st.integers(0, 6)),
        st.tuples(st.just("back"), st.integers(0, 20), st.integers(0, 6)),
    ),
    max_size=30,
)


@given(st.lists(_entry, max_size=12), _steps)
def test_an_expiry_book_steps_on_as_one_sorted_list_and_older_books_never_change(
    start: list[tuple[datetime, str]], steps: list[tuple[str, Any, int]]
) -> None:
    """Entries added (the top folded at a tiny size or not) and expired, stepping on from
    older books too: each book holds the plain sorted list it should, and keeps it."""
    books: list[tuple[ExpiryBook, list[tuple[datetime, str]]]] = []
    book, model = ExpiryBook.of(list(start)), sorted(start)
    for op, arg, fold_min in steps:
        if op == "add":
            new = sorted(arg)
            book, model = book.added(new, fold_min=fold_min), sorted(model + new)
        elif op == "expire":
            horizon = T0 + timedelta(minutes=arg)
            gone, book = book.expired(horizon)
            assert sorted(gone) == [e for e in model if e[0] < horizon]
            model = [e for e in model if e[0] >= horizon]
        elif books:  # step on from an older book (a commit that did not land)
            book, model = books[arg % len(books)]
        books.append((book, list(model)))
        assert list(zip(*book.flat(), strict=True)) == model
        assert len(book) == len(model)
    for older, want in books:
        assert list(zip(*older.flat(), strict=True)) == want


def test_a_few_new_entries_go_on_the_top_and_a_grown_top_is_folded() -> None:
    base = ExpiryBook.of([(T0, f"k{i:03d}") for i in range(200)])
    later = T0 + timedelta(minutes=1)
    small = base.added([(later, "n1"), (later, "n2")], fold_min=10)
    assert small.base_times is base.base_times  # the day's entries are not copied
    assert small.top_size == 2
    grown = small.added([(later, f"m{i:02d}") for i in range(30)], fold_min=10)
    assert grown.top_size == 0
    assert len(grown.base_times) == 232
    gone, after = grown.expired(later)
    assert len(gone) == 200 and after.base_times is grown.base_times and after.start == 200
