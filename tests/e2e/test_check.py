"""`check` over the three malls: one line each with its credential expiry, NG lines first."""

from __future__ import annotations

from bot.sandbox import demo
from bot.sandbox.wiring import sandbox_settings
from bot.shell.check import check_lines


def test_each_mall_gets_its_own_line_with_the_date_its_credentials_expire() -> None:
    shop = demo.setup(quiet=True)
    app = demo.build_app(shop.emu, shop.sid, shop.sims, shop.clock, shop.alerts, demo.OLD_KEY)
    lines = check_lines(app.settings, app)
    texts = [line.text for line in lines]
    assert all(line.ok for line in lines), texts
    assert texts[0].startswith("OK シート")
    for name in ("楽天", "Yahoo", "Amazon"):
        [line] = [t for t in texts if name in t and "シート" not in t]
        assert "期限 20" in line, line  # a date, from each channel's own check


def test_a_refused_key_is_one_ng_line_listed_first_and_the_rest_still_checked() -> None:
    shop = demo.setup(quiet=True)
    shop.sim.expire_credentials()
    app = demo.build_app(shop.emu, shop.sid, shop.sims, shop.clock, shop.alerts, demo.OLD_KEY)
    lines = sorted(check_lines(app.settings, app), key=lambda line: line.ok)
    assert not lines[0].ok and "楽天" in lines[0].text
    assert [line.ok for line in lines[1:]] == [True] * (len(lines) - 1)


def test_missing_settings_are_ng_lines() -> None:
    settings = sandbox_settings(malls={"yahoo": {"enabled": True}})
    shop = demo.setup(quiet=True)
    app = demo.build_app(shop.emu, shop.sid, shop.sims, shop.clock, shop.alerts, demo.OLD_KEY)
    lines = check_lines(settings, app)
    ng = [line.text for line in lines if not line.ok]
    assert any("ZAIKO_YAHOO_CLIENT_ID" in t for t in ng)
