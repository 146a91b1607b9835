"""Contract test: the Sheets emulator answers like Google does, for the calls the bot makes.

Run it by hand with a scratch spreadsheet shared (as editor) with a service account::

    ZAIKO_GOOGLE_SERVICE_ACCOUNT_JSON='{...}'  # or a path, or base64, as in production
    ZAIKO_TEST_SHEET_ID=<scratch spreadsheet id>
    .venv/bin/pytest -m live tests/sheet/test_live_contract.py

The scratch spreadsheet is WIPED: every tab is deleted except one called ``scratch``
(added if missing). The same scenario — init_sheet, SheetGateway.open/load_startup/read/
commit/record, a read-back — then runs against that spreadsheet and against the
emulator, and the response SHAPES are compared: the keys of ``sheets[].properties``,
of each ``valueRanges`` entry with its ``majorDimension`` and ``range``, the
``batchUpdate`` replies, and finally the values each tab holds. A failure names the call
and the difference, i.e. where the emulator (bot/sheet/emulator.py) is not faithful.

Without both variables the live test is skipped; it never touches the network then. The
harness itself is exercised offline by running the scenario against two emulators.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

import gspread
import pytest
import requests

from bot.bootstrap import google_credentials
from bot.core import engine
from bot.core.domain import MallLogRow, OrderLine, PushResult, PushStatus
from bot.infra.clock import RealClock
from bot.infra.settings import load_settings
from bot.infra.sheet.gateway import SheetGateway, make_client, state_values
from bot.infra.sheet.layout import load_template, quote_title
from bot.infra.sheet.template import init_sheet
from bot.sandbox.clock import VirtualClock
from bot.sandbox.sheets import SheetsEmulator

SA_ENV = "ZAIKO_GOOGLE_SERVICE_ACCOUNT_JSON"
SHEET_ENV = "ZAIKO_TEST_SHEET_ID"
SCRATCH = "scratch"
NOW = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
TEMPLATE = load_template()
TAB_TITLES = [tab.title for tab in TEMPLATE.tabs]


# --------------------------------------------------------------------------- recording


@dataclass
class Call:
    """One API answer as the client received it."""

    op: str
    status: int
    body: Any


def _op(method: str, url: str) -> str:
    path = urlsplit(url).path
    rest = path.split("/v4/spreadsheets/", 1)[-1]
    if "/" not in rest:
        return "spreadsheets.batchUpdate" if rest.endswith(":batchUpdate") else "spreadsheets.get"
    sub = rest.split("/", 1)[1]
    if sub.startswith("values:"):
        return "values." + sub.removeprefix("values:")
    verb = unquote(sub).rpartition(":")[2] if sub.endswith((":append", ":clear")) else ""
    return "values." + (verb or {"GET": "get", "PUT": "update"}.get(method, method.lower()))


@dataclass
class Recorder:
    """A requests response hook keeping every Sheets answer (tokens are never seen)."""

    calls: list[Call] = field(default_factory=list)

    def hook(self, response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        if "sheets.googleapis.com" in (response.url or ""):
            try:
                body = response.json()
            except ValueError:
                body = None
            request = response.request
            self.calls.append(
                Call(_op(request.method or "GET", request.url or ""), response.status_code, body)
            )
        return response


def _recording(client: gspread.Client) -> Recorder:
    recorder = Recorder()
    client.http_client.session.hooks["response"].append(recorder.hook)
    return recorder


# --------------------------------------------------------------------------- scenario


@dataclass
class Outcome:
    """What one run of the scenario saw."""

    calls: list[Call]
    values: dict[str, list[list[Any]]]


def _wipe(spreadsheet: gspread.Spreadsheet) -> None:
    """Leave only the ``scratch`` tab, so init_sheet starts from the same place."""
    titles = [ws.title for ws in spreadsheet.worksheets()]
    if SCRATCH not in titles:
        spreadsheet.add_worksheet(SCRATCH, rows=100, cols=26)
    requests_ = [
        {"deleteSheet": {"sheetId": ws.id}}
        for ws in spreadsheet.worksheets()
        if ws.title != SCRATCH
    ]
    if requests_:
        spreadsheet.batch_update({"requests": requests_})


def run_scenario(client: gspread.Client, sid: str) -> Outcome:
    """The bot's sheet calls, in the order a first start and one cycle make them."""
    _wipe(client.open_by_key(sid))
    recorder = _recording(client)

    init_sheet(client.open_by_key(sid))
    gw = SheetGateway.open(client, sid, malls=["rakuten"])
    products = gw.spreadsheet.worksheet(TEMPLATE.tab("products").title)
    header = products.row_values(1)
    typed = [
        {
            "商品コード": "00123",
            "商品名": "Tシャツ 白 M",
            "在庫数": 12,
            "楽天コード": "tshirt:wh-m",
        },
        {
            "商品コード": "MUG",
            "商品名": '=IMPORTXML("http://x.example.com","//a")',
            "在庫数": "５",
            "楽天コード": "mug:blue",
        },
        {"商品コード": "BAD", "商品名": "誤入力", "在庫数": "abc", "楽天コード": "bad"},
    ]
    products.update(
        [[row.get(h, "") for h in header] for row in typed],
        "A2",
        value_input_option=gspread.utils.ValueInputOption.user_entered,
    )

    data = gw.load_startup()
    state = engine.rebuild(data.ledger, data.listings)
    read = gw.read(state.stock)
    lines = [
        OrderLine(mall="rakuten", order_id="=1+1", line_id="1", code="tshirt:wh-m", units=2),
        OrderLine(mall="rakuten", order_id="100-2", line_id="1", code="nope", units=1),
    ]
    plan = engine.step(state, read.snapshot, lines, NOW)
    values = state_values({"rakuten": NOW}, plan.next_state.conditions, plan.next_state.stock)
    result = gw.commit(plan, read, values, bot_stock=state.stock, commit_id="live-1")
    assert not result.conflict
    pushed = [
        (p, PushResult(code=p.code, status=PushStatus.APPLIED, quantity=p.quantity))
        for p in plan.pushes
    ]
    logs = [
        MallLogRow(at=NOW, mall=p.mall, code=p.code, sku=p.sku, quantity=p.quantity, result="OK")
        for p in plan.pushes
    ]
    gw.record(result.read, pushed, logs, plan.targets, [], NOW, "live-1")
    gw.load_startup()

    ranges = [quote_title(t) for t in TAB_TITLES]
    reply = gw.spreadsheet.values_batch_get(
        ranges, params={"valueRenderOption": "FORMULA", "dateTimeRenderOption": "SERIAL_NUMBER"}
    )
    tab_values = {
        title: vr.get("values", [])
        for title, vr in zip(TAB_TITLES, reply["valueRanges"], strict=True)
    }
    return Outcome(calls=list(recorder.calls), values=tab_values)


