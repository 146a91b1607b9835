"""scale — cost as the catalogue grows (../shared/BENCHMARKS.md, issue 10 item 1).

One run per catalogue size: a seeded catalogue (about 2 % sets, one 楽天 code per
product, optionally more channels) typed into 商品マスタ through the emulator, the bot
built by ``bot.bootstrap.build`` exactly as ``run`` builds it, a cold start (every
listing pushed), then a simulated hour of 15 s cycles on the virtual clock in which 1 %
of the products change per cycle: orders on the mall, staff stock edits in 商品マスタ and
入出庫 rows. The taps in :mod:`bench.taps` count what crosses the Sheets and mall
transports; nothing in production is changed.

The Sheets emulator and the simulators share the bot's process, so peak RSS includes
them; cycle time is reported both whole and as the bot's own share (wall time minus the
time spent serving calls inside the emulator and simulators).
"""

from __future__ import annotations

import random
import resource
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from adapters import ADAPTERS
from bench.taps import MallMeter, SheetsMeter, timed_engine_step
from bot.bootstrap import World, build
from bot.infra.clock import JST, format_jst
from bot.infra.sheet.layout import column_letter
from bot.sandbox.alerts import MemoryAlerts
from bot.sandbox.clock import VirtualClock
from bot.sandbox.sheets import SheetsEmulator
from bot.sandbox.simulators import make_simulator
from bot.sandbox.wiring import sandbox_settings

START = datetime(2026, 11, 23, 9, 0, tzinfo=JST)
MASTER = "商品マスタ"
SETS_TAB = "セット構成"
MOVES = "入出庫"
DEFAULT_SIZES = (1_000, 10_000, 50_000, 100_000)
CHANGE_KINDS = ("order", "edit", "movement")
CHANGE_WEIGHTS = (0.5, 0.3, 0.2)
PUSH_LAG = 1.0
LATENCY = 0.2
CHUNK = 5_000


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


@dataclass
class _Product:
    sku: str
    row: int
    is_set: bool
    codes: dict[str, str] = field(default_factory=dict)


@dataclass
class _Probe:
    sku: str
    code: str
    value: int
    at: float
    """Virtual seconds (clock.monotonic) when staff typed the value."""
    seen_from: int
    """Index into the 楽天 simulator's request log to search from."""
    latency: float | None = None


@dataclass
class _Shop:
    opts: ScaleOptions
    clock: VirtualClock
    emu: SheetsEmulator
    sid: str
    sims: dict[str, Any]
    meter: SheetsMeter
    malls: dict[str, MallMeter]
    products: list[_Product]
    header: list[str]
    rng: random.Random
    next_move_row: int = 2


def _code_header(key: str) -> str:
    return f"{ADAPTERS[key].channel.label}コード"


def _catalogue(opts: ScaleOptions, rng: random.Random) -> tuple[list[_Product], list[list[Any]]]:
    """Products (every ~50th a set of two components) and the セット構成 rows."""
    every = max(1, round(1 / opts.set_share)) if opts.set_share > 0 else 0
    products = [
        _Product(
            sku=f"P{i:06d}",
            row=i + 2,
            is_set=bool(every) and i % every == every - 1,
        )
        for i in range(opts.products)
    ]
    singles = [p.sku for p in products if not p.is_set]
    set_rows: list[list[Any]] = []
    for p in products:
        if p.is_set:
            for comp in rng.sample(singles, 2):
                set_rows.append([p.sku, comp, rng.choice((1, 2))])
    return products, set_rows


