"""The default mode: the bot in this process, the sandbox (``python -m bot sandbox``) in its own.

The sandbox is started as a program starts it
(:class:`~bot.sandbox.server.client.SandboxProcess`): ``--clock follow`` from the bench's
start time, ``--empty`` (the catalogue comes through the control API), ``--save-every
0`` (a state save would lock the world for seconds at 100k; the state file is never
wanted), only the benchmark's channels, and the Sheets quota left at Google's 60
requests per minute per user (the emulator's window runs on the followed clock, so a bot
that bursts past it meets the 429 it would meet at Google).

The bot is built by ``bot.bootstrap.build`` from the settings the sandbox wrote (its
``env`` and ``zaiko.toml``, read by ``load_settings`` as ``python -m bot run`` reads
them: the Sheets base URL, every channel's ``base_url``, the service-account key whose
``token_uri`` is the sandbox). The :class:`~bot.bootstrap.World` differs from
production's in three things only: the clock is the bench's ``VirtualClock``; the Sheets
session is the ``AuthorizedSession`` production builds from the key, with
:class:`~bench.taps.SheetsTap` (a real ``HTTPAdapter``) mounted on the sandbox's URL, for
its token calls too; each channel's transport is a :class:`~bench.taps.MallTap` around
a real ``httpx.HTTPTransport``. Alerts are kept in memory (no console output).

Staff, customers and the catalogue act through the control API, which follows the
bench's clock too (each control call carries the clock header).
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import requests
from google.auth.transport.requests import AuthorizedSession, Request

from bench.scale import LATENCY, START, Harness, ScaleOptions
from bench.taps import MallTap, SheetsTap
from bot.bootstrap import App, World, build, google_credentials
from bot.infra.settings import load_settings
from bot.sandbox.alerts import MemoryAlerts
from bot.sandbox.server.client import SandboxProcess
from bot.sandbox.server.clock import CLOCK_HEADER
from bot.sandbox.server.locate import CHECKOUT, code_fingerprint, read_server

SANDBOX_START_TIMEOUT = 120.0
LISTINGS_PER_CALL = 10_000
"""Listings a fill call hands the sandbox (see :meth:`BoxHarness.list_on`)."""
BOT_CODE = code_fingerprint()
"""The source of the bot this process imported, as it was then (see :func:`same_code`)."""


def clean_env() -> dict[str, str]:
    """This environment without any zaiko, Slack or Google setting (the sandbox's own rule)."""
    drop = ("ZAIKO_", "SLACK_", "GOOGLE_APPLICATION_CREDENTIALS")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


def vm_hwm_mb(pid: int) -> float | None:
    """A process's peak resident set (``VmHWM`` in /proc; None where there is no /proc)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def same_code(server: dict[str, Any] | None) -> None:
    """Refuse a sandbox that runs other code than the bot of this process.

    ``python -m bot sandbox`` imports the checkout of the working directory, so a
    benchmark started with another checkout on ``sys.path``, or one whose files were
    edited after it imported the bot, would measure this bot against other doubles.
    That happened: a four-mall run whose 10k sandbox started while a Shopify simulator
    file was half-edited answered every ``inventorySetQuantities`` with HTTP 500 and
    reported the whole Shopify cold push failed.
    """
    code = server.get("code") if server else None
    if code != BOT_CODE:
        raise RuntimeError(
            f"the sandbox runs other code than this benchmark's bot ({CHECKOUT}, "
            f"as imported): sandbox {str(code)[:12]}, bot {BOT_CODE[:12]}; run the "
            "benchmark from the checkout it measures and do not edit it while it runs"
        )


class BoxHarness(Harness):
    """A sandbox process per size; the bot here, over HTTP, on the bench's clock."""

    mode = "sandbox"

    def __init__(self, opts: ScaleOptions) -> None:
        super().__init__(opts)
        self.folder = Path(tempfile.mkdtemp(prefix="zaiko-bench-"))
        options = [
            "--clock",
            "follow",
            "--start",
            START.isoformat(),
            "--empty",
            "--save-every",
            "0",
            "--malls",
            ",".join(opts.channels),
            "--interval",
            str(round(opts.interval)),
        ]
        try:
            self.box = SandboxProcess.start(
                self.folder / "sandbox", *options, env=clean_env(), timeout=SANDBOX_START_TIMEOUT
            )
        except BaseException:
            shutil.rmtree(self.folder, ignore_errors=True)
            raise
        try:
            same_code(read_server(self.box.folder))
        except BaseException:
            self.box.stop()
            shutil.rmtree(self.folder, ignore_errors=True)
            raise
        self.sheets_tap = SheetsTap(self.clock.now)
        self.sheets_tap.counter = self.sheets
        self.refused_orders = 0
        self.samplers: dict[str, Any] = {}

    # -- the control API, on the bench's clock ---------------------------------------

    def call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        headers = {CLOCK_HEADER: self.clock.now().isoformat()}
        return self.box.control.call(method, quote(path), headers=headers, **kwargs)

    def sample_code(self, key: str, n: int) -> str:
        sampler = self.samplers.get(key)
        if sampler is None:
            # The simulator class knows its channel's code shapes; this instance lists
            # nothing and is dropped after the fill.
            from bot.sandbox.clock import VirtualClock
            from bot.sandbox.simulators import make_simulator

            sampler = self.samplers[key] = make_simulator(key, VirtualClock(START))
        return str(sampler.sample_code(n))

    def list_on(self, key: str, listings: list[tuple[str, int]]) -> list[str]:
        """List these on ``key``'s simulator, a bounded number a call: 50,000 listings on
        one call outlasted the control client's 120 s timeout on a loaded machine."""
        codes: list[str] = []
        for start in range(0, len(listings), LISTINGS_PER_CALL):
            part = listings[start : start + LISTINGS_PER_CALL]
            answer = self.call("POST", f"/channels/{key}/listings", json={"listings": part})
            codes.extend(str(code) for code in answer["codes"])
        return codes

    def type_cells(self, tab: str, a1: str, rows: list[list[Any]]) -> None:
        self.call("POST", f"/tabs/{tab}/cells", json={"a1": a1, "rows": rows})

    def tab_values(self, tab: str) -> list[list[Any]]:
        values: list[list[Any]] = self.call("GET", f"/tabs/{tab}")["values"]
        return values

    def place_orders(self, key: str, codes: list[str]) -> None:
        orders = [[[code, 1]] for code in codes]
        answer = self.call("POST", f"/channels/{key}/orders/bulk", json={"orders": orders})
        # A refused order (no stock) is null, as a customer is refused.
        self.refused_orders += sum(1 for number in answer["orders"] if number is None)

    # -- the bot ---------------------------------------------------------------------

    def build_app(self) -> App:
        self.samplers.clear()
        settings = load_settings(env=self.box.worker_env(clean_env()))
        # What google-auth and gspread build in production, with the tap as the adapter.
        token_session = requests.Session()
        token_session.mount(self.box.url, self.sheets_tap)
        session = AuthorizedSession(  # type: ignore[no-untyped-call]
            google_credentials(settings), auth_request=Request(token_session)
        )
        session.mount(self.box.url, self.sheets_tap)
        self.taps = {
            key: MallTap(httpx.HTTPTransport(), self.clock.now, self.clock.advance, LATENCY)
            for key in self.opts.channels
        }
        world = World(
            transports=self.taps,
            sheets_session=session,
            clock=self.clock,
            alerts=MemoryAlerts(),
            parallel=False,
        )
        return build(settings, world)

    def wait_seconds(self) -> float:
        return self.sheets_tap.wait_seconds + sum(t.wait_seconds for t in self.taps.values())

    def finish(self) -> dict[str, Any]:
        """The sandbox's peak RSS, then SIGKILL (its state file is not wanted) and clean up."""
        popen = self.box.popen
        died = popen.poll()
        peak = vm_hwm_mb(popen.pid) if died is None else None
        self.box.control.close()
        self.sheets_tap.close()  # the connection pools of the bot's sessions and clients
        for tap in self.taps.values():
            tap.close()
        if died is None:
            popen.send_signal(signal.SIGKILL)
        popen.wait()
        out: dict[str, Any] = {
            "peak_rss_includes_emulator": False,
            "sandbox_peak_rss_mb": round(peak, 1) if peak is not None else None,
            "refused_orders": self.refused_orders,
            "google_token_calls": self.sheets_tap.other_calls,
        }
        if died is None:
            shutil.rmtree(self.folder, ignore_errors=True)
        else:  # the sandbox ended by itself: keep its log for whoever looks into it
            out.update(sandbox_exit=died, sandbox_log=str(self.box.log))
            print(f"the sandbox exited ({died}); its log: {self.box.log}", file=sys.stderr)
        return out
