"""The sandbox's world served over HTTP in this process: settings, auth, clock, control, state.

One sandbox (楽天 and Yahoo) listens on a free port on 127.0.0.1 for the module; the
production client reaches it exactly as ``python -m bot run`` would (real google-auth,
real gspread, the settings the sandbox wrote). The subprocess test
(tests/e2e/test_sandbox_process.py) runs the worker itself.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from adapters import ADAPTERS
from bot.bootstrap import build
from bot.cli import main as cli_main
from bot.core.domain import StockPush
from bot.infra.settings import Settings, load_settings
from bot.infra.sheet.access import SheetKeyInvalid, open_spreadsheet
from bot.sandbox.clock import VirtualClock
from bot.sandbox.commands import COMMANDS
from bot.sandbox.server import state as state_file
from bot.sandbox.server.bridge import Call
from bot.sandbox.server.clock import CLOCK_HEADER, FollowClock, WallClock
from bot.sandbox.server.files import CONFIG_NAME, KEY_NAME, env_lines, write_files
from bot.sandbox.server.http import SandboxServer, StateKeeper
from bot.sandbox.server.locate import read_server
from bot.sandbox.server.main import run_sandbox
from bot.sandbox.server.seed import new_world
from bot.sandbox.server.world import SandboxWorld
from tests.adapters.harness import Harness

MASTER = "商品マスタ"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SandboxServer, Path]]:
    folder = tmp_path_factory.mktemp("sandbox")
    world = new_world(WallClock(), ["rakuten", "yahoo"], interval=5, sheets_quota=None)
    server = SandboxServer(world, port=0, state=folder / "state.pickle")
    server.start()
    write_files(world, folder, folder / "state.pickle")
    yield server, folder
    server.stop()


@pytest.fixture
def world(served: tuple[SandboxServer, Path]) -> SandboxWorld:
    return served[0].world


@pytest.fixture
def control(world: SandboxWorld) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{world.base_url}/_sandbox", trust_env=False) as client:
        yield client


def worker_settings(folder: Path, **env: str) -> Settings:
    """What ``set -a; . sandbox/env; python -m bot run`` loads."""
    world_env = {k: v for k, v in env_lines_of(folder).items() if v}
    world_env.update(env)
    return load_settings(env=world_env, config_path=folder / CONFIG_NAME)


def env_lines_of(folder: Path) -> dict[str, str]:
    """The ``env`` file as the shell would set it (values as written)."""
    import shlex

    values: dict[str, str] = {}
    for line in (folder / "env").read_text(encoding="utf-8").split("\nexport ")[1:]:
        name, _, rest = line.partition("=")
        values[name] = shlex.split(rest.strip())[0] if rest.strip() else ""
    return values


# --------------------------------------------------------------------------- settings, auth


def test_the_written_files_are_production_settings_pointing_at_the_sandbox(
    served: tuple[SandboxServer, Path], world: SandboxWorld
) -> None:
    folder = served[1]
    settings = worker_settings(folder)

    assert settings.problems_for_run() == []
    assert env_lines_of(folder) == env_lines(world, folder.resolve())
    assert settings.google_sheets_base_url == f"{world.base_url}/sheets"
    assert settings.sheet_id == world.sheet_id
    assert settings.enabled_malls() == ["rakuten", "yahoo"]
    assert settings.mall("rakuten").base_url == f"{world.base_url}/rakuten"
    assert settings.mall("yahoo").auth_base_url == f"{world.base_url}/yahoo-auth"  # type: ignore[attr-defined]
    assert read_server(folder) is not None and read_server(folder)["url"] == world.base_url  # type: ignore[index]


def test_the_production_client_gets_a_token_and_opens_the_sheet(
    served: tuple[SandboxServer, Path], world: SandboxWorld
) -> None:
    tokens_before = world.tallies.get("google")
    app = build(worker_settings(served[1]))

    spreadsheet = open_spreadsheet(app.sheets, world.sheet_id)

    assert spreadsheet.title == "zaiko-bot サンドボックス"
    assert MASTER in [ws.title for ws in spreadsheet.worksheets()]
    assert world.tallies["google"].requests == (tokens_before.requests if tokens_before else 0) + 1
    assert world.desk.tokens


def test_a_key_the_sandbox_never_issued_is_refused_in_plain_japanese(
    served: tuple[SandboxServer, Path], world: SandboxWorld, tmp_path: Path
) -> None:
    key = json.loads((served[1] / KEY_NAME).read_text(encoding="utf-8"))
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key["private_key"] = stranger.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    (tmp_path / "bad.json").write_text(json.dumps(key), encoding="utf-8")
    app = build(
        worker_settings(served[1], ZAIKO_GOOGLE_SERVICE_ACCOUNT_JSON=str(tmp_path / "bad.json"))
    )

    with pytest.raises(SheetKeyInvalid) as refused:
        open_spreadsheet(app.sheets, world.sheet_id)

    assert "Google がサービスアカウントのキーを受け付けません" in str(refused.value)
    assert "Invalid JWT Signature." in str(refused.value)


def test_a_sheets_call_without_a_token_gets_googles_401(world: SandboxWorld) -> None:
    response = httpx.get(f"{world.base_url}/sheets/v4/spreadsheets/{world.sheet_id}")

    assert response.status_code == 401
    assert response.json()["error"]["status"] == "UNAUTHENTICATED"


def test_a_lost_answer_closes_the_connection_after_the_write(world: SandboxWorld) -> None:
    world.desk.tokens["ya29.test"] = (
        time.time() + 600,
        "https://www.googleapis.com/auth/spreadsheets",
    )
    world.emulator.timeout_after_apply_next()
    url = f"{world.base_url}/sheets/v4/spreadsheets/{world.sheet_id}/values/%E5%87%BA%E5%93%81%E7%8A%B6%E6%B3%81%21Z1"

    with pytest.raises(httpx.RemoteProtocolError):
        httpx.put(
            url,
            params={"valueInputOption": "RAW"},
            json={"values": [["written"]]},
            headers={"Authorization": "Bearer ya29.test"},
        )

    assert world.emulator.get_values(world.sheet_id, "出品状況")[0][25] == "written"
    world.emulator.set_values(world.sheet_id, "出品状況", "Z1", [[""]])


# --------------------------------------------------------------------------- control API


def test_staff_typing_goes_through_user_entered_parsing(
    world: SandboxWorld, control: httpx.Client
) -> None:
    number = control.post("/products/TS-WH-L", json={"column": "在庫下限", "value": "+7"})
    text = control.post("/products/TS-WH-L", json={"column": "表示在庫設定", "value": "+20"})
    shown = control.get(f"/tabs/{MASTER}").json()["values"]

    assert number.status_code == text.status_code == 200, number.text
    header = shown[0]
    row = next(r for r in shown[1:] if r[0] == "TS-WH-L")
    assert row[header.index("在庫下限")] == 7  # parsed, as the Sheets UI parses "+7"
    assert row[header.index("表示在庫設定")] == "+20"  # a TEXT-formatted column keeps it
    control.post(f"/tabs/{MASTER}/cells", json={"a1": text.json()["a1"], "value": ""})
    control.post(f"/tabs/{MASTER}/cells", json={"a1": number.json()["a1"], "value": 3})


def test_an_order_by_product_code_lowers_the_channels_stock(
    world: SandboxWorld, control: httpx.Client
) -> None:
    before = control.get("/malls").json()["products"]
    mug = next(p for p in before if p["sku"] == "MUG-BL")["channels"]["rakuten"]

    placed = control.post("/channels/楽天/orders", json={"lines": [["MUG-BL", 2]]})
    after = control.get("/channels/rakuten/stock", params={"code": mug["code"]}).json()

    assert placed.status_code == 200, placed.text
    assert placed.json()["lines"] == [[mug["code"], 2]]
    assert after["stock"][mug["code"]] == mug["stock"] - 2
    cancelled = control.post(f"/channels/rakuten/orders/{placed.json()['order']}/cancel")
    assert cancelled.status_code == 200, cancelled.text


def test_bulk_orders_place_each_order_and_name_the_refused_one(
    world: SandboxWorld, control: httpx.Client
) -> None:
    before = control.get("/malls").json()["products"]
    mug = next(p for p in before if p["sku"] == "MUG-BL")["channels"]["rakuten"]
    soap = next(p for p in before if p["sku"] == "SOAP")["channels"]["rakuten"]
    orders = [[[mug["code"], 1]], [[soap["code"], soap["stock"] + 1]], [[mug["code"], 2]]]

    placed = control.post("/channels/rakuten/orders/bulk", json={"orders": orders})
    codes = {"code": [mug["code"], soap["code"]]}
    after = control.get("/channels/rakuten/stock", params=codes).json()["stock"]
    empty = control.post("/channels/rakuten/orders/bulk", json={"orders": []})
    unlisted = control.post("/channels/rakuten/orders/bulk", json={"orders": [[["NO-SUCH", 1]]]})

    assert placed.status_code == 200, placed.text
    numbers = placed.json()["orders"]
    assert numbers[1] is None and numbers[0] and numbers[2] and numbers[0] != numbers[2]
    assert after == {mug["code"]: mug["stock"] - 3, soap["code"]: soap["stock"]}
    assert empty.status_code == 400 and "orders は" in empty.json()["error"]
    assert unlisted.status_code == 404 and "楽天に出品されていません" in unlisted.json()["error"]
    for number in numbers[0], numbers[2]:
        cancelled = control.post(f"/channels/rakuten/orders/{number}/cancel")
        assert cancelled.status_code == 200, cancelled.text


def test_refusals_are_said_in_japanese(control: httpx.Client) -> None:
    mall = control.post("/channels/ラクマ/orders", json={"lines": [["X", 1]]})
    tab = control.get("/tabs/在庫表")
    code = control.post("/channels/rakuten/orders", json={"lines": [["NO-SUCH", 1]]})
    shape = control.post("/channels/rakuten/listings", json={"listings": [["only-a-code"]]})

    assert (
        mall.status_code == 404
        and "モール「ラクマ」はサンドボックスにありません" in mall.json()["error"]
    )
    assert tab.status_code == 404 and "タブ「在庫表」がありません" in tab.json()["error"]
    assert code.status_code == 404 and "楽天に出品されていません" in code.json()["error"]
    assert shape.status_code == 400 and shape.json()["error"].startswith("本文の形が違います")


def test_bulk_rows_a_movement_and_the_request_log(
    world: SandboxWorld, control: httpx.Client
) -> None:
    since = control.get("/requests").json()["last"]
    moved = control.post("/movements", json={"sku": "SOAP", "quantity": 6, "kind": "入荷"})
    rows = control.post("/tabs/セット構成/rows", json={"rows": [["A", "B", 1], ["A", "C", 2]]})
    httpx.get(f"{world.base_url}/sheets/v4/spreadsheets/{world.sheet_id}")

    log = control.get("/requests", params={"since": since}).json()["requests"]
    counters = control.get("/counters").json()["counters"]
    movements = control.get("/tabs/入出庫").json()["values"]

    assert moved.status_code == rows.status_code == 200
    assert movements[moved.json()["row"] - 1][1:4] == ["SOAP", 6, "入荷"]
    assert [(e["target"], e["status"]) for e in log] == [("sheets", 401)]
    assert counters["sheets"]["refused"] >= 1


# --------------------------------------------------------------------------- clock


def test_the_follow_clock_moves_forward_only() -> None:
    start = datetime(2026, 11, 23, tzinfo=UTC)
    clock = FollowClock(start)

    assert clock.follow(start + timedelta(seconds=5))
    assert not clock.follow(start)
    clock.sleep(0.5)
    assert clock.now() == start + timedelta(seconds=5.5)
    assert WallClock().monotonic() > FollowClock(start).monotonic() > 0


def test_a_sleep_shorter_than_a_microsecond_still_moves_the_follow_clock() -> None:
    """As the bot's VirtualClock (``slept``): a simulator waiting a hair must not spin."""
    start = datetime(2026, 11, 23, tzinfo=UTC)
    clock = FollowClock(start)
    clock.sleep(2e-7)
    assert clock.now() == start + timedelta(microseconds=1)


