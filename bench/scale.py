"""scale — cost as the catalogue grows (../shared/BENCHMARKS.md, issue 10 items 1 and 6).

One run per catalogue size: a seeded catalogue (about 2 % sets, one 楽天 code per
product, optionally more channels) typed into 商品マスタ, the bot built by
``bot.bootstrap.build`` exactly as ``run`` builds it, a cold start (every listing
pushed), then a simulated hour of 15 s cycles on the virtual clock in which 1 % of the
products change per cycle: orders on the mall, staff stock edits in 商品マスタ and 入出庫
rows. Where the Sheets emulator and the channel simulators live is the harness's
business:

- :class:`bench.boxed.BoxHarness` (the default): ``python -m bot sandbox`` in its own
  process; the bot talks HTTP to it (real google-auth, gspread, the adapters' httpx
  clients) and the taps of :mod:`bench.taps` count what crosses. This process holds the
  bot and the benchmark's thin driver only, so its peak RSS is the bot's.
- :class:`bench.inline.InlineHarness` (``--inline``, for debugging): the doubles in this
  process behind in-process transports, as before the sandbox existed; peak RSS includes
  them.

This module holds what both share: the catalogue, the per-cycle changes, the staff-edit
probes, the cycle loop and the summary.
"""

from __future__ import annotations

import json
import random
import resource
import statistics
import sys
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from adapters import ADAPTERS
from bench.outcomes import OutcomeWatch
from bench.taps import EngineTimer, MallTap, SheetCounter, timed_engine_step
from bot.bootstrap import App
from bot.infra.clock import JST, format_jst
from bot.infra.sheet.layout import column_letter
from bot.sandbox.clock import VirtualClock
from bot.shell.worker import CycleReport

START = datetime(2026, 11, 23, 9, 0, tzinfo=JST)
MASTER = "商品マスタ"
SETS_TAB = "セット構成"
MOVES = "入出庫"
DEFAULT_SIZES = (1_000, 10_000, 50_000, 100_000)
CHANGE_KINDS = ("order", "edit", "movement")
CHANGE_WEIGHTS = (0.5, 0.3, 0.2)
PUSH_LAG = 1.0
"""楽天's bulk-upsert shows this many seconds after it was sent (added to the figures)."""
LATENCY = 0.2
"""Virtual seconds each mall call takes (the network round trip)."""
CHUNK = 5_000
"""Rows or listings per fill call."""
MODES = ("sandbox", "inline")


@dataclass
class ScaleOptions:
    """One size's run."""

    products: int
    minutes: float = 60.0
    """Simulated minutes of steady cycles after the cold start."""
    seed: int = 1
    channels: tuple[str, ...] = ("rakuten",)
    change_rate: float = 0.01
    set_share: float = 0.02
    interval: float = 15.0
    probe_every: int = 4
    """A staff-edit latency probe every this many cycles."""
    mode: str = "sandbox"
    """``sandbox`` (the doubles in their own process) or ``inline`` (in this one)."""


@dataclass
class Probe:
    """A staff edit whose arrival at 楽天 is timed."""

    code: str
    value: int
    at: float
    """Virtual seconds (clock.monotonic) when staff typed the value."""
    latency: float | None = None


@dataclass
class CycleSample:
    requests: int
    cells: int
    bytes_read: int
    engine_s: float
    wall_s: float
    own_s: float
    virtual_s: float
    mall_calls: int
    error: str


def code_header(key: str) -> str:
    return f"{ADAPTERS[key].channel.label}コード"


def sku(i: int) -> str:
    return f"P{i:06d}"


@dataclass
class Catalogue:
    """The products, compactly: product ``i`` is ``sku(i)`` on sheet row ``i + 2``."""

    n: int
    every: int
    """Every ``every``-th product is a set (0: none)."""
    codes: dict[str, list[str]] = field(default_factory=dict)
    """Per channel, product ``i``'s listing code."""

    def is_set(self, i: int) -> bool:
        return bool(self.every) and i % self.every == self.every - 1


