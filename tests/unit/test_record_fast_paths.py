"""The record's usual cycle does work in proportion to the listings pushed (issue 10 item 3).

At 100k a cycle pushes about a thousand listings. Each fast path here is held to the
plain computation by a property test, and pinned to the usual cycle:

- :meth:`ListingBook.want` looks again next time only at a pushed listing whose
  理由 shown is not its target's (the plain book looks at every target every time);
- a record that fits one batchUpdate by its pieces' bounds packs it without building
  a piece only to measure it (the same split as exact sizes give);
- the answer's 出品状況 cells are read in one pass (the same cells as the plain walk).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core import engine
from bot.core.domain import (
    ListingTarget,
    PushReason,
    PushResult,
    PushStatus,
    StockPush,
)
from bot.core.engine import ChangedTargets
from bot.infra.sheet import budget, listing_writes
from bot.infra.sheet import record as record_module
from bot.infra.sheet.encoded import Encoded, cell_json
from bot.infra.sheet.headers import default_header_map
from bot.infra.sheet.listing_book import Key, ListingBook, _Handed
from bot.infra.sheet.listing_writes import ListingTab, Piece, _sizes, _update_pieces
from bot.infra.sheet.spec import load_template
from bot.infra.sheet.tabs import LISTINGS
from bot.infra.sheet.values import entered
from bot.shell.worker import Worker
from tests.unit.test_listing_book_handed import _catalogue as catalogue

NOW = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)
TAB = load_template().tab(LISTINGS)
HEADER = default_header_map(TAB)
WHERE = ListingTab(TAB, 7, "'出品状況'", HEADER, lambda: HEADER.width)


# -- ListingBook.want: a push whose 理由 is its target's is not looked at again --------


class _Every(_Handed):
    """The plain book's hand: every target is looked at, every call."""

    def to_look_at(
        self,
        targets: Sequence[ListingTarget],
        pushed: Iterable[Key],
        changed: ChangedTargets | None = None,
    ) -> list[ListingTarget]:
        return list(targets)

    def took(
        self, targets: Sequence[ListingTarget], looked: Sequence[ListingTarget], again: set[Key]
    ) -> None:
        self.targets = targets


def _catalogue(n: int) -> tuple[ListingTarget, ...]:
    return tuple(catalogue(n))


def _changed(since: tuple[ListingTarget, ...], now: Sequence[ListingTarget]) -> ChangedTargets:
    """The engine's account of a step (state.py): keys of targets with no equal one."""
    return ChangedTargets(since, frozenset(t.key for t in set(since).symmetric_difference(now)))


REASONS = [
    (PushReason.RULE, ""),
    (PushReason.ALLOCATION, ""),
    (PushReason.STOPPED, ""),
    (PushReason.STOPPED, "連動停止"),
    (PushReason.STOPPED, "在庫（手動）"),
]
calls = st.lists(
    st.tuples(
        st.lists(st.tuples(st.integers(0, 30), st.integers(0, 4)), max_size=6),  # new targets
        st.lists(st.tuples(st.integers(0, 30), st.integers(0, 2)), max_size=6),  # pushes
        st.booleans(),  # the owed rows land before the next call
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 20), calls)
def test_the_book_owes_what_the_plain_book_looking_at_every_target_owes(
    n: int, steps: list[tuple[list[tuple[int, int]], list[tuple[int, int]], bool]]
) -> None:
    fast, plain = ListingBook(dirty=False), ListingBook(dirty=False)
    plain._handed = _Every()
    targets = _catalogue(n)
    rows = {t.key: i + 1 for i, t in enumerate(targets)}
    for step, (replaced, pushed_at, land) in enumerate(steps):
        now = list(targets)
        for i, r in replaced:
            if i < len(now):
                reason, why = REASONS[r]
                now[i] = replace(now[i], quantity=now[i].quantity + 1, reason=reason, why=why)
        changed = _changed(targets, now)
        targets = tuple(now)
        pushed = []
        for i, r in pushed_at:
            if i < len(targets) and all(p.key != targets[i].key for p, _ in pushed):
                t = targets[i]
                push = StockPush(t.mall, t.code, t.quantity, reason=REASONS[r][0], key=t.key)
                pushed.append((push, PushResult(code=t.code, status=PushStatus.APPLIED)))
        at = NOW + timedelta(seconds=15 * step)
        fast.want(targets, pushed, at, str, changed if step else None)
        plain.want(targets, pushed, at, str, changed if step else None)
        assert fast.owed == plain.owed
        if land:
            for book in (fast, plain):
                for key in list(book.owed):
                    book.landed(key, rows[key])
        assert fast.entries == plain.entries