def _upsert(world: SandboxWorld, at: datetime, code: str) -> int:
    manage, variant = code.split(":")
    secret = world.sims["rakuten"].config()
    auth = base64.b64encode(f"{secret['service_secret']}:{secret['license_key']}".encode())
    body = {
        "inventories": [
            {"manageNumber": manage, "variantId": variant, "mode": "ABSOLUTE", "quantity": 3}
        ]
    }
    call = Call(
        "POST",
        "/rakuten/es/2.0/inventories/bulk-upsert",
        headers=(
            ("Authorization", f"ESA {auth.decode()}"),
            ("Content-Type", "application/json"),
            (CLOCK_HEADER, at.isoformat()),
        ),
        body=json.dumps(body).encode(),
    )
    return world.handle(call).status


def test_a_channels_rate_limit_follows_the_callers_clock() -> None:
    start = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    world = new_world(FollowClock(start), ["rakuten"], interval=15, sheets_quota=None, shop=False)
    assert world.emulator.get_values(world.sheet_id, MASTER)[1:] == []  # --empty: no products
    code = world.sims["rakuten"].add_listing(world.sims["rakuten"].sample_code(1), 5)
    at = start + timedelta(hours=1)

    first = _upsert(world, at, code)
    same_second = _upsert(world, at, code)
    a_second_later = _upsert(world, at + timedelta(seconds=1), code)
    earlier = _upsert(world, at, code)  # time never goes back: still one second later

    assert world.clock.now() == at + timedelta(seconds=1)
    assert (first, same_second, a_second_later, earlier) == (204, 429, 204, 429)


