"""_state written row by row: only what changed is sent, and the tab reads the same (issue 10).

Each write goes to the Sheets emulator as the batchUpdate the gateway would send, and
the tab is read back as the gateway reads it.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.infra.sheet.cells import cell_text
from bot.infra.sheet.layout import base_template, header_map
from bot.infra.sheet.state import CELL_CHARS, StatePlan, chunks, plan_state, state_dict
from bot.sandbox.sheets import SheetsEmulator

HEAD = ["キー", "値"]
URL = "https://sheets.googleapis.com/v4/spreadsheets/{}:batchUpdate"


class StateTab:
    """A spreadsheet holding only a ``_state`` tab, ``rows`` rows tall to begin with."""

    def __init__(self, rows: int = 12, grid: list[list[Any]] | None = None) -> None:
        self.emu = SheetsEmulator()
        self.sid = self.emu.create_spreadsheet("state", sheets=("_state",), rows=rows, cols=4)
        self.sheet_id = int(self.emu.sheet_properties(self.sid, "_state")["sheetId"])
        self.emu.set_values(self.sid, "_state", "A1", grid or [HEAD], raw=True)
        self.session = self.emu.session()
        self.sent: list[dict[str, Any]] = []

    def grid(self) -> list[list[Any]]:
        return self.emu.get_values(self.sid, "_state", "FORMULA")

    def height(self) -> int:
        props = self.emu.sheet_properties(self.sid, "_state")
        return int(props["gridProperties"]["rowCount"])

    def plan(self, state: dict[str, str]) -> StatePlan:
        before = self.grid()
        header = header_map(base_template().tab("state"), before[0])
        return plan_state(self.sheet_id, before, header, state, grid_rows=self.height())

    def write(self, state: dict[str, str]) -> StatePlan:
        plan = self.plan(state)
        if plan.requests:
            body = {"requests": plan.requests}
            self.session.post(URL.format(self.sid), json=body).raise_for_status()
            self.sent.append(body)
        return plan


def cell_sized(state: dict[str, str]) -> dict[str, str]:
    """The rows a full rewrite gives ``state`` (long values over ``#n`` rows)."""
    out: dict[str, str] = {}
    for key, value in state.items():
        out.update(chunks(key, value) if len(value) > CELL_CHARS else {key: value})
    return out


def rows_of(grid: list[list[Any]]) -> list[tuple[str, Any]]:
    return [(cell_text(r[0]) if r else "", r[1] if len(r) > 1 else None) for r in grid[1:]]


def assert_reads_as(tab: StateTab, plan: StatePlan, state: dict[str, str]) -> None:
    """The tab holds ``state`` exactly, one sorted row per key, as a full rewrite would."""
    grid = tab.grid()
    rows = rows_of(grid)
    keyed = [(k, "" if v is None else str(v)) for k, v in rows if k]
    keys = [k for k, _ in keyed]
    assert keys == sorted(set(keys))  # sorted, one row each
    assert all(v in (None, "") for k, v in rows if not k)  # blank rows wholly blank
    assert dict(keyed) == cell_sized(state)
    full = [HEAD, *([k, v] for k, v in sorted(cell_sized(state).items()))]
    assert state_dict(grid) == state_dict(full)
    assert max((len(str(v)) for row in grid for v in row), default=0) <= 50_000
    assert plan.grid == grid  # what the plan says the tab holds afterwards
    assert plan.rows == {k: i for i, (k, _) in enumerate(rows, start=1) if k}


def in_order(rows: list[tuple[str, Any]]) -> bool:
    """Keys sorted, one row each, no value without a key: as a write leaves the tab."""
    keys = [k for k, _ in rows if k]
    return keys == sorted(set(keys)) and all(v in (None, "") for k, v in rows if not k)


KEYS = [
    "a",
    "conditions",
    "cursor:rakuten",
    "cursor:yahoo",
    "last_commit",
    "last_record",
    "movements:0001",
    "movements:0002",
    "movements:0010",
    "negative_stock",
    "schema_version",
    "zz",
]
LONG = [CELL_CHARS - 1, CELL_CHARS, CELL_CHARS + 1, 2 * CELL_CHARS + 7]
values = st.one_of(
    st.text(alphabet="ab01:-[]", max_size=8),
    st.sampled_from(LONG).flatmap(lambda n: st.sampled_from("xy").map(lambda c: c * n)),
)
states = st.dictionaries(st.sampled_from(KEYS), values, max_size=8)
hand_rows = st.lists(
    st.tuples(st.sampled_from(["", *KEYS, "conditions#1"]), st.sampled_from(["", "v", 5])),
    max_size=10,
)


@settings(max_examples=60, deadline=None)
@given(start=st.one_of(hand_rows, states), steps=st.lists(states, min_size=1, max_size=4))
def test_writes_read_back_as_a_full_rewrite_would(
    start: list[tuple[str, Any]] | dict[str, str], steps: list[dict[str, str]]
) -> None:
    if isinstance(start, dict):  # a tab as an earlier write left it
        tab = StateTab()
        assert_reads_as(tab, tab.write(start), start)
    else:  # typed by hand or by an older version: duplicates, stray values, any order
        tab = StateTab(grid=[HEAD, *([k, v] for k, v in start)])
    for state in steps:
        rows = rows_of(tab.grid())
        before = {k: i for i, (k, _) in enumerate(rows, start=1) if k}
        plan = tab.write(state)
        assert_reads_as(tab, plan, state)
        if in_order(rows) and set(cell_sized(state)) <= set(before):
            # No key added: every key kept stays on its row.
            assert all(plan.rows[k] == before[k] for k in plan.rows)
        # Written again, nothing is sent.
        assert tab.plan(state).requests == []


def test_the_grid_grows_when_the_rows_need_more_than_it_has() -> None:
    tab = StateTab(rows=3)
    state = {f"k{i:02d}": "v" for i in range(6)}

    plan = tab.write(state)

    assert "appendDimension" in plan.requests[0]
    assert tab.height() == plan.grid_rows == 7
    assert_reads_as(tab, plan, state)


def test_a_new_key_takes_a_cleared_row_in_its_place_and_moves_nothing() -> None:
    tab = StateTab()
    tab.write({"a": "1", "b": "2", "c": "3", "d": "4"})
    tab.write({"a": "1", "c": "3", "d": "4"})  # b's row is cleared

    plan = tab.write({"a": "1", "bb": "5", "c": "3", "d": "4"})

    assert plan.rows == {"a": 1, "bb": 2, "c": 3, "d": 4}
    (request,) = plan.requests
    assert len(request["updateCells"]["rows"]) == 1


def test_a_new_key_moves_the_smaller_side() -> None:
    big = "x" * 1000
    tab = StateTab()
    tab.write({"a": "1", "b": big, "c": big, "d": "4", "e": "5"})
    tab.write({"b": big, "c": big, "d": "4", "e": "5"})  # a hole at the top

    plan = tab.write({"b": big, "c": big, "cc": "new", "d": "4", "e": "5"})

    # Shifting b and c up into the hole would send 2,000 characters; d and e move down.
    assert plan.rows == {"b": 2, "c": 3, "cc": 4, "d": 5, "e": 6}
    assert len(json.dumps(plan.requests)) < 500


def test_one_cursor_moving_sends_one_small_update_whatever_the_ledger_holds() -> None:
    # A busy shop: 48,000 movement ledger entries in _state, 82 rows of them.
    entry = '"M20261123-{0:05d}":["SKU{0:06d}",1,"{0:016x}","2026-11-23 10:00:00"]'
    ledger = {
        f"movements:{n:04d}": "{" + ",".join(entry.format(n * 590 + i) for i in range(590)) + "}"
        for n in range(1, 83)
    }
    state = {
        "conditions": json.dumps([f"low_stock:SKU{i:05d}" for i in range(3000)]),
        "cursor:rakuten": "2026-11-23T00:00:00+00:00",
        "last_commit": "c-1",
        "last_record": "c-1/record",
        "negative_stock": "{}",
        "schema_version": "1",
        **ledger,
    }
    assert max(len(v) for v in ledger.values()) <= CELL_CHARS
    tab = StateTab(rows=100)
    full = len(json.dumps(tab.write(state).requests))
    assert full > 3_000_000  # what every commit used to send

    state |= {"cursor:rakuten": "2026-11-23T00:00:15+00:00", "last_commit": "c-2"}
    plan = tab.write(state)

    (request,) = plan.requests
    assert "updateCells" in request
    assert len(json.dumps(request)) < 500
    assert_reads_as(tab, plan, state)
    assert tab.sent[-1] == {"requests": plan.requests}
