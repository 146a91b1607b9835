"""gateway.py through real gspread on the Sheets emulator.

Every test asserts on what the emulated spreadsheet holds afterwards and on the
requests that reached it (quota), never on mocks: the gateway under test is exactly the
production code, down to the URLs gspread builds.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests

from bot.core import engine
from bot.core.domain import (
    MallLogRow,
    OrderLine,
    PushResult,
    PushStatus,
    SaleKind,
)
from bot.infra.clock import JST, RealClock
from bot.infra.sheet.gateway import (
    CommitOutcomeUnknown,
    CommitResult,
    SheetError,
    SheetGateway,
    SheetLayoutError,
    SheetStopped,
    state_values,
)
from bot.infra.sheet.layout import SheetRead
from tests.sheet.conftest import (
    ERROR_LOG,
    LISTINGS,
    MALL_LOG,
    MOVEMENTS,
    OPS_LOG,
    PRODUCTS,
    SALES_LOG,
    START,
    STATE,
    TEMPLATE_HEADERS,
    Book,
    product_row,
)

JST_STAMP = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
NOW_JST = "2026-11-23 09:00:00"
"""START (00:00 UTC) as staff read it."""


def order(code: str, units: int, order_id: str = "100-1", line: str = "1") -> OrderLine:
    return OrderLine(mall="rakuten", order_id=order_id, line_id=line, code=code, units=units)


@dataclass
class Bot:
    """The worker's use of the gateway, minus malls: read → engine → commit (→ record)."""

    book: Book
    gw: SheetGateway
    state: engine.EngineState
    cursors: dict[str, datetime] = field(default_factory=dict)
    cycles: int = 0

    @classmethod
    def start(cls, book: Book) -> Bot:
        gw = book.gateway()
        data = gw.load_startup()
        state = engine.rebuild(
            data.ledger,
            data.listings,
            json.loads(data.state["conditions"]) if "conditions" in data.state else (),
        )
        return cls(book, gw, state)

    def commit_id(self) -> str:
        return f"{self.book.clock.now().isoformat()}#{self.cycles}"

    def values(self, plan: engine.Plan) -> dict[str, str]:
        return state_values(self.cursors, plan.next_state.conditions, plan.next_state.stock)

    def plan(self, read: SheetRead, lines: Sequence[OrderLine] = ()) -> engine.Plan:
        return engine.step(self.state, read.snapshot, lines, self.book.clock.now())

    def commit(self, plan: engine.Plan, read: SheetRead) -> CommitResult:
        return self.gw.commit(
            plan, read, self.values(plan), bot_stock=self.state.stock, commit_id=self.commit_id()
        )

    def cycle(
        self, lines: Sequence[OrderLine] = (), *, record: bool = False
    ) -> tuple[engine.Plan, CommitResult]:
        """One cycle the way worker._read_plan_commit runs it (re-plan on conflict)."""
        self.cycles += 1
        self.cursors["rakuten"] = self.book.clock.now()
        read = self.gw.read(self.state.stock)
        for _ in range(3):
            plan = self.plan(read, lines)
            result = self.commit(plan, read)
            if not result.conflict:
                break
            read = result.read
        else:  # pragma: no cover - a test bug
            raise AssertionError("conflict every time")
        self.state = engine.committed(plan)
        if record:
            self.record(plan, result.read)
        return plan, result

    def record(self, plan: engine.Plan, read: SheetRead) -> int:
        now = self.book.clock.now()
        pushed = [
            (p, PushResult(code=p.code, status=PushStatus.APPLIED, quantity=p.quantity))
            for p in plan.pushes
        ]
        logs = [
            MallLogRow(
                at=now, mall=p.mall, code=p.code, sku=p.sku, quantity=p.quantity, result="OK"
            )
            for p in plan.pushes
        ]
        sent = self.gw.record(read, pushed, logs, plan.targets, [], now, self.commit_id())
        self.state, _, _ = engine.after_push(
            self.state, list(plan.pushes), [r for _, r in pushed], now
        )
        return sent


def three_products(book: Book) -> None:
    book.add_products(
        [product_row("A", 10), product_row("B", 5), product_row("C", 7, name="マグカップ")]
    )


def total(book: Book) -> int:
    counts = book.emu.counts()
    return counts["read"] + counts["write"]


# =========================================================================== read


def test_reading_10000_products_is_one_batch_get(book: Book) -> None:
    header = book.header(PRODUCTS)
    rows = []
    for i in range(10_000):
        row: list[Any] = [None] * len(header)
        row[header.index("商品コード")] = f"SKU{i:05d}"
        row[header.index("商品名")] = f"商品 {i}"
        row[header.index("在庫数")] = i % 97
        row[header.index("楽天コード")] = f"item{i:05d}"
        rows.append(row)
    book.emu.set_values(book.sid, PRODUCTS, "A2", rows)
    gw = book.gateway()
    book.emu.reset_counts()

    read = gw.read()

    assert book.emu.counts() == {"read": 1, "write": 0}
    (call,) = book.emu.requests
    assert call.op == "values.batchGet"
    assert call.timeout == (5.0, 30.0)  # gspread's default is no timeout at all
    assert f"'{PRODUCTS}'" in call.ranges
    products = read.snapshot.products
    assert len(products) == 10_000 and not read.snapshot.problems
    last = products["SKU09999"]
    assert (last.stock, last.name, last.codes) == (
        9999 % 97,
        "商品 9999",
        {"rakuten": ("item09999",)},
    )
    assert read.product_rows["SKU00000"] == 1 and read.product_rows["SKU09999"] == 10_000
    # A commit on it re-reads once and writes once, on the right row. A first commit
    # also stamps every row's 状態/最終更新: those 10,000 cells follow the atomic commit
    # in their own batchUpdates, so the commit itself stays small.
    plan = engine.step(engine.EngineState(), read.snapshot, [order("item09999", 1)], START)
    book.emu.reset_counts()
    values = state_values({}, plan.next_state.conditions, plan.next_state.stock)
    result = gw.commit(plan, read, values, bot_stock=None, commit_id="c-1")
    assert not result.conflict
    ops = [r.op for r in book.emu.requests]
    assert ops[:2] == ["values.batchGetByDataFilter", "spreadsheets.batchUpdate"]
    assert set(ops[2:]) <= {"spreadsheets.batchUpdate"}
    assert result.requests == len(ops)
    assert book.grid(PRODUCTS)[10_000][header.index("在庫数")] == 9999 % 97 - 1


