"""The order ledger's expiry book: two flat sorted tuples, merged by bisection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from bot.core.engine.orders import _merged

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
