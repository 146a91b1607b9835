"""Health survives restarts: a failure said once stays said; a renewed key gets its minutes.

楽天 refuses the licence key, the worker parks it with one alert, and the process is
restarted (a deploy, a dyno cycling): the same failure is not announced again, and when
the renewed key works, the recovery is announced once. A renewed 楽天 key only works 5–10
minutes after it is issued (らくらく在庫's FAQ); :class:`KeyGoesLiveLater` plays that in
front of the simulator, whose own renewal is an immediate cut-over.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta

import httpx
import requests

from bot.bootstrap import App, World, build
from bot.core.domain import AlertKind
from bot.sandbox.wiring import sandbox_settings
from bot.shell.check import check_lines
from tests.e2e.conftest import KEY, NEW_KEY, SECRET, MallTap, Shop


class KeyGoesLiveLater(httpx.BaseTransport):
    """Requests signed with ``key`` are refused by 楽天 until ``live_at``."""

    def __init__(self, inner: MallTap, key: str, live_at: datetime | None) -> None:
        self.inner = inner
        self.key = key
        self.live_at = live_at

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        signed = "ESA " + base64.b64encode(f"{SECRET}:{self.key}".encode()).decode()
        now = self.inner.sim._clock.now()
        if request.headers.get("Authorization") == signed and (
            self.live_at is None or now < self.live_at
        ):
            # Not live yet: 楽天 answers as it does for any key it does not accept.
            bad = "ESA " + base64.b64encode(f"{SECRET}:not-live-yet".encode()).decode()
            request.headers["Authorization"] = bad
            if "licenseKey" in request.url.params:
                request.url = request.url.copy_set_param("licenseKey", "not-live-yet")
        return self.inner.handle_request(request)


def _app(shop: Shop, transport: httpx.BaseTransport) -> App:
    session = requests.Session()
    session.trust_env = False
    shop.emu.mount(session)
    settings = sandbox_settings(
        sheet_id=shop.sid,
        malls={"rakuten": {"enabled": True, "service_secret": SECRET, "license_key": NEW_KEY}},
    )
    world = World(
        transports={"rakuten": transport},
        sheets_session=session,
        clock=shop.clock,
        alerts=shop.alerts,
        parallel=False,
    )
    return build(settings, world)


def _count(shop: Shop, kind: AlertKind) -> int:
    return len(shop.alerts_of(kind))


def _park(shop: Shop) -> None:
    shop.sim.expire_credentials()
    assert shop.cycle().committed
    assert _count(shop, AlertKind.AUTH_FAILED) == 1


def test_a_restart_does_not_announce_the_same_parked_failure_again(shop: Shop) -> None:
    _park(shop)
    saved = json.loads(shop.state()["health"])
    assert saved["rakuten"]["state"] == "parked"
    assert KEY not in shop.state()["health"] and SECRET not in shop.state()["health"]
    for _ in range(3):
        shop.restart()
        for _ in range(3):
            assert shop.cycle().committed
    assert _count(shop, AlertKind.AUTH_FAILED) == 1
    assert _count(shop, AlertKind.MALL_RECOVERED) == 0


def test_the_same_key_working_again_after_a_restart_is_announced_as_recovery_once(
    shop: Shop,
) -> None:
    _park(shop)
    shop.sim.renew_license(KEY)  # RMS lets the same key work again
    shop.restart()
    shop.run_until_quiet()
    shop.restart()
    shop.run_until_quiet()
    assert _count(shop, AlertKind.MALL_RECOVERED) == 1
    assert "state" not in json.loads(shop.state()["health"]).get("rakuten", {})


def test_a_renewed_key_refused_for_its_first_minutes_is_retried_quietly(shop: Shop) -> None:
    _park(shop)
    number = shop.order(("tshirt:m", 1))  # sold while 楽天 is parked
    shop.sim.renew_license(NEW_KEY)
    live_at = shop.clock.now() + timedelta(minutes=7)
    shop.mall_tap = KeyGoesLiveLater(shop.mall_tap, NEW_KEY, live_at)  # type: ignore[assignment]
    shop.restart(license_key=NEW_KEY)
    # check, run by the owner just after renewing, says to give the key a few minutes.
    app = _app(shop, shop.mall_tap)
    [line] = [ln for ln in check_lines(app.settings, app) if "楽天" in ln.text]
    assert not line.ok and "数分" in line.text
    while shop.clock.now() < live_at + timedelta(minutes=2):
        assert shop.cycle().committed
    assert _count(shop, AlertKind.AUTH_FAILED) == 1  # no second failure alert
    assert _count(shop, AlertKind.MALL_RECOVERED) == 1
    assert {r["注文番号"] for r in shop.sales("販売")} >= {number}
    assert shop.stock("TS-M") == 9


def test_a_renewed_key_still_refused_after_the_grace_is_said_once(shop: Shop) -> None:
    _park(shop)
    shop.sim.renew_license("SL-some-other-key")  # the owner pasted the wrong key
    shop.restart(license_key=NEW_KEY)
    until = shop.clock.now() + timedelta(minutes=14)
    while shop.clock.now() < until:
        shop.cycle()
    assert _count(shop, AlertKind.AUTH_FAILED) == 1  # quiet within the quarter hour
    until = shop.clock.now() + timedelta(minutes=30)
    while shop.clock.now() < until:
        shop.cycle()
    assert _count(shop, AlertKind.AUTH_FAILED) == 2  # then said once, for the new key
    shop.restart(license_key=NEW_KEY)
    for _ in range(5):
        shop.cycle()
    assert _count(shop, AlertKind.AUTH_FAILED) == 2


def test_a_mall_down_across_a_restart_is_said_once_and_recovers_once(shop: Shop) -> None:
    shop.sim.fail_next("503", times=1000)
    shop.cycle()
    assert _count(shop, AlertKind.MALL_DOWN) == 1
    assert json.loads(shop.state()["health"])["rakuten"]["state"] == "down"
    shop.restart()
    shop.cycle()
    shop.cycle()
    assert _count(shop, AlertKind.MALL_DOWN) == 1
    shop.sim._faults.clear()  # 楽天 is back (the simulator has no public "heal")
    shop.run_until_quiet()
    assert _count(shop, AlertKind.MALL_RECOVERED) == 1