class Harness(ABC):
    """The world one size runs in: the doubles somewhere, the bot built against them."""

    mode = ""

    def __init__(self, opts: ScaleOptions) -> None:
        self.opts = opts
        self.clock = VirtualClock(START)
        self.rng = random.Random(opts.seed * 1_000_003 + opts.products)
        every = max(1, round(1 / opts.set_share)) if opts.set_share > 0 else 0
        self.catalogue = Catalogue(opts.products, every, {k: [] for k in opts.channels})
        self.next_move_row = 2
        self.stock_letter = ""
        """商品マスタ's 在庫数 column (known once :meth:`fill` has read the header)."""
        self.sheets = SheetCounter()
        self.taps: dict[str, MallTap] = {}
        """Each channel's transport tap (the harness fills it when it builds the bot)."""

    # -- what a harness provides --------------------------------------------------------

    @abstractmethod
    def sample_code(self, key: str, n: int) -> str:
        """A valid listing code on channel ``key`` for listing number ``n``."""

    @abstractmethod
    def list_on(self, key: str, listings: list[tuple[str, int]]) -> list[str]:
        """List (code, stock) pairs on the channel; their canonical codes."""

    @abstractmethod
    def type_cells(self, tab: str, a1: str, rows: list[list[Any]]) -> None:
        """Staff type ``rows`` from cell ``a1`` (None leaves a cell alone)."""

    @abstractmethod
    def tab_values(self, tab: str) -> list[list[Any]]:
        """A whole tab (set-up only)."""

    @abstractmethod
    def place_orders(self, key: str, codes: list[str]) -> None:
        """One customer order of one unit per code (a refused order is skipped)."""

    @abstractmethod
    def build_app(self) -> App:
        """The bot, wired by ``bot.bootstrap.build`` against this harness's doubles."""

    @abstractmethod
    def wait_seconds(self) -> float:
        """Wall seconds so far the bot's calls spent on the far side (not the bot's own)."""

    def mall_calls(self) -> int:
        """Calls the bot made to the channels so far."""
        return sum(t.calls for t in self.taps.values())

    def take_writes(self, key: str) -> list[tuple[datetime, str, bytes]]:
        """The stock writes channel ``key`` was sent since the last take: (at, path, body)."""
        return [(w.at, w.path, w.body) for w in self.taps[key].take_writes()]

    def keep_write_bodies(self, keep: bool) -> None:
        """Whether the taps keep the writes' bodies (the probes need them; the cold push not)."""
        for tap in self.taps.values():
            tap.keep_bodies = keep

    @abstractmethod
    def finish(self) -> dict[str, Any]:
        """Stop the doubles; figures about them (peak RSS where it is known)."""

    # -- set-up ----------------------------------------------------------------------

    def fill(self) -> None:
        """商品マスタ and each channel's listings in chunks, セット構成, 入出庫's next row."""
        header = self.tab_values(MASTER)[0]
        self.stock_letter = column_letter(header.index("在庫数"))
        cols = {name: header.index(name) for name in ("商品コード", "商品名", "在庫数", "連動停止")}
        code_cols = {key: header.index(code_header(key)) for key in self.opts.channels}
        cat = self.catalogue
        for start in range(0, cat.n, CHUNK):
            span = range(start, min(cat.n, start + CHUNK))
            stock = [0 if cat.is_set(i) else self.rng.randint(5, 50) for i in span]
            rows: list[list[Any]] = [[None] * len(header) for _ in span]
            for key in self.opts.channels:
                wanted = [
                    (self.sample_code(key, i + 1), q) for i, q in zip(span, stock, strict=True)
                ]
                codes = self.list_on(key, wanted)
                cat.codes[key].extend(codes)
                for row, code in zip(rows, codes, strict=True):
                    row[code_cols[key]] = code
            for i, row, qty in zip(span, rows, stock, strict=True):
                row[cols["商品コード"]] = sku(i)
                row[cols["商品名"]] = f"{'セット' if cat.is_set(i) else '商品'} {sku(i)}"
                row[cols["在庫数"]] = "" if cat.is_set(i) else qty
                row[cols["連動停止"]] = False
            self.type_cells(MASTER, f"A{start + 2}", rows)
        set_rows = self._set_rows()
        for start in range(0, len(set_rows), CHUNK):
            self.type_cells(SETS_TAB, f"A{start + 2}", set_rows[start : start + CHUNK])
        self.next_move_row = len(self.tab_values(MOVES)) + 1

    def _set_rows(self) -> list[list[Any]]:
        """Every set: two random single products, 1 or 2 of each."""
        cat = self.catalogue
        singles = [i for i in range(cat.n) if not cat.is_set(i)]
        rows: list[list[Any]] = []
        for i in range(cat.n):
            if cat.is_set(i):
                for comp in self.rng.sample(singles, 2):
                    rows.append([sku(i), sku(comp), self.rng.choice((1, 2))])
        return rows

    # -- each cycle ------------------------------------------------------------------

    def changes(self, cycle_no: int, probes: list[Probe]) -> None:
        """1 % of products change before this cycle: orders, staff edits, 入出庫 rows."""
        opts, rng, cat = self.opts, self.rng, self.catalogue
        count = max(1, round(opts.products * opts.change_rate))
        chosen = rng.sample(range(cat.n), min(count, cat.n))
        kinds = rng.choices(CHANGE_KINDS, CHANGE_WEIGHTS, k=len(chosen))
        edits: dict[int, int] = {}
        moves: list[list[Any]] = []
        orders: dict[str, list[str]] = {}
        now = format_jst(self.clock.now())
        for i, kind in zip(chosen, kinds, strict=True):
            if kind == "order" or cat.is_set(i):
                mall = rng.choice(opts.channels)
                orders.setdefault(mall, []).append(cat.codes[mall][i])
            elif kind == "edit":
                edits[i + 2] = rng.randint(0, 60)
            else:
                moves.append([now, sku(i), rng.choice((5, 10, -1)), "入荷", "bench"])
        if "rakuten" in cat.codes and cycle_no % opts.probe_every == 0:
            picked = set(chosen)
            probe = next(i for i in rng.sample(range(cat.n), min(50, cat.n)) if not cat.is_set(i))
            if probe not in picked:
                value = 70 + cycle_no % 20  # above anything the mix types, so it is ours
                edits[probe + 2] = value
                probes.append(Probe(cat.codes["rakuten"][probe], value, self.clock.monotonic()))
        for mall, codes in orders.items():
            self.place_orders(mall, codes)
        self._type_edits(edits)
        if moves:
            self.type_cells(MOVES, f"A{self.next_move_row}", moves)
            self.next_move_row += len(moves)

    def _type_edits(self, edits: dict[int, int]) -> None:
        """All of a cycle's 在庫数 edits as one edit of the column's span."""
        if not edits:
            return
        first, last = min(edits), max(edits)
        column: list[list[Any]] = [[edits.get(r)] for r in range(first, last + 1)]
        self.type_cells(MASTER, f"{self.stock_letter}{first}", column)

    def settle_probes(self, probes: list[Probe]) -> None:
        """A probe has landed when 楽天 was sent its value; +push lag until it shows."""
        writes: list[tuple[datetime, str, bytes]] = []
        for key in self.opts.channels:  # every channel's: the taps keep them until taken
            taken = self.take_writes(key)
            if key == "rakuten":
                writes = taken
        for probe in probes:
            if probe.latency is not None:
                continue
            mn, vid = probe.code.split(":", 1)
            for at, path, body in writes:
                if not path.endswith("bulk-upsert") or not _carries(body, mn, vid, probe.value):
                    continue
                landed = (at - START).total_seconds() + PUSH_LAG
                probe.latency = landed - probe.at
                break