def test_a_usual_push_is_not_looked_at_again() -> None:
    """Pushed with its target's 理由 (the usual push): the next call looks at the new only."""
    book = ListingBook(dirty=False)
    first = _catalogue(30)
    book.want(first, [], NOW, str)
    second = list(first)
    second[4] = replace(second[4], quantity=9)
    t = second[4]
    push = StockPush(t.mall, t.code, t.quantity, key=t.key)
    book.want(tuple(second), [(push, PushResult(code=t.code, status=PushStatus.APPLIED))], NOW, str)
    assert book._handed.again == set()
    third = list(second)
    third[7] = replace(third[7], quantity=9)
    looked = book._handed.to_look_at(tuple(third), (), _changed(tuple(second), third))
    assert looked == [third[7]]


# -- packing a batchUpdate: by bounds when it fits, measured otherwise --------------------


def _plain_take(queue: list[Piece]) -> tuple[list[Piece], list[Piece]]:
    """The former packing: every piece measured as it is packed."""
    total = record_module.BODY_RESERVE
    for i, piece in enumerate(queue):
        total += piece.measured()
        if total > budget.MAX_REQUEST_BYTES and i > 0:
            return queue[:i], queue[i:]
    return queue, []


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 900_000), st.integers(0, 300_000), st.booleans()),
        min_size=1,
        max_size=12,
    )
)
def test_packing_by_bounds_splits_as_exact_sizes_do(specs: list[tuple[int, int, bool]]) -> None:
    def pieces() -> list[Piece]:
        return [
            Piece(LISTINGS, size, lambda: [], bound=size + extra if bounded else None)
            for size, extra, bounded in specs
        ]

    fast = record_module._take(pieces())
    plain = _plain_take(pieces())
    assert [[p.size for p in part] for part in fast] == [[p.size for p in part] for part in plain]


def _scattered(n: int) -> dict[int, tuple[Key | None, dict[int, Any]]]:
    keys = ("sku", "quantity", "reason", "at", "result")
    cols = [c for k in keys if (c := HEADER.col(k)) is not None]
    return {
        row: (
            ("rakuten", f"c{row}"),
            dict(zip(cols, [f"S{row}", 5, "表示ルール", "t", "反映済"], strict=True)),
        )
        for row in range(2, 2 * n + 2, 2)
    }


def test_scattered_rows_carry_a_bound_never_below_their_bytes() -> None:
    pieces = _update_pieces(_scattered(1_000), WHERE)
    for piece in pieces:
        assert piece.bound is not None
        assert _sizes(piece.build(), piece.ranges) <= piece.bound


def test_the_usual_record_builds_each_piece_once() -> None:
    """A thousand scattered rows: one batchUpdate, no piece built only to be measured."""
    pieces = _update_pieces(_scattered(1_000), WHERE)
    built: list[int] = []
    for piece in pieces:
        build = piece.build
        piece.build = lambda build=build: built.append(1) or build()  # type: ignore[func-returns-value]
    chunk, rest = record_module._take(pieces)
    assert rest == [] and built == []
    for piece in chunk:
        piece.requests()
    assert len(built) == len(pieces)


