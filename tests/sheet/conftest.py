"""Shared fixtures for the sheet tests: a template-built spreadsheet on the emulator.

``init_sheet`` through real gspread costs ~0.3 s (it formats every data row of every
tab), so it runs once per session; each test gets its own emulator holding a copy of
that book under the same id. Everything else a test does goes through the public
emulator helpers (staff edits) or real gspread (the gateway).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import gspread
import pytest

from bot.infra.sheet.gateway import SheetGateway, make_client
from bot.infra.sheet.layout import column_letter, load_template
from bot.infra.sheet.template import init_sheet
from bot.sandbox.clock import VirtualClock
from bot.sandbox.sheets import RenderOption, SheetsEmulator

START = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
"""09:00 JST: the virtual clock's start in every sheet test."""

PRODUCTS = "商品マスタ"
MOVEMENTS = "入出庫"
SALES_LOG = "販売ログ"
OPS_LOG = "操作ログ"
MALL_LOG = "モール更新ログ"
ERROR_LOG = "エラーログ"
LISTINGS = "出品状況"
STATE = "_state"

TEMPLATE_HEADERS = {tab.title: [c.header for c in tab.columns] for tab in load_template().tabs}


@dataclass
class _Golden:
    emu: SheetsEmulator
    sid: str


@pytest.fixture(scope="session")
def golden() -> _Golden:
    """One spreadsheet built by init_sheet, to be copied into each test's emulator."""
    clock = VirtualClock(START)
    emu = SheetsEmulator(clock=clock)
    sid = emu.create_spreadsheet("zaiko-bot test", sheets=("Sheet1",))
    init_sheet(make_client(session=emu.session(), clock=clock, stop=None).open_by_key(sid))
    return _Golden(emu, sid)


@dataclass
class Book:
    """One test's emulated spreadsheet plus the clock, stop event and RNG it runs on."""

    emu: SheetsEmulator
    sid: str
    clock: VirtualClock
    stop: threading.Event = field(default_factory=threading.Event)
    rng: random.Random = field(default_factory=lambda: random.Random(0))

    # -- clients -----------------------------------------------------------------

    def client(self, **kwargs: Any) -> gspread.Client:
        """A production gspread client (our retry, timeouts) on the emulator."""
        kwargs.setdefault("clock", self.clock)
        kwargs.setdefault("stop", self.stop)
        kwargs.setdefault("rng", self.rng)
        return make_client(session=self.emu.session(), **kwargs)

    def gateway(self, malls: Sequence[str] = ("rakuten",), **kwargs: Any) -> SheetGateway:
        """SheetGateway.open on this book (costs metadata reads; reset counts after)."""
        return SheetGateway.open(self.client(**kwargs), self.sid, malls=list(malls))

    # -- reading the book back (uncounted) -------------------------------------------

    def grid(self, title: str, render: RenderOption = "FORMULA") -> list[list[Any]]:
        """The whole tab as the API returns it (ragged rows, trailing blanks trimmed)."""
        return self.emu.get_values(self.sid, title, render)

    def header(self, title: str) -> list[str]:
        grid = self.grid(title)
        return [str(v) for v in grid[0]] if grid else []

    def records(self, title: str, render: RenderOption = "FORMULA") -> list[dict[str, Any]]:
        """Data rows as {header: value}, blank rows skipped."""
        grid = self.grid(title, render)
        if not grid:
            return []
        header = [str(v) for v in grid[0]]
        out = []
        for row in grid[1:]:
            if not any(v not in ("", None) for v in row):
                continue
            padded = list(row) + [""] * (len(header) - len(row))
            out.append({h: padded[i] for i, h in enumerate(header) if h})
        return out

    def product(self, sku: str) -> dict[str, Any]:
        """The 商品マスタ row of ``sku`` as {header: value}; KeyError when absent."""
        found = [r for r in self.records(PRODUCTS) if r.get("商品コード") == sku]
        if len(found) != 1:
            raise KeyError(f"{sku}: {len(found)} rows")
        return found[0]

    def row_of(self, sku: str, title: str = PRODUCTS, key: str = "商品コード") -> int:
        """1-based sheet row holding ``sku`` in column ``key``."""
        grid = self.grid(title)
        col = [str(v) for v in grid[0]].index(key)
        rows = [i + 1 for i, r in enumerate(grid) if i and col < len(r) and r[col] == sku]
        if len(rows) != 1:
            raise KeyError(f"{sku}: rows {rows}")
        return rows[0]

    # -- playing staff (uncounted, not hooked) ---------------------------------------

    def write_rows(
        self, title: str, rows: Sequence[Mapping[str, Any]], *, start_row: int = 2
    ) -> None:
        """Type rows given as {header: value} under the tab's current header."""
        header = self.header(title)
        grid = [[row.get(h) for h in header] for row in rows]
        self.emu.set_values(self.sid, title, f"A{start_row}", grid)

    def add_products(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Append products below the last data row of 商品マスタ."""
        self.write_rows(PRODUCTS, rows, start_row=len(self.grid(PRODUCTS)) + 1)

    def add_movement(self, sku: str, qty: Any, kind: str = "入荷", memo: str = "") -> int:
        """Append a 入出庫 row; returns its 1-based sheet row."""
        row = len(self.grid(MOVEMENTS)) + 1
        self.write_rows(
            MOVEMENTS,
            [
                {
                    "日時": "2026-11-23 08:55:00",
                    "商品コード": sku,
                    "数量": qty,
                    "区分": kind,
                    "メモ": memo,
                }
            ],
            start_row=row,
        )
        return row

    def set_cell(self, sku: str, header: str, value: Any) -> None:
        """Staff type ``value`` into ``sku``'s ``header`` cell of 商品マスタ."""
        col = self.header(PRODUCTS).index(header)
        self.emu.set_values(
            self.sid, PRODUCTS, f"{column_letter(col)}{self.row_of(sku)}", [[value]]
        )

    def set_header(self, title: str, header: Sequence[str]) -> None:
        """Replace the header row (staff reorder or add their own columns)."""
        self.emu.set_values(self.sid, title, "A1", [list(header)])


@pytest.fixture
def book(golden: _Golden) -> Iterator[Book]:
    """A fresh copy of the template spreadsheet on its own emulator and virtual clock."""
    clock = VirtualClock(START)
    emu = SheetsEmulator(clock=clock)
    # The emulator has no public "copy a book" helper; its clone is the one its own
    # transactions use (cells are immutable, so the copy is cheap and independent).
    emu._books[golden.sid] = golden.emu._snapshot(golden.sid)
    yield Book(emu=emu, sid=golden.sid, clock=clock)


def product_row(
    sku: str,
    stock: Any = 10,
    *,
    name: str = "",
    rakuten: str = "",
    **extra: Any,
) -> dict[str, Any]:
    """A 商品マスタ row as {header: value} (rakuten code defaults to the sku, lowercased)."""
    row: dict[str, Any] = {
        "商品コード": sku,
        "商品名": name or f"{sku} の商品",
        "在庫数": stock,
        "楽天コード": rakuten or sku.lower(),
    }
    row.update(extra)
    return row
