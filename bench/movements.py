"""入出庫 parse and _state write cost at a busy shop's size (issue 10, items 2–4).

``python -m bench.movements`` prints:

- the parse of a 50,000-row 入出庫 (200 rows pending at the bottom) in full, against
  the parse of only its 200-row tail after the settled prefix an earlier parse gave;
- the bytes of a commit's _state requests beside a 48,000-entry movement ledger, as
  every commit used to send them (the whole tab) and row by row (``plan_state``).

Timings are the median of several runs on this machine; no test asserts them.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from bot.core.domain import Movement
from bot.infra.clock import JST
from bot.infra.sheet.layout import load_template, parse_sheet
from bot.infra.sheet.movement_ledger import next_ledger_rows, with_ledger
from bot.infra.sheet.parse_tabs import MovementsPrefix
from bot.infra.sheet.state import chunks, plan_state
from bot.infra.sheet.values import update_cells

ROWS = 50_000
TAIL = 200
ENTRIES = 48_000
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=JST)
PRODUCTS_HEAD = [c.header for c in load_template().tab("products").columns]
HEAD = ["日時", "商品コード", "数量", "区分", "メモ", "反映"]


def median_ms(run: Callable[[], object], times: int = 5) -> float:
    spent = []
    for _ in range(times):
        start = time.perf_counter()
        run()
        spent.append((time.perf_counter() - start) * 1000)
    return statistics.median(spent)


def movement_rows(first: int, count: int, done: bool) -> list[list[Any]]:
    rows = []
    for n in range(first, first + count):
        row: list[Any] = ["2026-11-23 09:00", f"P{n % 100_000:06d}", 1 + n % 5, "入荷", ""]
        if done:
            row.append(f"済 2026-11-23 09:00:{n % 60:02d} #M20261123-{n + 1:04d}")
        rows.append(row)
    return rows


def parse(grid: list[list[Any]], prefix: MovementsPrefix | None = None) -> Any:
    values = {"products": [PRODUCTS_HEAD], "movements": grid}
    return parse_sheet(values, malls=("rakuten",), movements_prefix=prefix)


def parse_figures() -> dict[str, float]:
    settled = [HEAD, *movement_rows(0, ROWS - TAIL, done=True)]
    grid = [*settled, *movement_rows(ROWS - TAIL, TAIL, done=False)]
    prefix = parse(settled).movements_prefix  # the cycle before: the tail not yet added
    assert prefix is not None and prefix.rows == ROWS - TAIL + 1
    assert parse(grid, prefix).snapshot.movements == parse(grid).snapshot.movements
    # The next cycle: those 200 rows are 済 now (the prefix grows), 200 more are pending.
    marked = [*settled, *movement_rows(ROWS - TAIL, TAIL, done=True)]
    after = [*marked, *movement_rows(ROWS, TAIL, done=False)]
    grown = parse(grid, prefix).movements_prefix
    return {
        "full_parse_ms": median_ms(lambda: parse(grid)),
        "tail_parse_ms": median_ms(lambda: parse(grid, prefix)),
        "tail_parse_prefix_grows_ms": median_ms(lambda: parse(after, grown)),
        "header_only_parse_ms": median_ms(lambda: parse([HEAD])),
    }


def pending(n: int) -> Movement:
    return Movement(key=f"{n:016x}-0", sku=f"P{n:06d}", qty=1, fingerprint=f"{n:016x}")


def marks_for(rows: list[Movement], first: int, when: datetime) -> dict[str, str]:
    at = when.strftime("%Y-%m-%d %H:%M:%S")
    return {mv.key: f"済 {at} #M20261123-{first + i:04d}" for i, mv in enumerate(rows)}


def state_figures() -> dict[str, int]:
    rows = [pending(n) for n in range(ENTRIES)]
    marks = marks_for(rows, 1, NOW)
    done = [mv.model_copy(update={"done": True, "ident": marks[mv.key][-15:]}) for mv in rows]
    other = {
        "conditions": json.dumps([f"low_stock:P{i:06d}" for i in range(500)]),
        "cursor:rakuten": "2026-11-23T01:00:00+00:00",
        "last_commit": "c-1",
        "last_record": "c-1/record",
        "negative_stock": "{}",
        "schema_version": "1",
    }
    state = with_ledger(other, next_ledger_rows(other, rows, marks, NOW))
    state = {k: v for key, value in state.items() for k, v in chunks(key, value).items()}
    before = [["キー", "値"], *([k, v] for k, v in sorted(state.items()))]
    full = len(json.dumps([update_cells(0, 1, 0, [list(r) for r in before[1:]])]))

    def sent(after: dict[str, str]) -> int:
        return len(json.dumps(plan_state(0, before, None, after).requests))

    later = NOW + timedelta(seconds=15)
    tick = {"cursor:rakuten": "2026-11-23T01:00:15+00:00", "last_commit": "c-2"}
    out = {
        "ledger_entries": ENTRIES,
        "ledger_chars": sum(len(v) for k, v in state.items() if k.startswith("movements")),
        "full_rewrite_bytes": full,
        "idle_commit_bytes": sent(state | tick),
    }
    for applied in (1, TAIL):
        new = [pending(ENTRIES + n) for n in range(applied)]
        ledger = next_ledger_rows(state, [*done, *new], marks_for(new, ENTRIES + 1, later), later)
        out[f"apply_{applied}_rows_bytes"] = sent(with_ledger(state, ledger) | tick)
    return out


def main() -> None:
    figures = {**parse_figures(), **state_figures()}
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        shown = f"{value:,.1f}" if isinstance(value, float) else f"{value:,}"
        print(f"{key:<{width}}  {shown}")


if __name__ == "__main__":
    main()
