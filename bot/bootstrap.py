"""The one place that reads settings and builds clients, adapters, gateway and worker.

Nothing else connects, reads the environment or picks a base URL (STYLE.md ex. 4):
tests and the demo build the same objects around simulators instead.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable

import httpx
from google.oauth2 import service_account

from adapters import ADAPTERS
from adapters.base import MallAdapter
from adapters.rakuten import RakutenAdapter
from bot.core.domain import ShopSettings
from bot.infra.alerts import AlertSink, ConsoleAlerts, SlackAlerts
from bot.infra.clock import Clock, RealClock
from bot.infra.settings import Settings
from bot.infra.sheet.gateway import SheetGateway, make_client
from bot.shell.worker import Worker, WorkerConfig, worker_config

SHEETS_SCOPE = "https://www.googleapis.com/auth/spreadsheets"
"""Least privilege: Sheets only, no Drive (google-sheets.md §6)."""


def _secret(settings: Settings, name: str) -> str:
    value = getattr(settings, name)
    return value.get_secret_value() if value is not None else ""


def _rakuten(settings: Settings, clock: Clock, stop: threading.Event) -> MallAdapter:
    cfg = settings.malls.rakuten
    client = httpx.Client(base_url=cfg.base_url, timeout=httpx.Timeout(cfg.timeout))
    return RakutenAdapter(
        client,
        service_secret=_secret(settings, "rakuten_service_secret"),
        license_key=_secret(settings, "rakuten_license_key"),
        clock=clock,
        stop=stop,
        # One searchOrder window is at most 63 days (rakuten.md §4.2).
        cancel_window_days=min(settings.sync.cancel_window_days, 63),
    )


FACTORIES: dict[str, Callable[[Settings, Clock, threading.Event], MallAdapter]] = {
    "rakuten": _rakuten,
}
"""How each registered adapter is built from settings (one line per mall)."""


def build_adapters(
    settings: Settings, clock: Clock, stop: threading.Event
) -> dict[str, MallAdapter]:
    """Adapters of every enabled mall that has an implementation."""
    return {
        name: FACTORIES[name](settings, clock, stop)
        for name in settings.enabled_malls()
        if name in ADAPTERS and name in FACTORIES
    }


def google_credentials(settings: Settings) -> service_account.Credentials:
    """Service-account credentials limited to the Sheets scope."""
    info = json.loads(_secret(settings, "google_service_account_json"))
    factory = service_account.Credentials.from_service_account_info
    creds: service_account.Credentials = factory(info, scopes=[SHEETS_SCOPE])  # type: ignore[no-untyped-call]
    return creds


def build_gateway(
    settings: Settings, clock: Clock, stop: threading.Event, malls: list[str]
) -> SheetGateway:
    """Service-account gspread client → gateway on ZAIKO_SHEET_ID."""
    client = make_client(
        google_credentials(settings),
        clock=clock,
        stop=stop,
        timeout=(settings.sheet.timeout_connect, settings.sheet.timeout_read),
        max_tries=settings.sheet.retry_max_tries,
        max_seconds=settings.sheet.retry_max_seconds,
    )
    gateway = SheetGateway.open(
        client,
        settings.sheet_id or "",
        malls=malls,
        canonical={m: ADAPTERS[m].canonical_code for m in malls if m in ADAPTERS},
    )
    rows = settings.sheet.log_max_rows
    gateway.retention.update(
        ops_log=(rows.op_log, None),
        sales_log=(rows.sales_log, settings.sheet.sales_log_min_days),
        mall_log=(rows.mall_log, None),
        error_log=(rows.error_log, None),
    )
    return gateway


def build_alerts(settings: Settings) -> AlertSink:
    """Slack when a token is set, else the console."""
    if settings.slack_bot_token is None:
        return ConsoleAlerts()
    return SlackAlerts.from_token(
        settings.slack_bot_token.get_secret_value(), settings.slack_channel
    )


def build_worker(
    settings: Settings, *, stop: threading.Event, clock: Clock | None = None
) -> Worker:
    """Everything `run` and `once` need, wired together."""
    clock = clock or RealClock()
    adapters = build_adapters(settings, clock, stop)
    gateway = build_gateway(settings, clock, stop, list(adapters))
    worker = Worker(
        gateway=gateway,
        adapters=adapters,
        alerts=build_alerts(settings),
        clock=clock,
        stop=stop,
        config=worker_config(settings),
    )
    # Until the 設定 tab is read, the configured interval applies.
    worker.settings = ShopSettings(interval_seconds=settings.sync.interval_seconds)
    return worker


__all__ = ["WorkerConfig", "build_adapters", "build_alerts", "build_gateway", "build_worker"]