def test_an_unreadable_clock_header_is_refused_and_the_wall_clock_ignores_it(
    world: SandboxWorld,
) -> None:
    follow = SandboxWorld(
        **{**_parts(world), "clock": FollowClock(datetime(2026, 1, 1, tzinfo=UTC))}
    )
    bad = Call("GET", "/_sandbox/clock", headers=((CLOCK_HEADER, "yesterday"),))
    naive = Call("GET", "/_sandbox/clock", headers=((CLOCK_HEADER, "2026-11-23T09:00:00"),))
    later = Call("GET", "/_sandbox/clock", headers=((CLOCK_HEADER, "2030-01-01T00:00:00Z"),))

    assert follow.handle(bad).status == follow.handle(naive).status == 400
    assert json.loads(follow.handle(later).body)["now"] == "2030-01-01T00:00:00+00:00"
    assert json.loads(world.handle(later).body)["mode"] == "real"
    assert world.clock.now() < datetime(2030, 1, 1, tzinfo=UTC)


def _parts(world: SandboxWorld) -> dict[str, Any]:
    return {
        "clock": world.clock,
        "emulator": world.emulator,
        "sheet_id": world.sheet_id,
        "sims": world.sims,
        "account": world.account,
        "secret_key": world.secret_key,
        "interval": world.interval,
    }


