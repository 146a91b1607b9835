"""A long settled top of 入出庫 on the emulator: a commit re-reads and asks back below it.

A busy shop's 入出庫 holds thousands of applied (済) rows above the few a cycle marks.
The commit re-reads 入出庫 and asks it back from the settled top's last row down, and
a mark's row is told by a fingerprint that counts the identical rows above it — also
those in the top, which came back in neither. These tests fill the top with rows of
the same content as the new one, and hold where marks land when staff add a row
between the re-read and the write (tests/sheet/test_gateway.py has the moves above).
"""

from __future__ import annotations

from typing import Any

from tests.sheet.conftest import MOVEMENTS, OPS_LOG, Book, product_row
from tests.sheet.test_gateway import REPAIR_OPS, WRITE_OPS, Bot

SETTLED = 40
"""Applied rows above the ones a cycle marks."""


def receipt(sku: str) -> dict[str, Any]:
    """A 入出庫 row as staff type it; rows of one product read the same (one fingerprint)."""
    return {"日時": "2026-11-22 10:00:00", "商品コード": sku, "数量": 1, "区分": "入荷"}


def settled_shop(book: Book) -> Bot:
    """Products A–E and SETTLED applied 入出庫 rows (8 alike of each product)."""
    book.add_products([product_row(s, 10) for s in "ABCDE"])
    book.write_rows(MOVEMENTS, [receipt("ABCDE"[i % 5]) for i in range(SETTLED)])
    bot = Bot.start(book)
    bot.cycle()
    assert all(str(r["反映"]).startswith("済") for r in book.records(MOVEMENTS))
    assert book.product("A")["在庫数"] == 18
    book.clock.advance(15)
    return bot


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


def receipts(book: Book) -> int:
    return sum("入出庫" in str(r["種別"]) for r in book.records(OPS_LOG))


def test_a_row_like_many_in_the_top_is_marked_without_the_top_read_back(book: Book) -> None:
    bot = settled_shop(book)
    row = SETTLED + 2  # a 9th receipt of B, the same content as the 8 above it
    book.write_rows(MOVEMENTS, [receipt("B")], start_row=row)
    book.emu.reset_counts()

    bot.cycle()

    ops = [r.op for r in book.emu.requests]
    assert ops == WRITE_OPS  # found where it was written: no repair
    reread, commit = book.emu.requests[1], book.emu.requests[2]
    assert [r for r in reread.ranges if MOVEMENTS in r] == [f"'{MOVEMENTS}'!A{SETTLED + 1}:F"]
    assert [r for r in commit.ranges if MOVEMENTS in r] == [
        f"'{MOVEMENTS}'!A1:F1",
        f"'{MOVEMENTS}'!A{SETTLED + 1}:F{row}",
    ]
    assert marks(book)[row].startswith("済") and book.product("B")["在庫数"] == 19
    book.clock.advance(15)
    bot.cycle()
    assert book.product("B")["在庫数"] == 19 and receipts(book) == SETTLED + 1


def test_a_row_inserted_below_the_top_during_the_commit_is_repaired(book: Book) -> None:
    bot = settled_shop(book)
    first = SETTLED + 2
    book.write_rows(MOVEMENTS, [receipt("A"), receipt("C")], start_row=first)
    book.emu.before_next(
        lambda: book.emu.insert_rows(book.sid, MOVEMENTS, first - 1, [["x", "D", 2, "入荷"]]),
        kind="write",
    )  # a new row pushes both marked rows down by one
    book.emu.reset_counts()

    bot.cycle()

    assert [r.op for r in book.emu.requests] == [*WRITE_OPS, *REPAIR_OPS]
    now = marks(book)
    assert now[first] == ""  # D's row: not applied yet, so not marked
    assert now[first + 1].startswith("済") and now[first + 2].startswith("済")
    assert (book.product("A")["在庫数"], book.product("C")["在庫数"]) == (19, 19)
    book.clock.advance(15)
    bot.cycle()  # D is taken in now, A and C not again
    assert [book.product(s)["在庫数"] for s in "ACD"] == [19, 19, 20]
    assert receipts(book) == SETTLED + 3