def test_open_reads_metadata_once_then_caches_sheet_ids(book: Book) -> None:
    three_products(book)
    gw = book.gateway()
    assert all(r.op == "spreadsheets.get" for r in book.emu.requests)
    assert len(book.emu.requests) <= 2  # gspread's open_by_key + our tab map
    book.emu.reset_counts()
    bot = Bot(book, gw, engine.EngineState())
    bot.cycle(record=True)
    assert "spreadsheets.get" not in {r.op for r in book.emu.requests}


def test_open_an_unknown_spreadsheet_names_its_id(book: Book) -> None:
    with pytest.raises(SheetError, match="NO-SUCH-SHEET"):
        SheetGateway.open(book.client(), "NO-SUCH-SHEET", malls=["rakuten"])
    assert len(book.emu.requests) == 1  # 404 is never retried


def test_open_without_template_tabs_says_to_run_init_sheet(book: Book) -> None:
    bare = book.emu.create_spreadsheet("bare", sheets=("Sheet1",))
    with pytest.raises(SheetLayoutError, match="init-sheet") as info:
        SheetGateway.open(book.client(), bare, malls=["rakuten"])
    assert PRODUCTS in str(info.value) and SALES_LOG in str(info.value)


# =========================================================================== commit


def test_a_cycle_commits_in_one_atomic_batch_update(book: Book) -> None:
    three_products(book)
    book.add_movement("B", 3, "入荷", "11/23 便")
    bot = Bot.start(book)
    bot.cycle()  # start-up cycle: the sheet is the truth (B's receipt applied here)
    assert book.product("B")["在庫数"] == 8
    book.clock.advance(15)
    book.add_movement("C", -1, "破損", "落下")
    book.emu.reset_counts()

    plan, result = bot.cycle([order("a", 2)], record=True)

    # read, re-read just before the write, ONE batchUpdate, one record write.
    assert [r.op for r in book.emu.requests] == [
        "values.batchGet",
        "values.batchGetByDataFilter",
        "spreadsheets.batchUpdate",
        "spreadsheets.batchUpdate",
    ]
    assert total(book) <= 4
    reread = book.emu.requests[1]
    # Only what the commit writes over: 商品マスタ's header and the rows of A and B
    # (stock, 最終更新), and 入出庫 from the last row of its settled top down.
    products = {r for r in reread.ranges if r.startswith(f"'{PRODUCTS}'")}
    assert products == {f"'{PRODUCTS}'!1:1", f"'{PRODUCTS}'!2:2", f"'{PRODUCTS}'!4:4"}
    (movements,) = set(reread.ranges) - products
    assert re.fullmatch(rf"'{MOVEMENTS}'!A\d+:F", movements)
    commit = book.emu.requests[2]
    assert set(commit.request_types) == {"updateCells", "appendCells"}
    assert result.requests == 2 and not result.conflict

    # Stock cells on the right rows, 最終更新 in JST, untouched rows left alone.
    a, b, c = book.product("A"), book.product("B"), book.product("C")
    assert (a["在庫数"], b["在庫数"], c["在庫数"]) == (8, 8, 6)
    assert a["最終更新"] == NOW_JST.replace(":00:00", ":00:15") and JST_STAMP.match(a["最終更新"])
    assert c["最終更新"] == a["最終更新"]
    assert b["最終更新"] == NOW_JST  # from the start-up cycle's receipt, not rewritten
    assert a["状態"] == "OK"

    # 販売ログ and 操作ログ rows in the same call, each value under its header.
    (sale,) = book.records(SALES_LOG)
    assert sale == {
        "日時": "2026-11-23 09:00:15",
        "モール": "楽天",
        "注文番号": "100-1",
        "明細": "1",
        "種別": "販売",
        "モール商品コード": "a",
        "商品コード": "A",
        "数量": -2,
        "変更前": 10,
        "変更後": 8,
        "キー": "rakuten:100-1:1",
        "反映数": 2,
    }
    damage = [r for r in book.records(OPS_LOG) if r["商品コード"] == "C"]
    assert [(r["種別"], r["変更前"], r["変更後"], r["メモ"]) for r in damage] == [
        ("入出庫（破損）", "7", "6", "落下")
    ]
    assert all(str(m["反映"]).startswith("済") for m in book.records(MOVEMENTS))

    # _state: cursor, conditions and the commit id, in the same call.
    state = {r["キー"]: r["値"] for r in book.records(STATE)}
    assert state["last_commit"] == bot.commit_id()
    assert datetime.fromisoformat(state["cursor:rakuten"]) == book.clock.now()
    assert state["schema_version"] in ("1", 1)
    # Push results: 出品状況 rows for every listing target.
    listings = {(r["モール"], r["モール商品コード"]): r for r in book.records(LISTINGS)}
    assert listings[("楽天", "a")]["表示在庫"] == 8
    assert listings[("楽天", "a")]["反映日時"] == "2026-11-23 09:00:15"
    assert plan.sales_log and plan.ops_log


def test_an_idle_cycle_writes_only_the_state_row(book: Book) -> None:
    three_products(book)
    bot = Bot.start(book)
    bot.cycle(record=True)
    before = book.grid(PRODUCTS)
    book.clock.advance(15)
    book.emu.reset_counts()

    bot.cycle(record=True)

    assert total(book) == 3  # read, re-read, one write (nothing to record)
    (write,) = [r for r in book.emu.requests if r.kind == "write"]
    assert write.request_types == ("updateCells",)  # the _state rows only
    assert book.grid(PRODUCTS) == before


def test_staff_columns_and_reordered_columns_are_left_untouched(book: Book) -> None:
    template = TEMPLATE_HEADERS[PRODUCTS]
    # Staff moved 状態 to the front, 在庫数 to the back and added two columns of their own.
    header = [
        "状態",
        "仕入先",
        *[h for h in template if h not in ("状態", "在庫数")],
        "在庫数",
        "棚番",
    ]
    book.set_header(PRODUCTS, header)
    rows = [
        product_row("A", 10, 仕入先="=A1*2", 棚番="A-01"),
        product_row("B", 5, 仕入先="山田商店", 棚番="B-02"),
        product_row("C", 7, 仕入先="", 棚番="C-03"),
    ]
    book.write_rows(PRODUCTS, rows)
    bot = Bot.start(book)
    bot.cycle()
    before = book.grid(PRODUCTS)
    book.clock.advance(15)

    bot.cycle([order("b", 1)])

    after = book.grid(PRODUCTS)
    changed = {
        (r, c)
        for r in range(max(len(before), len(after)))
        for c in range(len(header))
        if _at(before, r, c) != _at(after, r, c)
    }
    row_b = book.row_of("B") - 1
    assert changed == {(row_b, header.index("在庫数")), (row_b, header.index("最終更新"))}
    assert book.product("B")["在庫数"] == 4
    assert book.product("A")["仕入先"] == "=A1*2"  # a staff formula stays a formula
    assert [book.product(s)["棚番"] for s in "ABC"] == ["A-01", "B-02", "C-03"]


