"""入出庫's settled top on the emulator: the commit asks back only from its last row down.

A busy shop's 入出庫 holds thousands of applied (済) rows above the few a cycle marks.
The commit's answer used to carry 入出庫's whole columns each time a row was marked;
it now carries the header and the rows from the settled top's last row down to the
last row it marks, and the repair takes the rows above from the re-read while that
row is unchanged (bot/infra/sheet/movements_read.py). These tests run the gateway
through real gspread on the emulator and hold what it asks and where marks land when
staff insert, delete or sort rows in the moment between the re-read and the write.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.models import PreparedRequest, Response

from bot.core import engine
from bot.infra.sheet.gateway import SheetGateway, make_client
from bot.sandbox.sheets import SHEETS_PREFIX
from tests.sheet.conftest import MOVEMENTS, OPS_LOG, Book, product_row
from tests.sheet.test_gateway import REPAIR_OPS, WRITE_OPS, Bot

SETTLED = 40
"""Applied rows above the ones a cycle marks."""


class Recorder(BaseAdapter):
    """The emulator's adapter, keeping each batchUpdate's body."""

    def __init__(self, inner: BaseAdapter) -> None:
        super().__init__()
        self.inner = inner
        self.bodies: list[dict[str, Any]] = []

    def send(self, request: PreparedRequest, *args: Any, **kwargs: Any) -> Response:
        if urlsplit(request.url or "").path.endswith(":batchUpdate") and request.body:
            body = request.body if isinstance(request.body, str) else request.body.decode()
            self.bodies.append(json.loads(body))
        return self.inner.send(request, *args, **kwargs)

    def close(self) -> None:
        self.inner.close()


def start(book: Book) -> tuple[Bot, Recorder]:
    session = requests.Session()
    session.trust_env = False
    book.emu.mount(session)
    recorder = Recorder(book.emu)
    session.mount(SHEETS_PREFIX, recorder)
    client = make_client(session=session, clock=book.clock, stop=book.stop, rng=book.rng)
    gw = SheetGateway.open(client, book.sid, malls=["rakuten"])
    data = gw.load_startup()
    state = engine.rebuild(data.ledger, data.listings, ())
    return Bot(book, gw, state), recorder


def receipt(sku: str) -> dict[str, Any]:
    """A 入出庫 row as staff type it; rows of one product read the same (one fingerprint)."""
    return {"日時": "2026-11-22 10:00:00", "商品コード": sku, "数量": 1, "区分": "入荷"}


def settled_shop(book: Book) -> tuple[Bot, Recorder]:
    """Products A–E and SETTLED applied 入出庫 rows (their receipts taken in)."""
    book.add_products([product_row(s, 10) for s in "ABCDE"])
    book.write_rows(MOVEMENTS, [receipt("ABCDE"[i % 5]) for i in range(SETTLED)])
    bot, recorder = start(book)
    bot.cycle()
    assert all(str(r["反映"]).startswith("済") for r in book.records(MOVEMENTS))
    assert book.product("A")["在庫数"] == 18
    book.clock.advance(15)
    return bot, recorder


def marks(book: Book) -> dict[int, str]:
    """Sheet row → 反映 of every 入出庫 row with a 商品コード."""
    grid = book.grid(MOVEMENTS)
    head = [str(v) for v in grid[0]]
    sku, mark = head.index("商品コード"), head.index("反映")
    return {
        i + 1: str(row[mark]) if mark < len(row) else ""
        for i, row in enumerate(grid)
        if i and sku < len(row) and row[sku]
    }


def answer_ranges(body: Mapping[str, Any]) -> list[str]:
    return [r for r in body.get("responseRanges") or [] if r.startswith(f"'{MOVEMENTS}'")]


def receipts(book: Book) -> int:
    return sum("入出庫" in str(r["種別"]) for r in book.records(OPS_LOG))


def test_a_commit_asks_back_the_rows_it_marks_not_the_settled_top(book: Book) -> None:
    bot, recorder = settled_shop(book)
    # One more receipt like the 8 of B above: its key counts them (the 9th of its kind).
    row = SETTLED + 2
    book.write_rows(MOVEMENTS, [receipt("B")], start_row=row)
    recorder.bodies.clear()
    book.emu.reset_counts()

    bot.cycle()

    commit = recorder.bodies[0]
    # The header, and from the settled top's last row (sheet row SETTLED + 1) down to
    # the row marked; not the 40 rows above it.
    assert answer_ranges(commit) == [
        f"'{MOVEMENTS}'!A1:F1",
        f"'{MOVEMENTS}'!A{SETTLED + 1}:F{SETTLED + 2}",
    ]
    # The rows above came from the re-read: the row is found where it was written.
    assert [r.op for r in book.emu.requests] == WRITE_OPS
    assert marks(book)[row].startswith("済") and book.product("B")["在庫数"] == 19


def test_a_row_inserted_below_the_top_during_the_commit_is_repaired(book: Book) -> None:
    bot, _ = settled_shop(book)
    first = book.add_movement("A", 5, "入荷")
    second = book.add_movement("C", 7, "入荷")
    book.emu.before_next(
        lambda: book.emu.insert_rows(book.sid, MOVEMENTS, first - 1, [["x", "D", 2, "入荷"]]),
        kind="write",
    )  # a new row pushes both marked rows down by one
    book.emu.reset_counts()

    bot.cycle()

    assert [r.op for r in book.emu.requests] == [*WRITE_OPS, *REPAIR_OPS]
    now = marks(book)
    assert now[first] == ""  # D's row: not applied yet, so not marked
    assert now[first + 1].startswith("済") and now[second + 1].startswith("済")
    assert (book.product("A")["在庫数"], book.product("C")["在庫数"]) == (23, 25)
    book.clock.advance(15)
    bot.cycle()  # D is taken in now, A and C not again
    assert [book.product(s)["在庫数"] for s in "ACD"] == [23, 25, 20]
    assert receipts(book) == SETTLED + 3


def test_a_settled_row_deleted_during_the_commit_is_repaired(book: Book) -> None:
    bot, _ = settled_shop(book)
    row = book.add_movement("E", 4, "入荷")
    book.emu.before_next(
        lambda: book.emu.delete_rows(book.sid, MOVEMENTS, 3, 4), kind="write"
    )  # a 済 row far above: the boundary row and E's row move up
    book.emu.reset_counts()

    bot.cycle()

    assert [r.op for r in book.emu.requests] == [*WRITE_OPS, *REPAIR_OPS]
    now = marks(book)
    assert len(now) == SETTLED and all(m.startswith("済") for m in now.values())
    assert now[row - 1] != now[row - 2]  # E's own identity, not the boundary row's
    assert book.product("E")["在庫数"] == 22
    book.clock.advance(15)
    bot.cycle()
    assert book.product("E")["在庫数"] == 22 and receipts(book) == SETTLED + 1


def test_a_sort_during_the_commit_moves_the_top_and_is_repaired(book: Book) -> None:
    bot, _ = settled_shop(book)
    row = book.add_movement("A", 5, "入荷", "後から")
    sku_col = book.header(MOVEMENTS).index("商品コード")
    book.emu.before_next(
        lambda: book.emu.sort_rows(book.sid, MOVEMENTS, sku_col), kind="write"
    )  # the new A row goes up among the A rows; the boundary row moves
    book.emu.reset_counts()

    bot.cycle()

    assert [r.op for r in book.emu.requests] == [*WRITE_OPS, *REPAIR_OPS]
    grid = book.records(MOVEMENTS)
    assert len(grid) == row - 1 and all(str(r["反映"]).startswith("済") for r in grid)
    assert len({r["反映"] for r in grid}) == len(grid)  # every row its own identity
    assert book.product("A")["在庫数"] == 23
    book.clock.advance(15)
    bot.cycle()
    assert book.product("A")["在庫数"] == 23 and receipts(book) == SETTLED + 1