def _setup(opts: ScaleOptions) -> tuple[_Shop, Any]:
    """The spreadsheet, the simulators and the App from ``bot.bootstrap.build``."""
    rng = random.Random(opts.seed * 1_000_003 + opts.products)
    clock = VirtualClock(START)
    emu = SheetsEmulator()
    sid = emu.create_spreadsheet("zaiko-bot scale", sheets=("Sheet1",))
    sims: dict[str, Any] = {}
    for key in opts.channels:
        kwargs: dict[str, Any] = {"latency": LATENCY}
        if key == "rakuten":
            kwargs["push_lag"] = PUSH_LAG
        sims[key] = make_simulator(key, clock, **kwargs)
    meter = SheetsMeter(emu)
    malls = {key: MallMeter(sim.transport) for key, sim in sims.items()}
    settings = sandbox_settings(sheet_id=sid, malls={k: s.config() for k, s in sims.items()})
    world = World(
        transports=malls,
        sheets_session=meter.session(),
        clock=clock,
        alerts=MemoryAlerts(),
        parallel=False,
    )
    app = build(settings, world)
    app.init_sheet()
    products, set_rows = _catalogue(opts, rng)
    header = emu.get_values(sid, MASTER)[0]
    shop = _Shop(opts, clock, emu, sid, sims, meter, malls, products, header, rng)
    _fill(shop, set_rows)
    return shop, app


def _fill(shop: _Shop, set_rows: list[list[Any]]) -> None:
    """商品マスタ in chunks, セット構成, and every listing on its mall."""
    col = {name: shop.header.index(name) for name in ("商品コード", "商品名", "在庫数", "連動停止")}
    code_cols = {key: shop.header.index(_code_header(key)) for key in shop.sims}
    rows: list[list[Any]] = []
    for n, p in enumerate(shop.products):
        qty = 0 if p.is_set else shop.rng.randint(5, 50)
        row: list[Any] = [None] * len(shop.header)
        row[col["商品コード"]] = p.sku
        row[col["商品名"]] = f"{'セット' if p.is_set else '商品'} {p.sku}"
        row[col["在庫数"]] = "" if p.is_set else qty
        row[col["連動停止"]] = False
        for key, sim in shop.sims.items():
            p.codes[key] = sim.add_listing(sim.sample_code(n + 1), qty)
            row[code_cols[key]] = p.codes[key]
        rows.append(row)
    for start in range(0, len(rows), CHUNK):
        shop.emu.set_values(shop.sid, MASTER, f"A{start + 2}", rows[start : start + CHUNK])
    for start in range(0, len(set_rows), CHUNK):
        shop.emu.set_values(shop.sid, SETS_TAB, f"A{start + 2}", set_rows[start : start + CHUNK])
    shop.next_move_row = len(shop.emu.get_values(shop.sid, MOVES)) + 1


def _changes(shop: _Shop, cycle_no: int, probes: list[_Probe]) -> None:
    """1 % of products change before this cycle: orders, staff edits, 入出庫 rows."""
    opts, rng = shop.opts, shop.rng
    count = max(1, round(opts.products * opts.change_rate))
    chosen = rng.sample(shop.products, min(count, len(shop.products)))
    kinds = rng.choices(CHANGE_KINDS, CHANGE_WEIGHTS, k=len(chosen))
    edits: dict[int, int] = {}
    moves: list[list[Any]] = []
    now = format_jst(shop.clock.now())
    for p, kind in zip(chosen, kinds, strict=True):
        if kind == "order" or p.is_set:
            mall = rng.choice(list(shop.sims))
            shop.sims[mall].place_order([(p.codes[mall], 1)])
        elif kind == "edit":
            edits[p.row] = rng.randint(0, 60)
        else:
            moves.append([now, p.sku, rng.choice((5, 10, -1)), "入荷", "bench"])
    if "rakuten" in shop.sims and cycle_no % opts.probe_every == 0:
        picked = {p.sku for p in chosen}
        probe = next(
            p for p in rng.sample(shop.products, min(50, len(shop.products))) if not p.is_set
        )
        if probe.sku not in picked:
            value = 70 + cycle_no % 20  # above anything the mix types, so it is ours
            edits[probe.row] = value
            probes.append(
                _Probe(
                    probe.sku,
                    probe.codes["rakuten"],
                    value,
                    shop.clock.monotonic(),
                    len(shop.sims["rakuten"].requests),
                )
            )
    _type_edits(shop, edits)
    if moves:
        shop.emu.set_values(shop.sid, MOVES, f"A{shop.next_move_row}", moves)
        shop.next_move_row += len(moves)