def _at(grid: list[list[Any]], r: int, c: int) -> Any:
    return grid[r][c] if r < len(grid) and c < len(grid[r]) else ""


INJECTIONS = [
    '=IMPORTXML("http://x.example.com","//a")',
    '=HYPERLINK("http://x.example.com","y")',
    "+81-3-1234",
    "@SUM(1)",
    "-2+3",
]


def test_outside_text_is_written_as_plain_values(book: Book) -> None:
    three_products(book)
    book.add_movement("A", 1, "返品", INJECTIONS[1])  # staff typed a formula as the memo
    bot = Bot.start(book)
    lines = [order("a", 1, order_id=text, line=str(i)) for i, text in enumerate(INJECTIONS)]
    lines.append(order('=IMAGE("http://x.example.com/p.png")', 1, order_id="=1+1"))  # unknown code

    bot.cycle(lines)

    sales = book.records(SALES_LOG)
    assert sorted(r["注文番号"] for r in sales) == sorted([*INJECTIONS, "=1+1"])
    unassigned = [r for r in sales if r["種別"] == SaleKind.UNASSIGNED]
    assert [r["モール商品コード"] for r in unassigned] == ['=IMAGE("http://x.example.com/p.png")']
    memo = [r["メモ"] for r in book.records(OPS_LOG) if r["種別"].startswith("入出庫")]
    assert memo == [INJECTIONS[1]]
    # The stored cells are stringValues, never formulaValues or numbers.
    for title in (SALES_LOG, OPS_LOG):
        entered = _entered_values(bot.gw, title)
        assert not [v for v in entered if "formulaValue" in v]
        texts = {v["stringValue"] for v in entered if "stringValue" in v}
        if title == SALES_LOG:
            assert {*INJECTIONS, "=1+1", '=IMAGE("http://x.example.com/p.png")'} <= texts
        else:
            assert INJECTIONS[1] in texts


def _entered_values(gw: SheetGateway, title: str) -> list[dict[str, Any]]:
    meta = gw.spreadsheet.fetch_sheet_metadata(
        params={"includeGridData": "true", "ranges": f"'{title}'"}
    )
    (sheet,) = meta["sheets"]
    return [
        cell["userEnteredValue"]
        for data in sheet["data"]
        for row in data.get("rowData", [])[1:]
        for cell in row.get("values", [])
        if "userEnteredValue" in cell
    ]


# =========================================================================== races


def test_stock_typed_before_the_commit_is_a_stocktake_never_overwritten(book: Book) -> None:
    three_products(book)
    bot = Bot.start(book)
    bot.cycle()
    book.clock.advance(15)
    read = bot.gw.read(bot.state.stock)
    plan = bot.plan(read, [order("a", 2)])
    assert plan.stock == {"A": 8}
    # Staff count the shelf and type 20 between the snapshot and the commit.
    book.emu.before_next(lambda: book.set_cell("A", "在庫数", 20), kind="read")
    book.emu.reset_counts()

    result = bot.commit(plan, read)

    assert result.conflict and result.requests == 1
    assert book.emu.counts() == {"read": 1, "write": 0}  # nothing written
    assert book.product("A")["在庫数"] == 20
    assert result.read.snapshot.products["A"].stock == 20
    assert book.records(SALES_LOG) == []

    # The engine runs again on the fresh read: typed value minus same-cycle orders.
    plan = bot.plan(result.read, [order("a", 2)])
    again = bot.commit(plan, result.read)
    assert not again.conflict
    assert book.product("A")["在庫数"] == 18
    (sale,) = book.records(SALES_LOG)
    assert (sale["変更前"], sale["変更後"]) == (20, 18)
    stocktake = [r for r in book.records(OPS_LOG) if r["種別"] == "棚卸"]
    assert [(r["商品コード"], r["変更前"], r["変更後"]) for r in stocktake] == [("A", "10", "20")]


def test_edits_to_cells_the_bot_does_not_write_survive_a_commit(book: Book) -> None:
    # Sheets v4 has no compare-and-set: the window between the re-read and the write
    # cannot be closed, so the bot writes only cells whose value it changes.
    three_products(book)
    bot = Bot.start(book)
    bot.cycle()
    book.clock.advance(15)

    def staff() -> None:
        book.set_cell("B", "在庫数", 50)
        book.set_cell("C", "商品名", "マグカップ（青）")

    book.emu.before_next(staff, kind="write")
    bot.cycle([order("a", 1)])

    assert (book.product("A")["在庫数"], book.product("B")["在庫数"]) == (9, 50)
    assert book.product("C")["商品名"] == "マグカップ（青）"
    book.clock.advance(15)
    bot.cycle()
    assert book.product("B")["在庫数"] == 50  # taken as a stocktake next cycle


@pytest.mark.parametrize("edit", ["sort", "insert_blank", "insert_product", "delete_other"])
def test_rows_moved_between_read_and_commit_are_found_by_code(book: Book, edit: str) -> None:
    book.add_products([product_row(s, 10 + i) for i, s in enumerate("ABCDE")])
    bot = Bot.start(book)
    bot.cycle()
    book.clock.advance(15)
    sku_col = book.header(PRODUCTS).index("商品コード")

    def staff() -> None:
        if edit == "sort":
            book.emu.sort_rows(book.sid, PRODUCTS, sku_col, descending=True)
        elif edit == "insert_blank":
            book.emu.insert_rows(book.sid, PRODUCTS, 1, [[], []])
        elif edit == "insert_product":
            book.emu.insert_rows(book.sid, PRODUCTS, 2, [["F", "new", 3]])
        else:
            book.emu.delete_rows(book.sid, PRODUCTS, 1, 2)  # A, which has no order

    book.emu.before_next(staff, kind="read", nth=2)  # the re-read
    book.emu.reset_counts()
    bot.cycle([order("b", 1), order("d", 2, order_id="100-2")])

    # Moving rows is not a conflict; a product appearing or vanishing is (plan again).
    # The narrow re-read sees a written row hold another 商品コード: 商品マスタ is read
    # whole once, and the commit placed by 商品コード on it.
    replanned = edit in ("insert_product", "delete_other")
    assert [r.op for r in book.emu.requests] == [
        "values.batchGet",
        "values.batchGetByDataFilter",
        "values.batchGet",
        *(["values.batchGetByDataFilter"] if replanned else []),
        "spreadsheets.batchUpdate",
    ]

    expected = {"A": 10, "B": 10, "C": 12, "D": 11, "E": 14, "F": 3}
    if edit == "delete_other":
        del expected["A"]
    if edit != "insert_product":
        del expected["F"]
    got = {r["商品コード"]: r["在庫数"] for r in book.records(PRODUCTS)}
    assert got == expected
    stamped = {
        r["商品コード"] for r in book.records(PRODUCTS) if r["最終更新"] == "2026-11-23 09:00:15"
    }
    assert stamped == {"B", "D"}
    assert {r["商品コード"]: r["状態"] for r in book.records(PRODUCTS)} == dict.fromkeys(
        expected, "OK"
    )


