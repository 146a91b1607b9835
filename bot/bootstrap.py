"""The composition root: the one place that turns settings into running objects.

``build(settings, world)`` is what ``run``, ``once``, ``push``, ``check``, the demo,
the end-to-end tests and the benchmarks call. Everything outside the process is a
parameter (cosmicpython's ``bootstrap``): :class:`World` carries the HTTP transport
per channel, the Sheets session, the clock, the alert sink and the stop event. In
production every field keeps its default (the real network, service-account auth,
the real clock, Slack or the console); the sandbox passes simulators and an emulator
instead, so the wiring under test is the wiring that runs.

Nothing here connects at build time except :meth:`App.gateway` (it opens the sheet),
so ``check`` can test each part on its own.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import httpx
import requests
from google.oauth2 import service_account

from adapters import ADAPTERS
from adapters import channels as registered_channels
from adapters.base import BuildContext, Channel, MallAdapter
from bot.core.domain import ShopSettings
from bot.infra.alerts import AlertSink, ConsoleAlerts, SheetLinks, SlackAlerts
from bot.infra.clock import Clock, RealClock
from bot.infra.settings import Settings
from bot.infra.sheet.access import open_spreadsheet, service_account_credentials
from bot.infra.sheet.gateway import SheetGateway, SheetsClient, make_client
from bot.infra.sheet.template import InitReport, init_sheet
from bot.shell.health_memory import fingerprint
from bot.shell.tokens import TokenVault
from bot.shell.worker import Worker, WorkerConfig, worker_config

SHEETS_SCOPE = "https://www.googleapis.com/auth/spreadsheets"
"""Least privilege: Sheets only, no Drive (google-sheets.md §6)."""


@dataclass
class World:
    """The outside world the bot talks to; every default is production's."""

    transports: Mapping[str, httpx.BaseTransport] = field(default_factory=dict)
    """Per channel key; a channel without one talks to its real host."""
    sheets_session: requests.Session | None = None
    """None: an authorised session from the service-account key."""
    clock: Clock = field(default_factory=RealClock)
    alerts: AlertSink | None = None
    """None: Slack when a token is set, else the console."""
    stop: threading.Event = field(default_factory=threading.Event)
    parallel: bool = True
    """Channels are called in parallel threads; the sandbox runs them in turn."""
    slack_base_url: str | None = None
    """None: slack.com (tests point Slack's WebClient at a local fake)."""


@dataclass
class App:
    """The wired bot: adapters and alerts built, the sheet opened on first use."""

    settings: Settings
    world: World
    adapters: dict[str, MallAdapter]
    alerts: AlertSink
    config: WorkerConfig
    tokens: TokenVault
    """Rotating channel tokens, kept encrypted in ``_state`` by the worker."""
    links: SheetLinks = field(default_factory=lambda: SheetLinks(""))
    """Slack's links into the spreadsheet; tab ids and products once the sheet is open."""

    @cached_property
    def sheets(self) -> SheetsClient:
        """The Sheets client (reads the service-account key on first use, not at build)."""
        return build_sheets_client(self.settings, self.world)

    @cached_property
    def gateway(self) -> SheetGateway:
        """The gateway on ZAIKO_SHEET_ID (opens the spreadsheet: one metadata read)."""
        gateway = SheetGateway.open(
            self.sheets,
            self.settings.sheet_id or "",
            malls=list(self.adapters),
            canonical={key: type(a).canonical_code for key, a in self.adapters.items()},
            # Every registered channel's words: a switched-off channel's 設定 rows are
            # still understood (and ignored), never reported as unknown items.
            channels=registered_channels(),
            account=self.settings.google_service_account_email() or "",
        )
        rows = self.settings.sheet.log_max_rows
        self.links.tab_ids = lambda: gateway.sheet_ids
        self.links.products = lambda: gateway.products
        gateway.retention.update(
            ops_log=(rows.op_log, None),
            sales_log=(rows.sales_log, self.settings.sheet.sales_log_min_days),
            mall_log=(rows.mall_log, None),
            error_log=(rows.error_log, None),
        )
        return gateway

    @property
    def channels(self) -> list[Channel]:
        """Declarations of the enabled channels (the sheet's per-channel parts)."""
        return [type(adapter).channel for adapter in self.adapters.values()]

    def init_sheet(self) -> InitReport:
        """Create or upgrade the spreadsheet's tabs for the enabled channels."""
        account = self.settings.google_service_account_email() or ""
        spreadsheet = open_spreadsheet(self.sheets, self.settings.sheet_id or "", account)
        return init_sheet(spreadsheet, self.channels)

    @cached_property
    def worker(self) -> Worker:
        """Everything ``run``, ``once`` and ``push`` need, wired together."""
        worker = Worker(
            gateway=self.gateway,
            adapters=self.adapters,
            alerts=self.alerts,
            clock=self.world.clock,
            stop=self.world.stop,
            config=self.config,
            parallel=self.world.parallel,
            tokens=self.tokens,
        )
        for key, health in worker.health.items():  # to tell a renewed key (health_memory)
            health.key_mark = fingerprint(self.settings.mall(key))
        # Until the 設定 tab is read, the configured interval applies.
        worker.settings = ShopSettings(interval_seconds=self.settings.sync.interval_seconds)
        return worker