def _type_edits(shop: _Shop, edits: dict[int, int]) -> None:
    """All of a cycle's 在庫数 edits as one emulator edit (None leaves a cell alone)."""
    if not edits:
        return
    letter = column_letter(shop.header.index("在庫数"))
    first, last = min(edits), max(edits)
    column: list[list[Any]] = [[edits.get(r)] for r in range(first, last + 1)]
    shop.emu.set_values(shop.sid, MASTER, f"{letter}{first}", column)


def _settle_probes(shop: _Shop, probes: list[_Probe]) -> None:
    """A probe has landed when 楽天 was sent its value; +push lag until it shows."""
    sim = shop.sims.get("rakuten")
    if sim is None:
        return
    for probe in probes:
        if probe.latency is not None:
            continue
        mn, vid = probe.code.split(":", 1)
        for req in sim.requests[probe.seen_from :]:
            if not (req.method == "POST" and req.path.endswith("bulk-upsert") and req.json):
                continue
            if any(
                str(e.get("manageNumber", "")).lower() == mn
                and e.get("variantId") == vid
                and e.get("quantity") == probe.value
                for e in req.json.get("inventories") or []
            ):
                landed = (req.at - START).total_seconds() + PUSH_LAG
                probe.latency = landed - probe.at
                break
        else:
            probe.seen_from = len(sim.requests)