def _stamps(book: Book) -> dict[str, Any]:
    return {r["商品コード"]: r.get("最終更新", "") for r in book.records(PRODUCTS)}


WRITE_OPS = ["values.batchGet", "values.batchGetByDataFilter", "spreadsheets.batchUpdate"]
"""A racing cycle's read, re-read and commit."""
REPAIR_OPS = ["spreadsheets.get", "spreadsheets.batchUpdate"]
"""A repair: the commit's answer holds only the rows it wrote, so one read finds where
the keys went, then one batchUpdate puts the cells right."""
STAMP = "2026-11-23 09:00:15"
"""最終更新 written by the second cycle of these tests."""


def test_rows_sorted_between_the_reread_and_the_write_still_land_right(
    book: Book, caplog: pytest.LogCaptureFixture
) -> None:
    # Sheets v4 has no compare-and-set and updateCells addresses rows by position: a
    # sort in the ~100 ms between the re-read and the batchUpdate puts B's cells on D.
    book.add_products([product_row(s, 10) for s in "ABCDE"])
    bot = Bot.start(book)
    bot.cycle()
    before = _stamps(book)
    book.clock.advance(15)
    sku_col = book.header(PRODUCTS).index("商品コード")
    book.emu.before_next(
        lambda: book.emu.sort_rows(book.sid, PRODUCTS, sku_col, descending=True), kind="write"
    )
    book.emu.reset_counts()

    _, result = bot.cycle([order("b", 1)])

    # The commit's own answer showed the move; one more batchUpdate put it right.
    assert [r.op for r in book.emu.requests] == [*WRITE_OPS, *REPAIR_OPS]
    assert result.requests == 4  # re-read, commit, where the keys went, repair
    (repair,) = book.emu.requests[4:]
    assert repair.request_types == ("updateCells",) * len(repair.request_types)
    got = {r["商品コード"]: r["在庫数"] for r in book.records(PRODUCTS)}
    assert got == {"A": 10, "B": 9, "C": 10, "D": 10, "E": 10}
    assert _stamps(book) == {**before, "B": STAMP}  # D's 最終更新 is back too
    assert [r["商品コード"] for r in book.records(PRODUCTS)] == list("EDCBA")  # staff's sort
    assert "rows moved while the commit was sent" in caplog.text
    assert f"{PRODUCTS}!" in caplog.text

    book.clock.advance(15)
    book.emu.reset_counts()
    bot.cycle()
    assert book.product("B")["在庫数"] == 9 and book.product("D")["在庫数"] == 10
    assert total(book) == 3  # nothing left to fix: an idle cycle again


def test_movement_marks_land_on_their_rows_when_staff_sort_during_the_commit(book: Book) -> None:
    three_products(book)
    done = book.add_movement("C", 2, "入荷")
    book.emu.set_values(book.sid, MOVEMENTS, f"F{done}", [["済 2026-11-22 10:00:00"]])
    bot = Bot.start(book)
    bot.cycle()
    book.clock.advance(15)
    book.add_movement("A", 5, "入荷")  # under C's 済 row: the commit marks its position
    sku_col = book.header(MOVEMENTS).index("商品コード")
    book.emu.before_next(
        lambda: book.emu.sort_rows(book.sid, MOVEMENTS, sku_col), kind="write"
    )  # A's row goes up, the 済 row of C comes down under the mark
    book.emu.reset_counts()

    bot.cycle()

    assert [r.op for r in book.emu.requests] == [*WRITE_OPS, *REPAIR_OPS]
    marks = {r["商品コード"]: r["反映"] for r in book.records(MOVEMENTS)}
    assert marks["C"] == "済 2026-11-22 10:00:00"  # its own mark, not A's
    assert str(marks["A"]).startswith("済 ") and marks["A"] != marks["C"]
    assert book.product("A")["在庫数"] == 15
    # Unrepaired, A's row would still be pending and be applied a second time here.
    book.clock.advance(15)
    bot.cycle()
    assert book.product("A")["在庫数"] == 15 and book.product("C")["在庫数"] == 7


def settled_movements(book: Book) -> Bot:
    """Three 入出庫 rows applied by the bot (a settled top), then a new pending row of A."""
    three_products(book)
    for sku in "BCB":
        book.add_movement(sku, 1, "入荷")
    bot = Bot.start(book)
    bot.cycle()
    book.clock.advance(15)
    bot.cycle()  # the settled top is known from this read on
    book.clock.advance(15)
    book.add_movement("A", 5, "入荷")
    return bot


def test_a_commit_asks_back_moves_from_the_settled_top_down_only(book: Book) -> None:
    bot = settled_movements(book)
    book.emu.reset_counts()

    bot.cycle()

    assert [r.op for r in book.emu.requests] == WRITE_OPS
    asked = [r for r in book.emu.requests[2].ranges if MOVEMENTS in r]
    assert asked == [f"'{MOVEMENTS}'!A1:F1", f"'{MOVEMENTS}'!A4:F5"]  # header, last 済, A's
    assert book.product("A")["在庫数"] == 15
    assert str(book.records(MOVEMENTS)[-1]["反映"]).startswith("済 ")


@pytest.mark.parametrize("edit", ["insert_top", "delete_top", "sort"])
def test_moves_above_the_settled_top_during_the_commit_are_found_and_repaired(
    book: Book, edit: str
) -> None:
    bot = settled_movements(book)
    sku_col = book.header(MOVEMENTS).index("商品コード")

    def staff() -> None:
        if edit == "insert_top":
            book.emu.insert_rows(book.sid, MOVEMENTS, 1, [[]])
        elif edit == "delete_top":
            book.emu.delete_rows(book.sid, MOVEMENTS, 1, 2)
        else:
            book.emu.sort_rows(book.sid, MOVEMENTS, sku_col)

    book.emu.before_next(staff, kind="write")
    book.emu.reset_counts()

    bot.cycle()

    assert [r.op for r in book.emu.requests][:3] == WRITE_OPS
    marks = [(r["商品コード"], str(r["反映"])[:2]) for r in book.records(MOVEMENTS)]
    assert ("A", "済 ") in marks and all(m == "済 " for _, m in marks)
    assert book.product("A")["在庫数"] == 15
    book.clock.advance(15)
    bot.cycle()  # A's row is applied once, whatever staff moved
    assert book.product("A")["在庫数"] == 15


