"""Per-row work of the record shared or skipped (issue 10 item 3).

At 100k a cycle pushes about a thousand listings. Each fast path here is held to the
plain computation (the former code, kept as the oracle) and pinned to the usual cycle:

- :meth:`ListingBook.want` builds each pushed row's ``Shown`` on the row the book has
  it on, and :meth:`ListingBook.landed_all` keeps that very tuple when the write lands
  there instead of building it again;
- a changed listing's place is searched on the skus of the targets handed last time
  (:func:`_place_by`), not on the targets themselves (:func:`_place`);
- a scattered row's 表示在庫 CellData is shared between equal numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.base import KnownCodes
from bot.core.domain import ListingTarget, PushReason, PushResult, PushStatus, StockPush
from bot.core.engine import ChangedTargets
from bot.infra.clock import format_jst
from bot.infra.sheet import listing_book
from bot.infra.sheet.cells import cell_text
from bot.infra.sheet.listing_book import (
    ALL,
    NO_ROW,
    Key,
    ListingBook,
    Owed,
    Shown,
    _Handed,
    _place,
    _place_by,
)
from bot.infra.sheet.record import RecordWriter
from bot.infra.sheet.rows import result_label
from bot.infra.sheet.spec import load_template
from tests.unit.test_listing_book_handed import _catalogue
from tests.unit.test_record_fast_paths import WHERE, _Every

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


# -- a changed listing's place, searched on last time's skus ------------------------------


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1, 30),
    st.lists(st.integers(0, 60), max_size=8),  # listings searched for
    st.lists(st.integers(0, 60), max_size=4),  # places given another listing, same sku
    st.lists(st.integers(0, 60), max_size=3),  # places whose listing moved to another sku
)
def test_a_place_searched_on_the_skus_is_the_plain_search_s(
    n: int, wanted: list[int], swapped: list[int], moved: list[int]
) -> None:
    """Where last time's skus stand place by place, the plain search's answer; elsewhere
    that answer or None (the walk decides), never a place not holding the listing."""
    last = _catalogue(n)  # sorted by sku, some skus with two listings
    skus = [t.sku for t in last]
    now = list(last)
    for i in swapped:
        if i < len(now):
            now[i] = ListingTarget(mall="amazon", code=f"a{i}", sku=now[i].sku, quantity=1)
    for i in moved:
        if i < len(now):
            now[i] = ListingTarget(mall=now[i].mall, code=now[i].code, sku="ZZZ", quantity=1)
    for i in wanted:
        if i >= len(last):
            continue
        got = _place_by(skus, now, last[i])
        if [t.sku for t in now] == skus:
            assert got == _place(now, last[i])
        assert got is None or (now[got].key == last[i].key and now[got].sku == last[i].sku)


def test_the_usual_cycle_searches_the_skus_kept_from_the_last(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Changes named by the engine two cycles running: one list of skus, no target searched."""
    handed = _Handed()
    first = tuple(_catalogue(30))
    handed.took(first, first, set())

    def search(*_: object) -> int | None:
        raise AssertionError("searched the targets for a place")

    monkeypatch.setattr(listing_book, "_place", search)
    second = list(first)
    second[4] = ListingTarget(mall=first[4].mall, code=first[4].code, sku=first[4].sku, quantity=9)
    second_t = tuple(second)
    changed = ChangedTargets(first, frozenset({first[4].key}))
    looked = handed.to_look_at(second_t, [], changed)
    assert looked == [second_t[4]] and handed.exact
    skus = handed.skus
    assert skus == [t.sku for t in first]
    handed.took(second_t, looked, set())
    third = list(second_t)
    third[9] = ListingTarget(mall=first[9].mall, code=first[9].code, sku=first[9].sku, quantity=9)
    looked = handed.to_look_at(
        tuple(third), [], ChangedTargets(second_t, frozenset({third[9].key}))
    )
    assert looked == [third[9]] and handed.skus is skus


# -- a scattered row's number: one CellData a value ------------------------------------------