# --------------------------------------------------------------------------- state


def test_the_state_file_brings_the_same_world_back_on_another_clock(
    served: tuple[SandboxServer, Path], world: SandboxWorld, control: httpx.Client
) -> None:
    control.put("/channels/yahoo/stock", json={"code": "TOWEL", "quantity": 7})
    saved = control.post("/save").json()

    clock = FollowClock(datetime(2020, 6, 1, tzinfo=UTC))
    again = SandboxWorld.from_state(
        state_file.loads(Path(saved["state"]).read_bytes(), clock), clock
    )

    for tab in world.emulator.sheet_titles(world.sheet_id):
        assert again.emulator.get_values(again.sheet_id, tab) == world.emulator.get_values(
            world.sheet_id, tab
        )
    towel = world.sims["yahoo"].sample_code(4)
    assert again.sims["yahoo"].pending_stock(towel) == 7
    assert again.clock.now() > datetime(2025, 1, 1, tzinfo=UTC)  # moved to the saved time
    assert again.sims["rakuten"]._clock is clock  # type: ignore[attr-defined]
    assert again.account.private_pem == world.account.private_pem
    assert [p.name for p in Path(saved["state"]).parent.iterdir() if p.name.endswith(".tmp")] == []


@pytest.mark.parametrize("key", list(ADAPTERS))
def test_every_channels_simulator_survives_the_state_file_after_real_traffic(key: str) -> None:
    """Pushes, reads and orders through the production adapter, then a save and a load."""
    harness = Harness(key, VirtualClock(datetime(2026, 11, 23, tzinfo=UTC)))
    code = harness.add_listing(harness.code(1), 5)
    harness.adapter.push_stock([StockPush(mall=key, code=code, quantity=4, reason="rule")])
    harness.adapter.read_stock([code])
    harness.place_order(code, 1)
    harness.adapter.fetch_order_lines(harness.started - timedelta(hours=1), harness.clock.now())

    clock = FollowClock(harness.clock.now())
    again = state_file.loads(state_file.dumps({"sim": harness.sim}), clock)["sim"]

    assert again.pending_stock(code) == harness.sim.pending_stock(code)
    assert again.place_order([(code, 1)]) is not None