@pytest.mark.parametrize("edit", ["delete_above", "insert_blank", "insert_product"])
def test_rows_inserted_or_deleted_during_the_commit_are_repaired(book: Book, edit: str) -> None:
    book.add_products([product_row(s, 10) for s in "ABCDE"])
    bot = Bot.start(book)
    bot.cycle()
    before = _stamps(book)
    book.clock.advance(15)

    def staff() -> None:  # B sits on grid row 2 when the commit is built
        if edit == "delete_above":
            book.emu.delete_rows(book.sid, PRODUCTS, 1, 2)  # A: C moves up under B's cells
        elif edit == "insert_blank":
            book.emu.insert_rows(book.sid, PRODUCTS, 2, [[]])
        else:
            book.emu.insert_rows(book.sid, PRODUCTS, 2, [["F", "新商品", 3]])

    book.emu.before_next(staff, kind="write")
    book.emu.reset_counts()

    bot.cycle([order("b", 1)])

    assert [r.op for r in book.emu.requests] == [*WRITE_OPS, *REPAIR_OPS]
    got = {r["商品コード"]: r["在庫数"] for r in book.records(PRODUCTS)}
    expected: dict[str, Any] = {"A": 10, "B": 9, "C": 10, "D": 10, "E": 10}
    stamps = {**before, "B": STAMP}
    if edit == "delete_above":
        del expected["A"], stamps["A"]
    if edit == "insert_product":
        # F came in under B's cells: what staff typed there is gone, and a blank 在庫数
        # (a 状態 problem next cycle) is safer than B's number passing for F's stock.
        expected["F"], stamps["F"] = "", ""
    assert got == expected
    assert _stamps(book) == stamps
    grid = book.grid(PRODUCTS)
    if edit == "insert_blank":
        assert not any(v not in ("", None) for v in grid[2])  # no stray 9 or timestamp

    book.clock.advance(15)
    bot.cycle()
    if edit == "insert_product":
        assert "在庫数" in book.product("F")["状態"]
        assert "F" not in bot.state.stock


def test_moves_that_miss_the_written_rows_cost_nothing(book: Book) -> None:
    book.add_products([product_row(s, 10) for s in "ABCDE"])
    bot = Bot.start(book)
    bot.cycle()
    book.clock.advance(15)
    book.emu.before_next(
        lambda: book.emu.insert_rows(book.sid, PRODUCTS, 4, [["F", "新商品", 3]]), kind="write"
    )
    book.emu.reset_counts()

    _, result = bot.cycle([order("b", 1)])

    assert [r.op for r in book.emu.requests] == WRITE_OPS
    assert result.requests == 2
    got = {r["商品コード"]: r["在庫数"] for r in book.records(PRODUCTS)}
    assert got == {"A": 10, "B": 9, "C": 10, "D": 10, "E": 10, "F": 3}


def test_a_repair_that_lands_on_moved_rows_is_repaired_again(book: Book) -> None:
    book.add_products([product_row(s, 10) for s in "ABCDE"])
    bot = Bot.start(book)
    bot.cycle()
    before = _stamps(book)
    book.clock.advance(15)
    sku_col = book.header(PRODUCTS).index("商品コード")
    for nth, descending in ((1, True), (2, False)):  # before the commit, before the repair
        book.emu.before_next(
            lambda d=descending: book.emu.sort_rows(book.sid, PRODUCTS, sku_col, descending=d),
            nth,
            kind="write",
        )
    book.emu.reset_counts()

    _, result = bot.cycle([order("b", 1)])

    assert [r.op for r in book.emu.requests] == [
        *WRITE_OPS,
        *REPAIR_OPS,
        "spreadsheets.batchUpdate",
    ]
    assert result.requests == 5
    got = {r["商品コード"]: r["在庫数"] for r in book.records(PRODUCTS)}
    assert got == {"A": 10, "B": 9, "C": 10, "D": 10, "E": 10}
    assert _stamps(book) == {**before, "B": STAMP}


def test_a_failed_repair_is_logged_and_the_commit_still_counts(
    book: Book, caplog: pytest.LogCaptureFixture
) -> None:
    book.add_products([product_row(s, 10) for s in "ABCDE"])
    bot = Bot.start(book)
    bot.cycle()
    book.clock.advance(15)
    sku_col = book.header(PRODUCTS).index("商品コード")
    book.emu.before_next(
        lambda: book.emu.sort_rows(book.sid, PRODUCTS, sku_col, descending=True), kind="write"
    )
    book.emu.before_next(lambda: book.emu.fail_next(400), 2, kind="write")

    plan, result = bot.cycle([order("b", 1)])  # does not raise: the commit has landed

    assert not result.conflict and result.requests == 4
    assert plan.sales_log and len(book.records(SALES_LOG)) == 1
    assert "could not repair rows moved during the commit" in caplog.text


def test_a_deleted_product_is_not_written_anywhere(book: Book) -> None:
    book.add_products([product_row(s, 10) for s in "ABC"])
    bot = Bot.start(book)
    bot.cycle()
    book.clock.advance(15)
    before = book.grid(PRODUCTS)
    row_b = book.row_of("B")

    book.emu.before_next(
        lambda: book.emu.delete_rows(book.sid, PRODUCTS, row_b - 1, row_b), kind="read", nth=2
    )
    plan, result = bot.cycle([order("b", 4)])

    after = book.grid(PRODUCTS)
    assert after == [before[0], before[1], before[3]]  # only B's row went, nothing written
    assert "B" not in result.read.product_rows
    (sale,) = book.records(SALES_LOG)
    assert sale["種別"] == SaleKind.UNASSIGNED and sale["商品コード"] == ""
    assert plan.stock == {}


# =========================================================================== retry


def test_429_then_success_is_retried_once_on_the_virtual_clock(book: Book) -> None:
    three_products(book)
    gw = book.gateway()
    book.emu.reset_counts()
    book.emu.fail_next(429)
    t0, v0 = time.monotonic(), book.clock.monotonic()

    read = gw.read()

    assert set(read.snapshot.products) == {"A", "B", "C"}
    assert [r.status for r in book.emu.requests] == [429, 200]
    waited = book.clock.monotonic() - v0
    assert 2.0 <= waited <= 3.0  # 2 s base + up to 1 s jitter
    assert time.monotonic() - t0 < 1.0  # no real sleep