def test_scattered_rows_are_written_as_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """The usual cycle's rows are written as JSON text, each repeated value's once, not
    by update_cells (the grouped-pieces property test holds their bytes to its own)."""

    def refuse(*_: Any) -> Any:
        raise AssertionError("a scattered row built by update_cells")

    made: list[Any] = []
    monkeypatch.setattr(listing_writes, "update_cells", refuse)
    monkeypatch.setattr(listing_writes, "cell_json", lambda v: made.append(v) or cell_json(v))
    requests = [r for p in _update_pieces(_scattered(50), WHERE) for r in p.requests()]
    assert len(requests) == 50 and all(type(r) is Encoded for r in requests)
    assert made.count("表示ルール") == 1 and made.count(5) == 1  # each CellData text once


# -- Worker._resend: no tick, no copy of the listing state -------------------------------


class _Untouched(Mapping[Key, Any]):
    """Listing knowledge that fails the test if it is read (a copy reads every entry)."""

    def __getitem__(self, key: Key) -> Any:
        raise AssertionError("listing state read")

    def __iter__(self) -> Iterator[Key]:
        raise AssertionError("listing state walked")

    def __len__(self) -> int:
        raise AssertionError("listing state counted")


def test_a_record_with_no_resend_tick_copies_no_listing_state() -> None:
    """The usual cycle: nothing ticked, so 100,000 listings are not copied for nothing."""
    state = engine.EngineState(listings=_Untouched())
    worker = SimpleNamespace(state=state)
    Worker._resend(worker, set())  # type: ignore[arg-type]
    assert worker.state is state


# -- the answer's cells, read in one pass ------------------------------------------------


def _plain_cells(blocks: Sequence[Mapping[str, Any]]) -> dict[tuple[int, int], Any]:
    """The former walk: every cell's value as :func:`entered` reads it."""
    cells: dict[tuple[int, int], Any] = {}
    for data in blocks:
        r0, c0 = int(data.get("startRow", 0)), int(data.get("startColumn", 0))
        for i, row in enumerate(data.get("rowData") or []):
            for j, cell in enumerate(row.get("values") or []):
                value = entered((cell or {}).get("userEnteredValue"))
                if value is not None:
                    cells[(r0 + i, c0 + j)] = value
    return cells


extended = st.one_of(
    st.none(),
    st.just({}),
    st.fixed_dictionaries({"stringValue": st.text(max_size=5)}),
    st.fixed_dictionaries({"numberValue": st.integers(-5, 5) | st.floats(allow_nan=False)}),
    st.fixed_dictionaries({"boolValue": st.booleans()}),
    st.fixed_dictionaries({"formulaValue": st.just("=A1")}),
    st.fixed_dictionaries({"errorValue": st.just({"type": "REF"})}),
    st.fixed_dictionaries({"formulaValue": st.just("=B1"), "stringValue": st.just("x")}),
)
a_cell = st.one_of(st.none(), st.just({}), st.fixed_dictionaries({"userEnteredValue": extended}))
row_data = st.one_of(st.just({}), st.fixed_dictionaries({"values": st.lists(a_cell, max_size=4)}))
block = st.fixed_dictionaries(
    {"rowData": st.lists(row_data, max_size=4)},
    optional={"startRow": st.integers(0, 9), "startColumn": st.integers(0, 9)},
)


@settings(max_examples=300, deadline=None)
@given(st.lists(block, max_size=5))
def test_the_answer_cells_are_those_of_the_plain_walk(blocks: list[dict[str, Any]]) -> None:
    assert record_module._grid_cells(blocks) == _plain_cells(blocks)


def test_the_usual_answer_cell_is_taken_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    """Key cells the bot wrote come back as a stringValue alone: no :func:`entered` call."""

    def refuse(value: Any) -> Any:
        raise AssertionError("a key cell went through entered()")

    monkeypatch.setattr(record_module, "entered", refuse)
    key = [
        {"userEnteredValue": {"stringValue": "楽天"}},
        {"userEnteredValue": {"stringValue": "c"}},
    ]
    blocks = [{"startRow": r, "rowData": [{"values": key}]} for r in (4, 9)]
    assert record_module._grid_cells(blocks) == {
        (4, 0): "楽天",
        (4, 1): "c",
        (9, 0): "楽天",
        (9, 1): "c",
    }
