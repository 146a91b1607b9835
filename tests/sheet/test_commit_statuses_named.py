"""状態 cells compared only for the products that can differ (issue 10 item 3).

A commit that lands leaves every product's 状態 cell showing the plan's text. The
next commit need only compare the products whose 状態 the engine changed since
(``Plan.changed_statuses``) and those whose rows a parse read again since
(``RowStatuses.since``: a staff edit, a row the commit wrote): any other still shows
that text. The property test holds the named comparison to the full one over cycles
of staff edits on the emulator; the cycle test pins that the usual cycle takes it.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core import engine
from bot.infra.sheet import commit, gateway
from bot.infra.sheet.gateway import state_values
from bot.infra.sheet.layout import column_letter
from bot.infra.sheet.parsing import RowStatuses, SheetRead
from bot.infra.sheet.tabs import Placed
from bot.sandbox.clock import VirtualClock
from bot.sandbox.sheets import SheetsEmulator
from tests.sheet.conftest import START, Book, product_row

SKUS = [f"N{i:02d}" for i in range(10)]

Edit = Callable[[Book, int], None]
"""Staff change a cell of one 商品マスタ data row (0: the first)."""


def _set(book: Book, row: int, header: str, value: Any) -> None:
    col = book.header("商品マスタ").index(header)
    book.emu.set_values(book.sid, "商品マスタ", f"{column_letter(col)}{row + 2}", [[value]])


def _status(text: str) -> Edit:
    return lambda book, row: _set(book, row, "状態", text)


def _stock(value: Any) -> Edit:
    return lambda book, row: _set(book, row, "在庫数", value)


def _backorder(book: Book, row: int) -> None:
    _set(book, row, "在庫切れ時注文受付", True)


def _same_code(book: Book, row: int) -> None:
    """A 商品コード on two rows: both rows invalid, the rows' map rebuilt."""
    _set(book, row, "商品コード", SKUS[(row + 1) % len(SKUS)])


EDITS: list[Edit] = [
    _status("スタッフのメモ"),
    _status(""),
    _status("OK"),
    _stock(0),
    _stock(-2),
    _stock(7),
    _stock("abc"),
    _backorder,
]


class _Checked:
    """``placed_cells`` as the gateway calls it, held to the full comparison."""

    def __init__(self) -> None:
        self.real = commit.placed_cells
        self.named: list[bool] = []

    def __call__(self, plan: engine.Plan, read: SheetRead, shown: Any = None) -> Placed:
        got = self.real(plan, read, shown)
        assert got == self.real(plan, read)
        self.named.append(commit._named(plan, read, shown) is not None)
        return got


def _cycles(book: Book, edits: list[list[tuple[Edit, int]]]) -> list[bool]:
    """Run a cycle per entry of ``edits`` (made before it); whether each took the names."""
    checked = _Checked()
    gw = book.gateway()
    gw.load_startup()
    state = engine.EngineState()
    with mock.patch.object(gateway, "placed_cells", checked):
        for cycle, before in enumerate(edits):
            for edit, row in before:
                edit(book, row)
            read = gw.read(state.stock)
            plan = engine.step(state, read.snapshot, [], book.clock.now())
            values = state_values({}, plan.next_state.conditions, plan.next_state.stock)
            result = gw.commit(plan, read, values, bot_stock=state.stock, commit_id=f"c{cycle}")
            if not result.conflict:
                state = engine.committed(plan)
            book.clock.advance(15)
    return checked.named


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_named_statuses_place_what_the_full_comparison_places(
    golden: Any, data: st.DataObject
) -> None:
    book = _fresh_book(golden)
    book.add_products([product_row(s, stock=3) for s in SKUS])
    edit = st.tuples(st.sampled_from([*EDITS, _same_code]), st.integers(0, len(SKUS) - 1))
    _cycles(book, data.draw(st.lists(st.lists(edit, max_size=3), min_size=2, max_size=6)))


def test_the_usual_cycle_compares_only_the_named_statuses(book: Book) -> None:
    book.add_products([product_row(s, stock=3) for s in SKUS])
    edits: list[list[tuple[Edit, int]]] = [
        [],
        [(_stock(0), 3)],  # a staff count: the engine decides that product again
        [(_status("スタッフのメモ"), 5)],  # staff typed over a 状態: the parse names it
        [(_stock(9), 3)],
        [],
    ]
    named = _cycles(book, edits)
    assert named[1:] == [True] * 4  # (the first step, at start-up, compares them all)
    assert book.product("N05")["状態"] != "スタッフのメモ"


def _fresh_book(golden: Any) -> Book:
    """The ``book`` fixture's copy, made per example (a fixture is made once per test)."""
    clock = VirtualClock(START)
    emu = SheetsEmulator(clock=clock)
    emu._books[golden.sid] = golden.emu._snapshot(golden.sid)
    return Book(emu=emu, sid=golden.sid, clock=clock)


def test_names_are_taken_only_from_what_the_last_landed_commit_left() -> None:
    statuses = {"A": "OK", "B": "OK"}
    rows: dict[str, int] = {"A": 1, "B": 2}
    dups: dict[str, tuple[int, ...]] = {}
    listed = RowStatuses(["", "OK", "OK"])
    shown = commit.StatusesShown(statuses, listed.token, rows, dups)
    later = RowStatuses(listed)
    later.since = ((listed.token, frozenset({"B"})),)

    def named(since: Any = statuses, **read: Any) -> frozenset[str] | None:
        plan = SimpleNamespace(changed_statuses=engine.ChangedStatuses(since, frozenset({"A"})))
        fields = {"product_rows": rows, "duplicate_rows": dups, "row_statuses": later, **read}
        return commit._named(plan, SimpleNamespace(**fields), shown)  # type: ignore[arg-type]

    assert named() == frozenset({"A", "B"})
    assert named(row_statuses=listed) == frozenset({"A"})  # the very list the commit compared
    assert named(since=dict(statuses)) is None  # counted from another step's 状態
    assert named(product_rows=dict(rows)) is None  # the rows' map was rebuilt
    assert named(duplicate_rows={}) is None
    assert named(row_statuses=RowStatuses(listed)) is None  # a list that names nothing since
    assert named(row_statuses=list(listed)) is None  # a list from elsewhere