def build(
    settings: Settings, world: World | None = None, *, config: WorkerConfig | None = None
) -> App:
    """Adapters of every enabled channel and the alert sink; the sheet opens on first use.

    ``config`` overrides the cycle's knobs derived from settings (tests shorten the
    drift or park intervals with it).
    """
    world = world or World()
    tokens = TokenVault(settings.secret_box() if settings.secret_key is not None else None)
    links = SheetLinks(settings.sheet_id or "")
    alerts = world.alerts if world.alerts is not None else build_alerts(settings, world, links)
    if isinstance(alerts, SlackAlerts) and alerts.links is None:
        alerts.links = links
    return App(
        settings=settings,
        world=world,
        adapters=build_adapters(settings, world, tokens),
        alerts=alerts,
        config=config or worker_config(settings),
        tokens=tokens,
        links=links,
    )


def build_adapters(
    settings: Settings, world: World, tokens: TokenVault | None = None
) -> dict[str, MallAdapter]:
    """One adapter per enabled channel, each from its own declaration."""
    tokens = tokens or TokenVault(None)
    adapters: dict[str, MallAdapter] = {}
    for key in settings.enabled_malls():
        adapter_cls, config = ADAPTERS[key], settings.mall(key)
        client = config.http_client(world.transports.get(key))
        context = BuildContext(
            clock=world.clock,
            stop=world.stop,
            cancel_window_days=settings.sync.cancel_window_days,
            tokens=tokens.store(key),
        )
        adapters[key] = adapter_cls.from_config(config, client, context)
    return adapters


def google_credentials(settings: Settings) -> service_account.Credentials:
    """Service-account credentials limited to the Sheets scope.

    An unusable key raises :class:`~bot.infra.sheet.access.SheetKeyInvalid`, whose
    text says what to fix; so does a key Google refuses, on the first call.
    """
    secret = settings.google_service_account_json
    info: dict[str, Any] = json.loads(secret.get_secret_value() if secret else "{}")
    return service_account_credentials(info, [SHEETS_SCOPE])


def build_sheets_client(settings: Settings, world: World) -> SheetsClient:
    """Gspread with our retry and timeouts, on the world's session or the service account.

    ``google_sheets_base_url`` moves the Sheets calls (the sandbox process serves them on
    127.0.0.1); tokens come from the key's own ``token_uri``, through google-auth.
    """
    sheet = settings.sheet
    return make_client(
        None if world.sheets_session is not None else google_credentials(settings),
        session=world.sheets_session,
        clock=world.clock,
        stop=world.stop,
        timeout=(sheet.timeout_connect, sheet.timeout_read),
        max_tries=sheet.retry_max_tries,
        max_seconds=sheet.retry_max_seconds,
        base_url=settings.google_sheets_base_url,
    )


def build_alerts(
    settings: Settings, world: World | None = None, links: SheetLinks | None = None
) -> AlertSink:
    """Slack when a token is set (its messages link into the sheet), else the console."""
    if settings.slack_bot_token is None:
        return ConsoleAlerts()
    return SlackAlerts.from_token(
        settings.slack_bot_token.get_secret_value(),
        settings.slack_channel,
        base_url=world.slack_base_url if world is not None else None,
        links=links,
    )


__all__ = ["App", "World", "build", "google_credentials"]