def test_jitter_is_deterministic_with_a_seeded_rng(book: Book) -> None:
    three_products(book)
    waits = []
    for _ in range(2):
        book.rng.seed(0)
        gw = book.gateway()
        book.emu.fail_next(503, times=2)
        v0 = book.clock.monotonic()
        gw.read()
        waits.append(book.clock.monotonic() - v0)
    assert waits[0] == waits[1] and 6.0 <= waits[0] <= 8.0


def test_persistent_500_gives_up_within_five_tries_and_90_seconds(book: Book) -> None:
    gw = book.gateway()
    book.emu.reset_counts()
    book.emu.fail_next(500, times=100)
    v0 = book.clock.monotonic()

    with pytest.raises(SheetError, match="500") as info:
        gw.read()

    assert not isinstance(info.value, SheetStopped)
    assert [r.status for r in book.emu.requests] == [500] * 5
    waited = book.clock.monotonic() - v0
    assert 30.0 <= waited <= 34.0 <= 90.0  # 2 + 4 + 8 + 16 s, each plus < 1 s of jitter


def test_retry_budget_in_seconds_is_honoured(book: Book) -> None:
    gw = SheetGateway.open(book.client(max_seconds=10.0), book.sid, malls=["rakuten"])
    book.emu.reset_counts()
    book.emu.fail_next(503, times=100)
    v0 = book.clock.monotonic()
    with pytest.raises(SheetError):
        gw.read()
    assert book.clock.monotonic() - v0 <= 10.0
    assert len(book.emu.requests) == 3  # waits of ~2 s and ~4 s; ~8 s more would pass 10 s


@pytest.mark.parametrize("status", [400, 403, 404])
def test_client_errors_are_never_retried(book: Book, status: int) -> None:
    gw = book.gateway()
    book.emu.reset_counts()
    book.emu.fail_next(status)
    v0 = book.clock.monotonic()
    with pytest.raises(SheetError, match=str(status)):
        gw.read()
    # Never retried; a 400 only makes the gateway look whether a tab went missing.
    ops = [r.path.rsplit("/", 1)[-1] for r in book.emu.requests]
    assert ops == ["values:batchGet", *([book.sid] if status == 400 else [])]
    assert book.clock.monotonic() == v0


def test_a_dropped_connection_on_a_read_is_retried(book: Book) -> None:
    three_products(book)
    gw = book.gateway()
    book.emu.reset_counts()
    book.emu.before_next(_drop_connection, kind="read")
    read = gw.read()
    assert len(read.snapshot.products) == 3 and len(book.emu.requests) == 2


def test_a_stop_during_a_backoff_raises_promptly(book: Book) -> None:
    gw = SheetGateway.open(book.client(clock=RealClock()), book.sid, malls=["rakuten"])
    book.emu.fail_next(503, times=5)  # real backoffs would take ~30 s
    timer = threading.Timer(0.05, book.stop.set)
    t0 = time.monotonic()
    timer.start()
    try:
        with pytest.raises(SheetStopped):
            gw.read()
    finally:
        timer.cancel()
    assert time.monotonic() - t0 < 1.0


def test_a_stop_already_set_ends_the_retry_on_virtual_time(book: Book) -> None:
    gw = book.gateway()
    book.emu.reset_counts()
    book.emu.fail_next(429, times=3)
    book.emu.before_next(book.stop.set)
    v0 = book.clock.monotonic()
    with pytest.raises(SheetStopped):
        gw.read()
    assert len(book.emu.requests) == 1 and book.clock.monotonic() == v0


# =========================================================================== lost answers


def _drop_connection() -> None:
    raise requests.exceptions.ConnectionError("emulated connection reset before the request")


def _prepared(book: Book) -> tuple[Bot, engine.Plan, SheetRead]:
    three_products(book)
    bot = Bot.start(book)
    bot.cycle()
    book.clock.advance(15)
    bot.cycles += 1
    read = bot.gw.read(bot.state.stock)
    plan = bot.plan(read, [order("a", 2)])
    book.emu.reset_counts()
    return bot, plan, read


def test_a_commit_applied_but_unanswered_is_not_applied_twice(book: Book) -> None:
    bot, plan, read = _prepared(book)
    book.emu.timeout_after_apply_next()

    result = bot.commit(plan, read)

    assert not result.conflict
    assert [r.op for r in book.emu.requests] == [
        "values.batchGetByDataFilter",  # re-read
        "spreadsheets.batchUpdate",  # applied, answer lost
        "values.batchGet",  # _state: last_commit is ours → done
    ]
    assert result.requests == 3
    assert len(book.records(SALES_LOG)) == 1
    assert book.product("A")["在庫数"] == 8


def test_a_commit_lost_before_it_was_applied_is_sent_again_once(book: Book) -> None:
    bot, plan, read = _prepared(book)
    book.emu.before_next(_drop_connection, kind="write")

    result = bot.commit(plan, read)

    assert [r.op for r in book.emu.requests] == [
        "values.batchGetByDataFilter",
        "spreadsheets.batchUpdate",  # never reached the sheet
        "values.batchGet",  # _state: not ours → send again
        "spreadsheets.batchUpdate",
    ]
    assert result.requests == 4
    assert len(book.records(SALES_LOG)) == 1
    assert book.product("A")["在庫数"] == 8


def test_a_commit_answered_503_is_retried_and_applied_once(book: Book) -> None:
    bot, plan, read = _prepared(book)
    book.emu.fail_next(503, kind="write")
    bot.commit(plan, read)
    assert [r.status for r in book.emu.requests if r.kind == "write"] == [503, 200]
    assert len(book.records(SALES_LOG)) == 1
    assert book.product("A")["在庫数"] == 8


def test_an_outcome_that_cannot_be_checked_is_reported_as_unknown(book: Book) -> None:
    bot, plan, read = _prepared(book)
    book.emu.timeout_after_apply_next()
    # The write lands, its answer is lost, and then every read fails.
    book.emu.before_next(lambda: book.emu.fail_next(503, times=100, kind="read"), kind="write")

    with pytest.raises(CommitOutcomeUnknown):
        bot.commit(plan, read)

    assert len(book.records(SALES_LOG)) == 1  # it did land: the caller must re-read