def test_listings_added_drop_the_skus_until_the_next_search() -> None:
    """A new listing (the walk decides): the skus kept would not stand place by place."""
    handed = _Handed()
    first = tuple(_catalogue(10))
    handed.took(first, first, set())
    second = (*first, ListingTarget(mall="rakuten", code="new", sku="Z", quantity=1))
    handed.to_look_at(second, [], ChangedTargets(first, frozenset({second[-1].key})))
    handed.took(second, [second[-1]], set())
    assert handed.skus is None
    third = list(second)
    third[2] = ListingTarget(mall=first[2].mall, code=first[2].code, sku=first[2].sku, quantity=7)
    looked = handed.to_look_at(tuple(third), [], ChangedTargets(second, frozenset({third[2].key})))
    assert looked == [third[2]] and handed.skus == [t.sku for t in second]


# -- the answer's 再送 column and tail, taken in one walk of its cells --------------------


def _plain_take_final(writer: Any, cells: Mapping[tuple[int, int], Any]) -> bool:
    """The former reading: one walk for the 再送 column, another for rows past the tail."""
    book, header = writer.port.book, writer.header
    resend = header.col("resend")
    if resend is not None:
        column = {r: v for (r, c), v in cells.items() if c == resend}
        book.take_flags(column, writer.port.template)
    end = book.end
    keys = [c for c in (header.col("mall"), header.col("code")) if c is not None]
    tail = tuple(cell_text(cells.get((end - 1, c))) for c in keys)
    after = any(r >= end and c in keys and cell_text(v) for (r, c), v in cells.items())
    return not ((end > 1 and tail != book.tail) or after)


class _Cells(dict[tuple[int, int], Any]):
    """An answer's cells counting the walks over them."""

    walks = 0

    def items(self) -> Any:
        self.walks += 1
        return super().items()


def _writer(end: int, tail: tuple[str, str]) -> RecordWriter:
    book = ListingBook(dirty=False, end=end, tail=tail)
    port = SimpleNamespace(book=book, template=load_template())
    return RecordWriter(port, WHERE.header, "c")  # type: ignore[arg-type]


answer_cells = st.dictionaries(
    st.tuples(st.integers(0, 8), st.integers(0, 8)),
    st.sampled_from(["", " ", "楽天", "c3", "TRUE", "FALSE", True, False, 0, 3, None]),
    max_size=20,
)


@settings(max_examples=300, deadline=None)
@given(answer_cells, st.integers(1, 8), st.sampled_from([("", ""), ("楽天", "c3")]))
def test_the_tail_and_ticks_are_those_the_two_walks_read(
    cells: dict[tuple[int, int], Any], end: int, tail: tuple[str, str]
) -> None:
    fast, plain = _writer(end, tail), _writer(end, tail)
    assert fast._take_final(cells) == _plain_take_final(plain, cells)
    assert fast.port.book.flags == plain.port.book.flags


def test_the_answer_cells_are_walked_once() -> None:
    cells = _Cells({(r, c): f"v{r}" for r in range(1, 40) for c in (0, 1, 7)})
    _writer(40, ("v39", "v39"))._take_final(cells)
    assert cells.walks == 1


# -- 楽天's codes to push: sorted out as the plain comprehension did --------------------------


def _plain_sort_out(
    known: KnownCodes, last_index: Mapping[str, int], read: Callable[[list[str]], object]
) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    now = known._clock.monotonic()
    unsure = [c for c in last_index if now - known._seen.get(c, float("-inf")) > known._ttl]
    if unsure:
        read(unsure)
    send = sorted((i, code) for code, i in last_index.items() if code in known._seen)
    unknown = [(i, code) for code, i in last_index.items() if code not in known._seen]
    return send, unknown


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(st.sampled_from("abcdefgh"), st.integers(0, 20), max_size=8),
    st.dictionaries(st.sampled_from("abcdefgh"), st.sampled_from([0.0, 50.0, 99.0]), max_size=8),
    st.sets(st.sampled_from("abcdefgh")),
)
def test_codes_are_sorted_out_as_the_plain_comprehension_does(
    last_index: dict[str, int], seen: dict[str, float], found: set[str]
) -> None:
    got = []
    for sort_out in (KnownCodes.sort_out, _plain_sort_out):
        clock = SimpleNamespace(monotonic=lambda: 100.0)
        known = KnownCodes(clock, ttl=30.0)  # type: ignore[arg-type]
        known._seen = dict(seen)
        asked: list[list[str]] = []

        def read(
            codes: list[str], known: KnownCodes = known, asked: list[list[str]] = asked
        ) -> None:
            asked.append(codes)
            known.saw(codes, found)

        got.append((sort_out(known, last_index, read), asked, known._seen))
    assert got[0] == got[1]