def _carries(body: bytes, manage_number: str, variant_id: str, quantity: int) -> bool:
    """A 楽天 bulk-upsert body that sets this listing to ``quantity``."""
    try:
        entries = json.loads(body).get("inventories") or []
    except (ValueError, AttributeError):
        return False
    return any(
        str(e.get("manageNumber", "")).lower() == manage_number.lower()
        and e.get("variantId") == variant_id
        and e.get("quantity") == quantity
        for e in entries
    )


def peak_rss_mb() -> float:
    """Peak RSS of this process (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def one_cycle(harness: Harness, app: App, timer: EngineTimer) -> tuple[CycleSample, CycleReport]:
    """``worker.cycle()`` with what it cost: Sheets traffic, engine, own and whole time."""
    far0, calls0 = harness.wait_seconds(), harness.mall_calls()
    v0 = harness.clock.monotonic()
    timer.take()
    harness.sheets.take()
    started = time.perf_counter()
    report = app.worker.cycle()
    wall = time.perf_counter() - started
    tally = harness.sheets.take()
    sample = CycleSample(
        requests=tally.requests,
        cells=tally.cells_read,
        bytes_read=tally.bytes_read,
        engine_s=timer.take(),
        wall_s=wall,
        own_s=wall - (harness.wait_seconds() - far0),
        virtual_s=harness.clock.monotonic() - v0,
        mall_calls=harness.mall_calls() - calls0,
        error=report.error,
    )
    return sample, report


def cold_start(harness: Harness, app: App) -> dict[str, Any]:
    """worker.start() and the first cycle, in which every listing is pushed."""
    harness.sheets.take()
    app.worker.start()
    startup = harness.sheets.take()
    for key in harness.opts.channels:
        harness.take_writes(key)
    v0, m0 = harness.clock.now(), harness.clock.monotonic()
    watch = OutcomeWatch(app.worker.adapters, harness.clock.monotonic)
    harness.keep_write_bodies(False)  # only the last write's time is wanted here
    with timed_engine_step() as timer:
        sample, report = one_cycle(harness, app, timer)
    harness.keep_write_bodies(True)
    watch.cold = False
    push_s: dict[str, float] = {}
    for key in harness.opts.channels:
        writes = harness.take_writes(key)
        last = writes[-1][0] if writes else v0
        lag = PUSH_LAG if key == "rakuten" else 0.0
        push_s[key] = round(max(0.0, (last - v0).total_seconds()) + lag, 1)
    return {
        "startup_requests": startup.requests,
        "cold_cycle": sample,
        "cold_v0": m0,
        "outcomes": watch,
        "full_push_sent_virtual_s": push_s,
        "full_push_virtual_s": dict(push_s),
        "full_push_listings": {k: report.pushes.get(k, 0) for k in harness.opts.channels},
        "full_push_failed": {k: v for k, v in report.push_failures.items() if v},
    }


def _outcomes_known(cold: dict[str, Any]) -> None:
    """A channel that answered the cold push PENDING is done when every outcome is known.

    ``full_push_virtual_s`` then counts from the cold cycle's start to the end of the
    learning (the cycle in which the worker learnt the last listing's outcome);
    ``full_push_sent_virtual_s`` keeps when the last write left. A channel still
    waiting when the run ends is reported as None, with ``full_push_unsettled``.
    """
    watch: OutcomeWatch = cold["outcomes"]
    for key in watch.waiting:
        known = watch.known_at.get(key)
        cold["full_push_virtual_s"][key] = (
            None if known is None else round(known - cold["cold_v0"], 1)
        )
    cold["full_push_unsettled"] = watch.unsettled()


def make_harness(opts: ScaleOptions) -> Harness:
    """The mode's harness (imported late: sandbox mode never loads the doubles here)."""
    if opts.mode == "inline":
        from bench.inline import InlineHarness

        return InlineHarness(opts)
    if opts.mode == "sandbox":
        from bench.boxed import BoxHarness

        return BoxHarness(opts)
    raise ValueError(f"unknown mode {opts.mode!r} (one of {', '.join(MODES)})")


def run_size(opts: ScaleOptions) -> dict[str, Any]:
    """One catalogue size, end to end; the figures of one ``sizes`` entry."""
    wall0 = time.perf_counter()
    harness = make_harness(opts)
    try:
        harness.fill()
        fill_s = time.perf_counter() - wall0
        driver_rss = peak_rss_mb()
        app = harness.build_app()
        setup_s = time.perf_counter() - wall0
        cold = cold_start(harness, app)
        largest_cold = harness.sheets.total.largest_request
        largest_cold_op = harness.sheets.total.largest_request_op
        harness.clock.advance(opts.interval)
        probes: list[Probe] = []
        samples: list[CycleSample] = []
        cycles = max(1, round(opts.minutes * 60 / opts.interval))
        with timed_engine_step() as timer:
            for n in range(cycles):
                harness.changes(n, probes)
                samples.append(one_cycle(harness, app, timer)[0])
                harness.settle_probes(probes)
                harness.clock.advance(opts.interval)
        peak = peak_rss_mb()
    finally:
        doubles = harness.finish()
    _outcomes_known(cold)
    out = summary(opts, harness, cold, samples, probes)
    out.update(
        {
            "largest_request_cold_start_bytes": largest_cold,
            "largest_request_cold_start_op": largest_cold_op,
            "peak_rss_mb": round(peak, 1),
            "driver_rss_mb": round(driver_rss, 1),
            "fill_wall_s": round(fill_s, 1),
            "setup_wall_s": round(setup_s, 1),
            # Proof of where the doubles ran: the emulator's package is never imported here
            # in sandbox mode.
            "sheets_emulator_in_bot_process": "bot.sandbox.sheets" in sys.modules,
            **doubles,
        }
    )
    return out


def summary(
    opts: ScaleOptions,
    harness: Harness,
    cold: dict[str, Any],
    samples: list[CycleSample],
    probes: list[Probe],
) -> dict[str, Any]:
    """Issue 10's keys and the ones that explain them."""
    n = opts.products
    latencies = [p.latency for p in probes if p.latency is not None]
    interval_ms = opts.interval * 1000
    total = harness.sheets.total
    cold_cycle: CycleSample = cold["cold_cycle"]

    def mean(values: Any) -> float:
        return statistics.fmean(values)

    return {
        "products": n,
        "mode": opts.mode,
        "channels": list(opts.channels),
        "simulated_minutes": opts.minutes,
        "cycles": len(samples),
        "sheet_requests_per_cycle": max(s.requests for s in samples),
        "sheet_requests_per_cycle_mean": round(mean(s.requests for s in samples), 2),
        "sheet_cells_read_per_product": round(mean(s.cells for s in samples) / n, 2),
        "bytes_read_per_cycle": round(mean(s.bytes_read for s in samples)),
        "largest_request_bytes": total.largest_request,
        "largest_request_op": total.largest_request_op,
        "largest_response_bytes": total.largest_response,
        "mall_calls_per_cycle": round(mean(s.mall_calls for s in samples), 2),
        "engine_ms": round(mean(s.engine_s for s in samples) * 1000, 2),
        "engine_max_ms": round(max(s.engine_s for s in samples) * 1000, 2),
        "bot_cycle_ms": round(mean(s.own_s for s in samples) * 1000, 1),
        "bot_cycle_fraction": round(mean(s.own_s for s in samples) * 1000 / interval_ms, 4),
        "bot_cycle_max_fraction": round(max(s.own_s for s in samples) * 1000 / interval_ms, 4),
        "cycle_wall_ms": round(mean(s.wall_s for s in samples) * 1000, 1),
        "cycle_wall_fraction": round(mean(s.wall_s for s in samples) * 1000 / interval_ms, 4),
        "cycle_wall_max_fraction": round(max(s.wall_s for s in samples) * 1000 / interval_ms, 4),
        "full_push_virtual_s": cold["full_push_virtual_s"],
        "full_push_sent_virtual_s": cold["full_push_sent_virtual_s"],
        "full_push_unsettled": cold["full_push_unsettled"],
        "full_push_listings": cold["full_push_listings"],
        "full_push_failed": cold["full_push_failed"],
        "cold_cycle_wall_s": round(cold_cycle.wall_s, 2),
        "cold_cycle_bot_s": round(cold_cycle.own_s, 2),
        "cold_cycle_sheet_requests": cold_cycle.requests,
        "startup_sheet_requests": cold["startup_requests"],
        "staff_edit_latency_s": round(mean(latencies), 1) if latencies else None,
        "staff_edit_latency_max_s": round(max(latencies), 1) if latencies else None,
        "staff_edit_probes": f"{len(latencies)}/{len(probes)}",
        "cycle_errors": sum(1 for s in samples if s.error),
    }