def test_push_results_applied_but_unanswered_are_not_recorded_twice(book: Book) -> None:
    three_products(book)
    bot = Bot.start(book)
    plan, result = bot.cycle()
    book.emu.timeout_after_apply_next()
    book.emu.reset_counts()

    sent = bot.record(plan, result.read)

    assert len(book.records(MALL_LOG)) == len(plan.pushes) == 3
    assert len(book.records(LISTINGS)) == 3
    # The write, _state to see whether it landed (it did: not sent again), and 出品状況
    # once more, since nothing came back to check the rows against (nothing to rewrite).
    assert [r.op for r in book.emu.requests] == [
        "spreadsheets.batchUpdate",
        "values.batchGet",
        "values.batchGet",
    ]
    assert sent == 3


def test_push_results_lost_before_applied_are_sent_again(book: Book) -> None:
    three_products(book)
    bot = Bot.start(book)
    plan, result = bot.cycle()
    book.emu.before_next(_drop_connection, kind="write")
    bot.record(plan, result.read)
    assert len(book.records(MALL_LOG)) == 3
    assert len(book.records(LISTINGS)) == 3


# =========================================================================== start-up


def test_log_rows_follow_the_log_headers_read_at_start_up(book: Book) -> None:
    three_products(book)
    sales = TEMPLATE_HEADERS[SALES_LOG]
    book.set_header(SALES_LOG, list(reversed(sales)))
    ops_header = TEMPLATE_HEADERS[OPS_LOG]
    book.set_header(OPS_LOG, [ops_header[-1], *ops_header[:-1]])
    bot = Bot.start(book)
    book.add_movement("C", 2, "入荷", "便")

    bot.cycle([order("a", 1)])

    (sale,) = book.records(SALES_LOG)
    assert book.header(SALES_LOG) == list(reversed(sales))
    assert (sale["キー"], sale["反映数"], sale["商品コード"], sale["日時"]) == (
        "rakuten:100-1:1",
        1,
        "A",
        NOW_JST,
    )
    (op,) = book.records(OPS_LOG)
    assert (op["メモ"], op["商品コード"], op["日時"]) == ("便", "C", NOW_JST)
    # …and a restart reads the ledger back through the same headers.
    data = Bot.start(book).gw.load_startup()
    assert [(e.key, e.applied, e.sku) for e in data.ledger] == [("rakuten:100-1:1", 1, "A")]


def test_log_columns_reordered_while_running_are_followed(book: Book) -> None:
    three_products(book)
    bot = Bot.start(book)
    bot.cycle([order("a", 1)])
    book.set_header(SALES_LOG, list(reversed(TEMPLATE_HEADERS[SALES_LOG])))
    book.emu.delete_rows(book.sid, SALES_LOG, 1, 2)
    book.clock.advance(15)

    bot.cycle([order("b", 2, order_id="100-2")])

    (sale,) = book.records(SALES_LOG)
    assert (sale["キー"], sale["反映数"], sale["商品コード"]) == ("rakuten:100-2:1", 2, "B")


def test_a_log_column_staff_deleted_is_put_back_not_lost(book: Book) -> None:
    three_products(book)
    header = TEMPLATE_HEADERS[SALES_LOG]
    bot = Bot.start(book)
    # Staff delete the キー column of 販売ログ (the grid shrinks by one column).
    bot.gw.spreadsheet.batch_update(
        {
            "requests": [
                {
                    "deleteDimension": {
                        "range": {
                            "sheetId": bot.gw.sheet_ids["sales_log"],
                            "dimension": "COLUMNS",
                            "startIndex": header.index("キー"),
                            "endIndex": header.index("キー") + 1,
                        }
                    }
                }
            ]
        }
    )
    assert "キー" not in book.header(SALES_LOG)

    bot.cycle([order("a", 1)])

    assert book.header(SALES_LOG) == [h for h in header if h != "キー"] + ["キー"]
    (sale,) = book.records(SALES_LOG)
    assert (sale["キー"], sale["反映数"], sale["商品コード"]) == ("rakuten:100-1:1", 1, "A")
    data = Bot.start(book).gw.load_startup()
    assert [(e.key, e.applied) for e in data.ledger] == [("rakuten:100-1:1", 1)]


def test_load_startup_rebuilds_the_ledger_written_by_commits(book: Book) -> None:
    three_products(book)
    bot = Bot.start(book)
    bot.cycle([order("a", 3), order("zzz", 1, order_id="100-9")])
    book.clock.advance(60)
    bot.cycle([order("a", 1), order("zzz", 1, order_id="100-9")])  # partial cancel: 3 → 1
    stock_a = book.product("A")["在庫数"]
    assert stock_a == 9

    restarted = Bot.start(book)
    data = restarted.gw.load_startup()

    entries = [
        (e.key, e.kind, e.qty, e.applied, e.sku, e.code, e.order_id, e.line_id) for e in data.ledger
    ]
    assert entries == [
        ("rakuten:100-1:1", SaleKind.SALE, -3, 3, "A", "a", "100-1", "1"),
        ("rakuten:100-9:1", SaleKind.UNASSIGNED, -1, 0, "", "zzz", "100-9", "1"),
        ("rakuten:100-1:1", SaleKind.CHANGE, 2, 1, "A", "a", "100-1", "1"),
    ]
    assert data.ledger[0].at == datetime(2026, 11, 23, 9, 0, tzinfo=JST)
    assert data.ledger[2].at == datetime(2026, 11, 23, 9, 1, tzinfo=JST)
    # The same reports after a restart change nothing: the ledger already holds them.
    book.clock.advance(15)
    plan, _ = restarted.cycle([order("a", 1), order("zzz", 1, order_id="100-9")])
    assert plan.sales_log == () and book.product("A")["在庫数"] == 9


def test_state_values_round_trip_through_the_state_tab(book: Book) -> None:
    three_products(book)
    bot = Bot.start(book)
    read = bot.gw.read()
    plan = bot.plan(read)
    cursors = {"rakuten": START + timedelta(minutes=5), "yahoo": START}
    values = state_values(cursors, {"low_stock:A", "oversell:B"}, {"A": 3, "B": -2, "C": 0})
    bot.gw.commit(plan, read, values, bot_stock=None, commit_id="c-1")

    state = Bot.start(book).gw.load_startup().state

    assert {k: state[k] for k in values} == values
    assert datetime.fromisoformat(state["cursor:rakuten"]) == cursors["rakuten"]
    assert json.loads(state["conditions"]) == ["low_stock:A", "oversell:B"]
    assert json.loads(state["negative_stock"]) == {"B": -2}
    assert state["last_commit"] == "c-1" and state["schema_version"] == "1"


