"""Start-up never crash-loops, and a command that cannot start says what to fix in one line.

`run` is started while Google is down, rate-limited or unreachable, and while 楽天
refuses the licence key: the process stays up, retries on the stop event, alerts once and
announces recovery once. The one-shot commands, given a wrong sheet id, a sheet not shared
with the service account or a broken key, print one plain Japanese line (no traceback) and
exit non-zero. Everything runs through ``bot.cli.main`` / ``bootstrap.build`` with the
sandbox World.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
import requests
from requests.adapters import BaseAdapter
from requests.models import PreparedRequest, Response

from bot import cli
from bot.bootstrap import App, World, build
from bot.core.domain import Alert, AlertKind
from bot.infra.clock import RealClock
from bot.infra.retry import Backoff
from bot.sandbox.alerts import MemoryAlerts
from bot.sandbox.sheets import SHEETS_PREFIX, SheetsEmulator
from bot.sandbox.wiring import SANDBOX_SERVICE_ACCOUNT, sandbox_settings
from bot.shell.startup import open_worker, serve
from tests.e2e.conftest import KEY, SECRET, Shop, make_shop


class Unreachable(BaseAdapter):
    """Google cannot be reached for the next ``times`` calls (connection refused)."""

    def __init__(self, emu: SheetsEmulator, times: int) -> None:
        super().__init__()
        self.emu = emu
        self.times = times

    def send(
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> Response:
        if self.times > 0:
            self.times -= 1
            raise requests.ConnectionError("connection refused")
        return self.emu.send(request, stream, timeout, verify, cert, proxies)

    def close(self) -> None:
        """The emulator outlives the session."""


class StopOnAlert(MemoryAlerts):
    """Records alerts and sets the stop event when one of ``kinds`` arrives."""

    def __init__(self, stop: threading.Event, kinds: Sequence[AlertKind]) -> None:
        super().__init__()
        self.stop = stop
        self.kinds = set(kinds)

    def send(self, alerts: Sequence[Alert]) -> None:
        super().send(alerts)
        if any(a.kind in self.kinds for a in alerts):
            self.stop.set()


def _session(shop: Shop, unreachable: int = 0) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    shop.emu.mount(session)
    if unreachable:
        session.mount(SHEETS_PREFIX, Unreachable(shop.emu, unreachable))
    return session


def _app(shop: Shop, world: World, sheet_id: str | None = None) -> App:
    settings = sandbox_settings(
        sheet_id=sheet_id or shop.sid,
        sheet={"retry_max_tries": 1},
        malls={"rakuten": {"enabled": True, "service_secret": SECRET, "license_key": KEY}},
    )
    return build(settings, world)


def _kinds(alerts: MemoryAlerts, kind: AlertKind) -> list[Alert]:
    return [a for a in alerts.alerts if a.kind is kind]


# --------------------------------------------------------------------------- run


@pytest.mark.parametrize("fault", ["503", "429", "unreachable"])
def test_start_waits_out_google_with_backoff_alerting_once_and_recovering_once(
    fault: str,
) -> None:
    shop = make_shop()
    if fault == "unreachable":
        session = _session(shop, unreachable=6)
    else:
        session = _session(shop)
        shop.emu.fail_next(int(fault), times=6)
    alerts = MemoryAlerts()
    world = World(
        transports={"rakuten": shop.mall_tap},
        sheets_session=session,
        clock=shop.clock,
        alerts=alerts,
        parallel=False,
    )
    app = _app(shop, world)
    said: list[str] = []
    started = shop.clock.now()
    worker = open_worker(app, say=said.append)
    assert worker is not None
    # Six refusals, each followed by a longer wait on the (virtual) clock: 5 s … 160 s.
    assert (shop.clock.now() - started).total_seconds() >= 5 + 10 + 20 + 40 + 80 + 160
    assert len(_kinds(alerts, AlertKind.SHEET_ERROR)) == 1
    assert len(said) == 1 and "Traceback" not in said[0]
    for _ in range(3):
        assert worker.cycle().committed
        shop.clock.advance(15)
    assert len(_kinds(alerts, AlertKind.SHEET_RECOVERED)) == 1
    assert len(_kinds(alerts, AlertKind.SHEET_ERROR)) == 1
    assert shop.live("tshirt:m") == 10  # and the shop synced


def test_a_stop_during_the_start_backoff_ends_at_once() -> None:
    shop = make_shop()
    shop.emu.fail_next(503, times=100)
    stop = threading.Event()
    alerts = StopOnAlert(stop, [AlertKind.SHEET_ERROR])
    world = World(
        transports={"rakuten": shop.mall_tap},
        sheets_session=_session(shop),
        clock=shop.clock,
        alerts=alerts,
        stop=stop,
        parallel=False,
    )
    assert open_worker(_app(shop, world)) is None
    assert len(_kinds(alerts, AlertKind.SHEET_ERROR)) == 1


def test_run_stays_up_through_google_down_and_a_refused_licence_key_then_syncs() -> None:
    """The real `serve` loop on the real clock: a tiny backoff, then one cycle, then SIGTERM."""
    shop = make_shop()
    shop.emu.fail_next(503, times=3)
    shop.sim.expire_credentials()  # 楽天 refuses the key from the start
    stop = threading.Event()
    alerts = StopOnAlert(stop, [AlertKind.SHEET_RECOVERED])
    world = World(
        transports={"rakuten": shop.mall_tap},
        sheets_session=_session(shop),
        clock=RealClock(),
        alerts=alerts,
        stop=stop,
        parallel=False,
    )
    app = _app(shop, world)
    result: list[int] = []
    thread = threading.Thread(
        target=lambda: result.append(serve(app, backoff=Backoff(0.01, 0.02))), daemon=True
    )
    thread.start()
    thread.join(20)
    assert not thread.is_alive() and result == [0]
    assert len(_kinds(alerts, AlertKind.SHEET_ERROR)) == 1
    assert len(_kinds(alerts, AlertKind.SHEET_RECOVERED)) == 1
    assert len(_kinds(alerts, AlertKind.AUTH_FAILED)) == 1
    assert shop.state()["last_commit"]  # the cycle committed while 楽天 stays parked


# --------------------------------------------------------------------------- one line per command


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(__import__("os").environ):
        if name.startswith(("ZAIKO_", "GOOGLE_APPLICATION", "SLACK_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("ZAIKO_GOOGLE_SERVICE_ACCOUNT_JSON", SANDBOX_SERVICE_ACCOUNT)
    monkeypatch.setenv("ZAIKO_MALLS__RAKUTEN__ENABLED", "true")
    monkeypatch.setenv("ZAIKO_RAKUTEN_SERVICE_SECRET", SECRET)
    monkeypatch.setenv("ZAIKO_RAKUTEN_LICENSE_KEY", KEY)
    monkeypatch.setenv("ZAIKO_SHEET__RETRY_MAX_TRIES", "1")
    return monkeypatch


COMMANDS = [["once"], ["push", "--all"], ["push", "--sku", "TS-M"], ["init-sheet"], ["run"]]


def _world(shop: Shop, stop: threading.Event | None = None, **kw: Any) -> World:
    stop = stop or threading.Event()
    return World(
        transports={"rakuten": shop.mall_tap},
        sheets_session=kw.pop("session", _session(shop)),
        clock=shop.clock,
        alerts=StopOnAlert(stop, [AlertKind.SHEET_ERROR]),
        stop=stop,
        parallel=False,
        **kw,
    )


def _one_line(capsys: pytest.CaptureFixture[str], *needles: str) -> str:
    err = capsys.readouterr().err
    lines = [
        ln for ln in err.splitlines() if ln.strip() and " INFO " not in ln and " WARNING " not in ln
    ]
    assert "Traceback" not in err
    assert len(lines) == 1, err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda a: " ".join(a))
def test_a_wrong_sheet_id_is_one_line_naming_the_setting(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    shop = make_shop()
    env.setenv("ZAIKO_SHEET_ID", "1WrongIdWrongIdWrongId")
    code = cli.main(argv, world=_world(shop))
    assert code == (0 if argv == ["run"] else 1)  # run stays up until SIGTERM
    _one_line(capsys, "ZAIKO_SHEET_ID", "1WrongIdWrongIdWrongId", "見つかりません")


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda a: " ".join(a))
def test_a_sheet_not_shared_is_one_line_naming_the_service_account(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    shop = make_shop()
    env.setenv("ZAIKO_SHEET_ID", shop.sid)
    shop.emu.fail_next(403, times=3)
    code = cli.main(argv, world=_world(shop))
    assert code == (0 if argv == ["run"] else 1)
    _one_line(capsys, "共有", "zaiko-bot@sandbox.invalid", "編集者")


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda a: " ".join(a))
def test_a_broken_service_account_key_is_one_line(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    shop = make_shop()
    env.setenv("ZAIKO_SHEET_ID", shop.sid)
    broken = json.loads(SANDBOX_SERVICE_ACCOUNT)  # parses, but its private key is no key
    env.setenv("ZAIKO_GOOGLE_SERVICE_ACCOUNT_JSON", json.dumps(broken))
    world = _world(shop, session=None)  # production's path: credentials from the key
    code = cli.main(argv, world=world)
    assert code == (0 if argv == ["run"] else 1)
    _one_line(capsys, "ZAIKO_GOOGLE_SERVICE_ACCOUNT_JSON", "キー")


def test_check_lists_the_sheet_problem_as_one_ng_line_and_checks_the_rest(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shop = make_shop()
    env.setenv("ZAIKO_SHEET_ID", "1WrongIdWrongIdWrongId")
    assert cli.main(["check"], world=_world(shop)) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("NG シート") and "ZAIKO_SHEET_ID" in out[0]
    assert any(line.startswith("OK") and "楽天" in line for line in out[1:])


def test_a_refused_google_key_becomes_the_sheet_key_error() -> None:
    """google-auth's RefreshError (deleted key) is translated where it is raised."""
    from google.auth import exceptions as google_errors

    from bot.infra.sheet.access import SheetKeyInvalid, service_account_credentials

    pem = _test_private_key()
    info = {
        **json.loads(SANDBOX_SERVICE_ACCOUNT),
        "private_key": pem,
        "token_uri": "http://127.0.0.1:9/token",
    }
    creds = service_account_credentials(info, ["https://www.googleapis.com/auth/spreadsheets"])

    def refused(**_: Any) -> Any:
        raise google_errors.RefreshError("invalid_grant: Invalid JWT Signature.")

    with pytest.raises(SheetKeyInvalid, match="新しいキー"):
        creds.refresh(refused)


def _test_private_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def test_push_of_an_unknown_code_exits_non_zero_and_pushes_nothing(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shop = make_shop()
    env.setenv("ZAIKO_SHEET_ID", shop.sid)
    calls = len(shop.sim.requests)
    assert cli.main(["push", "--sku", "TS-M", "--sku", "NO-SUCH"], world=_world(shop)) == 2
    err = capsys.readouterr().err
    assert "商品コード『NO-SUCH』がありません" in err and "TS-M" not in err
    assert not [r for r in shop.sim.requests[calls:] if "bulk-upsert" in r.path]