def _peak_rss_mb() -> float:
    """Peak RSS of this process (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


@dataclass
class _CycleSample:
    requests: int
    cells: int
    bytes_read: int
    engine_s: float
    wall_s: float
    own_s: float
    virtual_s: float
    error: str


def _far_seconds(shop: _Shop) -> float:
    return shop.meter.far_seconds + sum(m.far_seconds for m in shop.malls.values())


def _one_cycle(shop: _Shop, app: Any, timer: Any) -> _CycleSample:
    far0 = _far_seconds(shop)
    v0 = shop.clock.monotonic()
    timer.take()
    shop.meter.take()
    started = time.perf_counter()
    report = app.worker.cycle()
    wall = time.perf_counter() - started
    tally = shop.meter.take()
    return _CycleSample(
        requests=tally.requests,
        cells=tally.cells_read,
        bytes_read=tally.bytes_read,
        engine_s=timer.take(),
        wall_s=wall,
        own_s=wall - (_far_seconds(shop) - far0),
        virtual_s=shop.clock.monotonic() - v0,
        error=report.error,
    )


def _cold_start(shop: _Shop, app: Any) -> dict[str, Any]:
    """worker.start() and the first cycle, in which every listing is pushed."""
    shop.meter.take()
    app.worker.start()
    startup = shop.meter.take()
    before = {k: len(s.write_batch_sizes()) for k, s in shop.sims.items()}
    v0 = shop.clock.monotonic()
    with timed_engine_step() as timer:
        sample = _one_cycle(shop, app, timer)
    push_s: dict[str, float] = {}
    pushed: dict[str, int] = {}
    for key, sim in shop.sims.items():
        sizes = sim.write_batch_sizes()[before[key] :]
        pushed[key] = sum(sizes)
        last = _last_write_at(sim)
        push_s[key] = round(max(0.0, last - v0) + (PUSH_LAG if key == "rakuten" else 0.0), 1)
    return {
        "startup_requests": startup.requests,
        "cold_cycle": sample,
        "full_push_virtual_s": push_s,
        "full_push_listings": pushed,
    }


def _last_write_at(sim: Any) -> float:
    """Virtual seconds of the simulator's last stock write (its request log's stamp)."""
    for req in reversed(sim.requests):
        at = getattr(req, "at", None)
        if at is not None and req.method in ("POST", "PUT", "PATCH"):
            path = str(getattr(req, "path", ""))
            if "order" not in path.lower():
                return float((at - START).total_seconds())
    return 0.0


def run_size(opts: ScaleOptions) -> dict[str, Any]:
    """One catalogue size, end to end; the figures of one ``sizes`` entry."""
    wall0 = time.perf_counter()
    shop, app = _setup(opts)
    setup_s = time.perf_counter() - wall0
    cold = _cold_start(shop, app)
    largest_cold = shop.meter.total.largest_request
    largest_cold_op = shop.meter.total.largest_request_op
    shop.clock.advance(opts.interval)
    probes: list[_Probe] = []
    samples: list[_CycleSample] = []
    cycles = max(1, round(opts.minutes * 60 / opts.interval))
    with timed_engine_step() as timer:
        for n in range(cycles):
            _changes(shop, n, probes)
            samples.append(_one_cycle(shop, app, timer))
            _settle_probes(shop, probes)
            shop.clock.advance(opts.interval)
    return _summary(opts, shop, cold, samples, probes, largest_cold, largest_cold_op, setup_s)


def _summary(
    opts: ScaleOptions,
    shop: _Shop,
    cold: dict[str, Any],
    samples: list[_CycleSample],
    probes: list[_Probe],
    largest_cold: int,
    largest_cold_op: str,
    setup_s: float,
) -> dict[str, Any]:
    n = opts.products
    latencies = [p.latency for p in probes if p.latency is not None]
    interval_ms = opts.interval * 1000
    total = shop.meter.total
    cold_cycle: _CycleSample = cold["cold_cycle"]
    return {
        "products": n,
        "channels": list(opts.channels),
        "simulated_minutes": opts.minutes,
        "cycles": len(samples),
        "sheet_requests_per_cycle": max(s.requests for s in samples),
        "sheet_requests_per_cycle_mean": round(statistics.fmean(s.requests for s in samples), 2),
        "sheet_cells_read_per_product": round(statistics.fmean(s.cells for s in samples) / n, 2),
        "bytes_read_per_cycle": round(statistics.fmean(s.bytes_read for s in samples)),
        "largest_request_bytes": total.largest_request,
        "largest_request_op": total.largest_request_op,
        "largest_request_cold_start_bytes": largest_cold,
        "largest_request_cold_start_op": largest_cold_op,
        "largest_response_bytes": total.largest_response,
        "engine_ms": round(statistics.fmean(s.engine_s for s in samples) * 1000, 2),
        "engine_max_ms": round(max(s.engine_s for s in samples) * 1000, 2),
        "bot_cycle_ms": round(statistics.fmean(s.own_s for s in samples) * 1000, 1),
        "bot_cycle_fraction": round(
            statistics.fmean(s.own_s for s in samples) * 1000 / interval_ms, 4
        ),
        "bot_cycle_max_fraction": round(max(s.own_s for s in samples) * 1000 / interval_ms, 4),
        "cycle_wall_ms": round(statistics.fmean(s.wall_s for s in samples) * 1000, 1),
        "cycle_wall_fraction": round(
            statistics.fmean(s.wall_s for s in samples) * 1000 / interval_ms, 4
        ),
        "cycle_wall_max_fraction": round(max(s.wall_s for s in samples) * 1000 / interval_ms, 4),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "peak_rss_includes_emulator": True,
        "full_push_virtual_s": cold["full_push_virtual_s"],
        "full_push_listings": cold["full_push_listings"],
        "cold_cycle_wall_s": round(cold_cycle.wall_s, 2),
        "cold_cycle_sheet_requests": cold_cycle.requests,
        "startup_sheet_requests": cold["startup_requests"],
        "staff_edit_latency_s": round(statistics.fmean(latencies), 1) if latencies else None,
        "staff_edit_latency_max_s": round(max(latencies), 1) if latencies else None,
        "staff_edit_probes": f"{len(latencies)}/{len(probes)}",
        "cycle_errors": sum(1 for s in samples if s.error),
        "setup_wall_s": round(setup_s, 1),
    }
