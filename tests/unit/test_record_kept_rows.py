"""A pushed row's ``Shown`` is built once and kept when its write lands (issue 10 item 3).

At 100k a cycle pushes about a thousand listings; :meth:`ListingBook.want` builds each
one's ``Shown`` on the row the book has it on, and :meth:`ListingBook.landed_all` keeps
that very tuple when the write lands there (the usual cycle) instead of building it
again. Held here to the plain computation (the former code, kept as the oracle) and
pinned to the usual cycle by identity.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.domain import ListingTarget, PushReason, PushResult, PushStatus, StockPush
from bot.infra.clock import format_jst
from bot.infra.sheet.listing_book import (
    ALL,
    NO_ROW,
    Key,
    ListingBook,
    Owed,
    Shown,
)
from bot.infra.sheet.rows import result_label
from tests.unit.test_record_fast_paths import _Every

NOW = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)
REASONS = [
    (PushReason.RULE, ""),
    (PushReason.ALLOCATION, ""),
    (PushReason.STOPPED, ""),
    (PushReason.STOPPED, "連動停止"),
]
STATUSES = [PushStatus.APPLIED, PushStatus.PENDING, PushStatus.REJECTED]


def _label(mall: str) -> str:
    return mall


# -- landed_all: the owed Shown kept when it names the row it lands on -------------------


def _plain_landed_all(book: ListingBook, writes: Sequence[tuple[Key, int]]) -> None:
    """The former loop: every landed row's Shown built again with its row."""
    for key, row in writes:
        owed = book.owed.pop(key, None)
        if owed is not None:
            book.entries[key] = Shown(row, *owed.shown[1:])
            if owed.pushed:
                book.flags.pop(row, None)


owed_rows = st.lists(
    st.tuples(
        st.integers(0, 9),  # listing
        st.sampled_from([NO_ROW, 1, 2, 3]),  # the row its Shown names
        st.integers(1, 3),  # the row it lands on
        st.booleans(),  # a push result
    ),
    max_size=12,
)


@settings(max_examples=300, deadline=None)
@given(owed_rows, st.dictionaries(st.integers(1, 3), st.booleans(), max_size=3))
def test_landed_rows_are_those_the_plain_loop_writes(
    rows: list[tuple[int, int, int, bool]], flags: dict[int, bool]
) -> None:
    fast, plain = ListingBook(dirty=False), ListingBook(dirty=False)
    writes = []
    for i, named, lands, pushed in rows:
        key = ("rakuten", f"c{i}")
        for book in (fast, plain):
            book.owed[key] = Owed(Shown(named, f"S{i}", i, "r", "t", "x"), ALL, pushed)
            book.flags = dict(flags)
        writes.append((key, lands))
    fast.landed_all(writes)
    _plain_landed_all(plain, writes)
    assert fast.entries == plain.entries
    assert fast.owed == plain.owed
    assert fast.flags == plain.flags


# -- want: each pushed row's Shown on the row the book has it on --------------------------


def _plain_want(
    book: ListingBook,
    targets: Sequence[ListingTarget],
    pushed: Sequence[tuple[StockPush, PushResult]],
    now: datetime,
) -> set[Key]:
    """The former loop over every target; returns the keys to look at again."""
    result_of = {p.key: (p, r) for p, r in pushed}
    again: set[Key] = set()
    for target in targets:
        entry = result_of.get(target.key)
        if entry is None:
            book._keep(target.key, target)
            continue
        push, result = entry
        reason = book._reason(push.reason, "")[0]
        shown = Shown(NO_ROW, target.sku, push.quantity, reason, format_jst(now), "")
        shown = shown._replace(result=result_label(result))
        book.owed[target.key] = book._result_owed(target.key, shown)
        if book._text(reason) != book._reason(target.reason, target.why)[1]:
            again.add(target.key)
    return again


class _EveryKept(_Every):
    """The plain hand (every target looked at), keeping what want marks to look at again."""

    def took(
        self, targets: Sequence[ListingTarget], looked: Sequence[ListingTarget], again: set[Key]
    ) -> None:
        super().took(targets, looked, again)
        self.again = again


def _rowless(owed: dict[Key, Owed]) -> dict[Key, Owed]:
    return {k: o._replace(shown=o.shown._replace(row=NO_ROW)) for k, o in owed.items()}


calls = st.lists(
    st.lists(
        st.tuples(
            st.integers(0, 7),  # listing pushed
            st.integers(0, len(REASONS) - 1),  # its target's reason
            st.integers(0, len(REASONS) - 1),  # the push's reason
            st.integers(0, len(STATUSES) - 1),
            st.integers(0, 3),  # quantity
        ),
        max_size=6,
    ),
    min_size=1,
    max_size=5,
)


@settings(max_examples=200, deadline=None)
@given(calls, st.booleans())
def test_want_owes_what_the_plain_loop_owes_on_the_row_the_book_has(
    steps: list[list[tuple[int, int, int, int, int]]], land: bool
) -> None:
    fast, plain = ListingBook(dirty=False), ListingBook(dirty=False)
    fast._handed = _EveryKept()
    targets = [
        ListingTarget(mall="rakuten", code=f"c{i}", sku=f"S{i}", quantity=0) for i in range(8)
    ]
    for step, pushes in enumerate(steps):
        now = NOW + timedelta(seconds=15 * step)
        pushed: list[tuple[StockPush, PushResult]] = []
        for i, target_reason, push_reason, status, quantity in pushes:
            reason, why = REASONS[target_reason]
            targets[i] = ListingTarget(
                mall="rakuten", code=f"c{i}", sku=f"S{i}", quantity=quantity, reason=reason, why=why
            )
            if any(p.key == targets[i].key for p, _ in pushed):
                continue
            push = StockPush("rakuten", f"c{i}", quantity, reason=REASONS[push_reason][0])
            pushed.append((push, PushResult(code=f"c{i}", status=STATUSES[status], message="m")))
        fast.want(targets, pushed, now, _label)
        again = _plain_want(plain, targets, pushed, now)
        assert _rowless(fast.owed) == _rowless(plain.owed)
        assert fast._handed.again == again
        for key, owed in fast.owed.items():
            if owed.pushed and owed.cols == ALL:
                assert owed.shown.row == fast.row_of(key)
        if land:
            for book in (fast, plain):
                book.landed_all([(k, int(k[1][1:]) + 1) for k in list(book.owed)])
            assert fast.entries == plain.entries


def test_the_usual_push_keeps_its_shown_when_it_lands() -> None:
    """A listing on row 5 pushed: its write lands on row 5 and the very Shown is kept."""
    book = ListingBook(dirty=False)
    target = ListingTarget(mall="rakuten", code="c1", sku="S1", quantity=3)
    book.entries[target.key] = Shown(5, "S1", 2, "表示ルール", "old", "反映済")
    push = StockPush("rakuten", "c1", 3, key=target.key)
    book.want([target], [(push, PushResult(code="c1", status=PushStatus.APPLIED))], NOW, _label)
    owed = book.owed[target.key]
    assert owed.shown.row == 5
    book.landed_all([(target.key, 5)])
    assert book.entries[target.key] is owed.shown