# --------------------------------------------------------------------------- comparing


def _keys(obj: Any) -> list[str]:
    return sorted(obj) if isinstance(obj, dict) else [type(obj).__name__]


def _sheet_props(body: Any) -> dict[str, tuple[list[str], list[str]]]:
    out = {}
    for sheet in body.get("sheets", []):
        props = sheet["properties"]
        if props.get("title") in TAB_TITLES:
            out[props["title"]] = (_keys(props), _keys(props.get("gridProperties", {})))
    return out


def _value_ranges(body: Any) -> list[tuple[list[str], str, str]]:
    return [
        (_keys(vr), vr.get("majorDimension", ""), vr.get("range", ""))
        for vr in body.get("valueRanges", [])
    ]


def _replies(body: Any) -> list[dict[str, list[str]]]:
    out = []
    for reply in body.get("replies", []):
        out.append({kind: _keys(inner) for kind, inner in reply.items()} if reply else {})
    return out


def compare(live: Outcome, emulated: Outcome) -> list[str]:
    """Every difference between two runs, as readable lines (empty: faithful)."""
    problems: list[str] = []
    ops_live = [(c.op, c.status) for c in live.calls]
    ops_emu = [(c.op, c.status) for c in emulated.calls]
    if ops_live != ops_emu:
        return [f"call sequence differs:\n  live     {ops_live}\n  emulator {ops_emu}"]
    for i, (a, b) in enumerate(zip(live.calls, emulated.calls, strict=True)):
        where = f"call {i} ({a.op})"
        if _keys(a.body) != _keys(b.body):
            problems.append(f"{where}: top-level keys {_keys(a.body)} != {_keys(b.body)}")
            continue
        if a.op == "spreadsheets.get" and _sheet_props(a.body) != _sheet_props(b.body):
            problems.append(
                f"{where}: sheets[].properties {_sheet_props(a.body)} != {_sheet_props(b.body)}"
            )
        if a.op in ("values.batchGet",) and _value_ranges(a.body) != _value_ranges(b.body):
            problems.append(
                f"{where}: valueRanges {_value_ranges(a.body)} != {_value_ranges(b.body)}"
            )
        if a.op == "spreadsheets.batchUpdate" and _replies(a.body) != _replies(b.body):
            problems.append(f"{where}: replies {_replies(a.body)} != {_replies(b.body)}")
    for title in TAB_TITLES:
        if live.values[title] != emulated.values[title]:
            problems.append(
                f"values of {title}:\n  live     {live.values[title]}\n"
                f"  emulator {emulated.values[title]}"
            )
    return problems


def emulated_run() -> Outcome:
    clock = VirtualClock(NOW)
    emu = SheetsEmulator(clock=clock)
    sid = emu.create_spreadsheet("zaiko-bot live contract", sheets=(SCRATCH,), rows=100)
    client = make_client(session=emu.session(), clock=clock, stop=threading.Event())
    return run_scenario(client, sid)


# --------------------------------------------------------------------------- tests


@pytest.fixture
def live_client() -> Iterator[tuple[gspread.Client, str]]:
    text, sid = os.environ.get(SA_ENV, ""), os.environ.get(SHEET_ENV, "")
    if not text.strip() or not sid.strip():
        pytest.skip(f"needs {SA_ENV} and {SHEET_ENV} (a scratch spreadsheet it may wipe)")
    settings = load_settings({SA_ENV: text, "ZAIKO_SHEET_ID": sid})
    assert settings.sheet_id
    stop = threading.Event()
    client = make_client(google_credentials(settings), clock=RealClock(), stop=stop)
    yield client, settings.sheet_id
    stop.set()


@pytest.mark.live
def test_emulator_answers_like_google(live_client: tuple[gspread.Client, str]) -> None:
    client, sid = live_client
    live = run_scenario(client, sid)
    problems = compare(live, emulated_run())
    assert not problems, "emulator differs from Google Sheets:\n" + "\n".join(problems)


def test_contract_harness_runs_offline_on_two_emulators() -> None:
    first, second = emulated_run(), emulated_run()
    assert compare(first, second) == []
    ops = [c.op for c in first.calls]
    assert ops.count("spreadsheets.batchUpdate") >= 3  # init_sheet, commit, record
    assert "values.batchGet" in ops and "spreadsheets.get" in ops
    # The comparison does see a difference when there is one.
    broken = Outcome(calls=list(second.calls), values=dict(second.values))
    broken.values[TAB_TITLES[0]] = []
    assert compare(first, broken)