def test_state_rows_are_rewritten_without_leftovers(book: Book) -> None:
    three_products(book)
    stale = [
        ["cursor:rakuten", "2026-11-22T00:00:00+00:00"],
        ["", ""],
        ["cursor:rakuten", "old"],
        ["zz", "keep"],
        ["zz", "older"],
        ["", "orphan value"],
        ["cursor:rakuten", "oldest"],
    ]
    book.emu.set_values(book.sid, STATE, "A3", stale)  # below schema_version
    bot = Bot.start(book)
    read = bot.gw.read()
    bot.gw.commit(bot.plan(read), read, {"conditions": "[]"}, bot_stock=None, commit_id="c-1")

    rows = book.grid(STATE)[1:]
    keys = [r[0] for r in rows if r and r[0]]
    assert keys == sorted(set(keys))  # one row per key, no stale duplicates
    assert rows[len(keys) :] == [[]] * (len(rows) - len(keys))  # the rest is cleared
    state = {r[0]: r[1] if len(r) > 1 else "" for r in rows if r and r[0]}
    assert state == {
        "conditions": "[]",
        "cursor:rakuten": "2026-11-22T00:00:00+00:00",  # the first row of a key wins
        "last_commit": "c-1",
        "last_record": "",
        "schema_version": "1",
        "zz": "keep",
    }


def test_long_state_values_are_split_below_the_cell_limit(book: Book) -> None:
    # A big shop can have thousands of raised conditions; Google refuses more than
    # 50,000 characters in one cell, which would fail every commit.
    three_products(book)
    bot = Bot.start(book)
    read = bot.gw.read()
    conditions = {f"out_of_stock:SKU{i:05d}" for i in range(8000)}
    values = state_values({"rakuten": START}, conditions, {})
    assert len(values["conditions"]) > 150_000
    bot.gw.commit(bot.plan(read), read, values, bot_stock=None, commit_id="c-1")

    assert max(len(str(v)) for row in book.grid(STATE) for v in row) <= 50_000
    state = Bot.start(book).gw.load_startup().state
    assert json.loads(state["conditions"]) == sorted(conditions)
    assert not [k for k in state if "#" in k]

    # Fewer conditions later: the continuation rows go away.
    read = bot.gw.read()
    values = state_values({}, {"low_stock:A"}, {})
    bot.gw.commit(bot.plan(read), read, values, bot_stock=None, commit_id="c-2")
    keys = [r[0] for r in book.grid(STATE)[1:] if r]
    assert not [k for k in keys if k.startswith("conditions#")]
    state = Bot.start(book).gw.load_startup().state
    assert json.loads(state["conditions"]) == ["low_stock:A"]
    assert state["cursor:rakuten"] == START.isoformat()


def test_ledger_dates_that_became_date_cells_are_still_read(book: Book) -> None:
    row = {
        "日時": "2026-11-23 09:00:15",
        "モール": "楽天",
        "注文番号": "100-1",
        "明細": "1",
        "種別": "販売",
        "モール商品コード": "a",
        "商品コード": "A",
        "数量": -1,
        "変更前": 10,
        "変更後": 9,
        "キー": "rakuten:100-1:1",
        "反映数": 1,
    }
    book.write_rows(SALES_LOG, [row])  # typed by hand: the date becomes a date serial
    assert isinstance(book.grid(SALES_LOG)[1][0], float)

    (entry,) = book.gateway().load_startup().ledger

    assert entry.at == datetime(2026, 11, 23, 9, 0, 15, tzinfo=JST)
    assert (entry.key, entry.applied, entry.kind) == ("rakuten:100-1:1", 1, SaleKind.SALE)


def test_listings_written_by_record_are_read_back_at_start_up(book: Book) -> None:
    three_products(book)
    bot = Bot.start(book)
    bot.cycle(record=True)
    listings = Bot.start(book).gw.load_startup().listings
    assert listings == {("rakuten", "a"): 10, ("rakuten", "b"): 5, ("rakuten", "c"): 7}


# =========================================================================== 入出庫


def test_a_marked_movement_is_never_marked_again(book: Book) -> None:
    three_products(book)
    done = book.add_movement("A", 5, "入荷")
    book.emu.set_values(book.sid, MOVEMENTS, f"F{done}", [["済 2026-11-22 10:00:00"]])
    fresh = book.add_movement("B", 2, "入荷")
    bot = Bot.start(book)

    bot.cycle()

    assert book.product("A")["在庫数"] == 10  # the marked row is not applied again
    assert book.product("B")["在庫数"] == 7
    grid = book.grid(MOVEMENTS)
    assert grid[done - 1][5] == "済 2026-11-22 10:00:00"
    assert str(grid[fresh - 1][5]).startswith("済")
    marked = grid[fresh - 1][5]
    book.clock.advance(15)
    book.emu.reset_counts()
    bot.cycle()
    (write,) = [r for r in book.emu.requests if r.kind == "write"]
    assert write.request_types == ("updateCells",)  # _state only: no mark rewritten
    assert book.grid(MOVEMENTS)[fresh - 1][5] == marked
    assert book.product("B")["在庫数"] == 7


def test_an_unparseable_movement_is_marked_with_an_error_and_not_applied(book: Book) -> None:
    three_products(book)
    bad = book.add_movement("A", "たくさん", "入荷")
    unknown = book.add_movement("NOPE", 1, "入荷")
    bot = Bot.start(book)

    bot.cycle()

    assert book.product("A")["在庫数"] == 10
    grid = book.grid(MOVEMENTS)
    assert str(grid[bad - 1][5]).startswith("エラー: ") and "C" in grid[bad - 1][5]
    assert (
        grid[unknown - 1][5]
        == "エラー: 商品コード『NOPE』が商品マスタにありません（入出庫の商品コードを直すと、次の連動で反映されます）"
    )
    # Once shown, the error is not rewritten every cycle…
    book.clock.advance(15)
    book.emu.reset_counts()
    bot.cycle()
    (write,) = [r for r in book.emu.requests if r.kind == "write"]
    assert write.request_types == ("updateCells",)
    # …and when staff fix the cell the row is applied and marked 済.
    book.emu.set_values(book.sid, MOVEMENTS, f"C{bad}", [[4]])
    book.clock.advance(15)
    bot.cycle()
    assert book.product("A")["在庫数"] == 14
    assert str(book.grid(MOVEMENTS)[bad - 1][5]).startswith("済")


def test_error_log_rows_go_in_the_commit(book: Book) -> None:
    book.add_products([product_row("A", "abc"), product_row("B", 5)])
    bot = Bot.start(book)
    bot.cycle()
    errors = book.records(ERROR_LOG)
    assert errors and all(JST_STAMP.match(r["日時"]) for r in errors)
    assert book.product("A")["状態"].startswith("エラー: ")