def test_the_edit_command_speaks_plain_japanese(
    world: SandboxWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    def edit(*argv: str) -> tuple[int, str]:
        code = cli_main(["sandbox", "edit", "--url", world.base_url, *argv], extra=COMMANDS)
        out = capsys.readouterr()
        return code, out.out + out.err

    ordered = edit("order", "rakuten", "SCARF", "1")
    number = ordered[1].split("注文番号 ")[1].split("（")[0]

    assert ordered[0] == 0 and ordered[1].startswith("楽天で注文しました: 注文番号 ")
    assert edit("cancel", "楽天", number) == (0, f"楽天の注文 {number} をキャンセルしました\n")
    assert edit("stock", "yahoo", "SCARF", "9")[1].startswith("Yahooの item-0009")
    assert edit("stock", "Yahoo", "SCARF") == (0, "Yahooの SCARF: 9\n")
    assert edit("set", "SCARF", "在庫下限", "2")[0] == 0
    assert edit("move", "SCARF", "-1", "--kind", "破損")[1].startswith("入出庫の ")
    assert edit("cell", "商品マスタ", "Z1", "メモ")[1] == "商品マスタ!Z1 に「メモ」を入力しました\n"
    shown = edit("show", "入出庫", "--last", "1")[1].splitlines()
    assert shown[0].startswith("入出庫（全") and "SCARF | -1 | 破損" in shown[2]
    assert "SCARF" in edit("malls")[1]
    assert edit("show", "在庫表") == (
        1,
        "できませんでした: タブ「在庫表」がありません（あるのは "
        + "、".join(world.emulator.sheet_titles(world.sheet_id))
        + "）\n",
    )
    unreachable = cli_main(
        ["sandbox", "edit", "--url", "http://127.0.0.1:9", "malls"], extra=COMMANDS
    )
    assert unreachable == 1
    assert "サンドボックスに接続できません" in capsys.readouterr().err
    world.emulator.set_values(world.sheet_id, MASTER, "Z1", [[""]])


class _Tiny:
    """What the state keeper needs of a world: a lock, a dirty flag and a state."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.dirty = False

    def state(self) -> dict[str, Any]:
        return {"cells": list(range(10))}


def test_the_state_keeper_saves_when_something_changed_and_not_too_often(tmp_path: Path) -> None:
    world = _Tiny()
    keeper = StateKeeper(world, tmp_path / "state.pickle", min_gap=2.0)  # type: ignore[arg-type]
    never = StateKeeper(world, tmp_path / "other.pickle", min_gap=0)  # type: ignore[arg-type]

    assert not keeper.due()  # nothing changed
    world.dirty = True
    assert keeper.due() and not never.due()
    keeper.save()
    assert not world.dirty and (tmp_path / "state.pickle").exists()
    world.dirty = True
    assert not keeper.due()  # saved less than min_gap ago
    keeper.last_save -= 2.0
    assert keeper.due()
    keeper.last_duration = 1.0  # a slow save: wait SLOWDOWN × as long
    assert not keeper.due()
    assert state_file.loads((tmp_path / "state.pickle").read_bytes(), WallClock())["cells"] == list(
        range(10)
    )


def test_a_state_file_that_cannot_be_resumed_is_said_not_guessed(
    world: SandboxWorld, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    future = {**world.state(), "clock_now": datetime.now(UTC) + timedelta(days=30)}
    with world.lock:
        (tmp_path / "ahead.pickle").write_bytes(state_file.dumps(future))
    (tmp_path / "garbage.pickle").write_bytes(b"not a pickle")

    ahead = run_sandbox(folder=tmp_path, state=tmp_path / "ahead.pickle", port=0)
    said_ahead = capsys.readouterr().err
    garbage = run_sandbox(folder=tmp_path, state=tmp_path / "garbage.pickle", port=0)
    said_garbage = capsys.readouterr().err
    interval = run_sandbox(folder=tmp_path, interval=1, port=0)

    assert (ahead, garbage, interval) == (1, 1, 2)
    assert "--clock follow で起動するか" in said_ahead
    assert "を読めません" in said_garbage
    assert not (tmp_path / "server.json").exists()
