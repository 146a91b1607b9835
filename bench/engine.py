"""engine — ``bot.core.engine.step`` alone, as the catalogue grows (issue 10 item 3).

``python -m bench engine --products 100000`` builds a Snapshot of N products in memory
(every 50th a set of two single products, one 楽天 code each and a Yahoo! code on every
second product, stock 5–50), then times:

1. a **cold** step: a fresh state (start-up), the sheet taken as the truth, every
   listing pushed;
2. the **first** step after it (every listing's knowledge changed with the cold
   push's results, so every product's push is looked at again), then
3. **steady** steps: before each, 1 % of the products change — 50 % an order line on
   one of the product's codes (set products always orders), 30 % a staff 在庫数 edit,
   20 % an 入出庫 row (the first step after the cold one has these changes too).
   Between steps the harness does what the worker and the sheet do:
   the state is committed, every push answered ``applied`` (``after_push``), the
   在庫数 the plan wrote and the 反映 marks land on the sheet, and the order lines of
   the last 8 cycles are reported again (the order fetch's overlap).

The sheet is modelled as the sheet layer parses it: a row that did not change keeps its
``Product`` object; a row whose cells changed (a staff edit, a 在庫数 the bot wrote) is
a new one; ``Snapshot.products`` is a new dict every cycle. ``--fresh-objects`` builds
every ``Product`` anew each cycle instead (what a parser that reuses nothing gives).

No production code is changed; nothing here reads a sheet or a mall.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.core import engine
from bot.core.domain import (
    MallSettings,
    Movement,
    OrderLine,
    Product,
    PushResult,
    PushStatus,
    SetComponent,
    ShopSettings,
    Snapshot,
    StockPush,
)

START = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
MALLS = ("rakuten", "yahoo")
LABELS = {"rakuten": "楽天", "yahoo": "Yahoo!ショッピング"}
OVERLAP = 8
"""Cycles an order line is reported again (the fetch's 2-minute overlap at 15 s)."""


@dataclass
class EngineOptions:
    """One engine run."""

    products: int
    cycles: int = 20
    seed: int = 1
    change_rate: float = 0.01
    set_share: float = 0.02
    interval: float = 15.0
    fresh_objects: bool = False


@dataclass
class _Sheet:
    """What the harness keeps of the sheet and the malls between steps."""

    products: dict[str, Product]
    sets: tuple[SetComponent, ...]
    settings: ShopSettings
    singles: list[str]
    set_skus: set[str]
    movements: list[Movement] = field(default_factory=list)
    ledger: list[Movement] = field(default_factory=list)
    recent_lines: list[list[OrderLine]] = field(default_factory=list)
    order_no: int = 0
    move_no: int = 0


def _catalogue(opts: EngineOptions, rng: random.Random) -> _Sheet:
    every = max(1, round(1 / opts.set_share)) if opts.set_share > 0 else 0
    products: dict[str, Product] = {}
    singles: list[str] = []
    set_skus: list[str] = []
    for i in range(opts.products):
        sku = f"P{i:06d}"
        is_set = bool(every) and i % every == every - 1
        codes: dict[str, tuple[str, ...]] = {"rakuten": (f"p{i:06d}:v",)}
        if i % 2 == 0:
            codes["yahoo"] = (f"y{i:06d}",)
        products[sku] = Product(
            sku=sku,
            name=f"{'セット' if is_set else '商品'} {sku}",
            stock=0 if is_set else rng.randint(5, 50),
            codes=codes,
            row=i + 2,
        )
        (set_skus if is_set else singles).append(sku)
    sets: list[SetComponent] = []
    for sku in set_skus:
        for comp in rng.sample(singles, 2):
            sets.append(
                SetComponent(set_sku=sku, component_sku=comp, qty=rng.choice((1, 2)), row=0)
            )
    sets = [c.model_copy(update={"row": n + 2}) for n, c in enumerate(sets)]
    settings = ShopSettings(malls={m: MallSettings() for m in MALLS})
    return _Sheet(products, tuple(sets), settings, singles, set(set_skus))


def _snapshot(sheet: _Sheet, fresh_objects: bool) -> Snapshot:
    if fresh_objects:
        products = {s: replace(p) for s, p in sheet.products.items()}
    else:
        products = dict(sheet.products)
    return Snapshot(
        products=products,
        sets=sheet.sets,
        movements=tuple(sheet.movements),
        movement_ledger=tuple(sheet.ledger),
        settings=sheet.settings,
        mall_labels=LABELS,
    )


def _changes(sheet: _Sheet, opts: EngineOptions, rng: random.Random, now: datetime) -> None:
    """1 % of the products change: orders, staff 在庫数 edits, 入出庫 rows."""
    count = max(1, round(opts.products * opts.change_rate))
    chosen = rng.sample(range(opts.products), min(count, opts.products))
    kinds = rng.choices(("order", "edit", "movement"), (0.5, 0.3, 0.2), k=len(chosen))
    lines: list[OrderLine] = []
    for i, kind in zip(chosen, kinds, strict=True):
        sku = f"P{i:06d}"
        product = sheet.products[sku]
        if kind == "order" or sku in sheet.set_skus:
            mall = rng.choice(sorted(product.codes))
            sheet.order_no += 1
            lines.append(
                OrderLine(
                    mall=mall,
                    order_id=f"o{sheet.order_no}",
                    line_id="1",
                    code=product.codes[mall][0],
                    units=1,
                    ordered_at=now,
                )
            )
        elif kind == "edit":
            sheet.products[sku] = replace(product, stock=rng.randint(0, 60))
        else:
            sheet.move_no += 1
            qty = rng.choice((5, 10, -1))
            sheet.movements.append(
                Movement(
                    key=f"mv{sheet.move_no}-0",
                    sku=sku,
                    qty=qty,
                    kind="入荷",
                    memo="bench",
                    row=len(sheet.movements) + 2,
                    fingerprint=f"mv{sheet.move_no}",
                )
            )
    sheet.recent_lines = [*sheet.recent_lines[-(OVERLAP - 1) :], lines]


def _lines(sheet: _Sheet) -> list[OrderLine]:
    return [line for batch in sheet.recent_lines for line in batch]


def _land(sheet: _Sheet, plan: engine.Plan) -> None:
    """The commit lands: 在庫数 the plan wrote, 反映 marks and their ledger entries."""
    for sku, value in plan.stock.items():
        sheet.products[sku] = replace(sheet.products[sku], stock=value)
    if not plan.movement_marks:
        return
    rows: list[Movement] = []
    for mv in sheet.movements:
        mark = plan.movement_marks.get(mv.key)
        if mark and "#" in mark and not mv.done:
            ident = mark.rsplit("#", 1)[1]
            at = mark.split("#")[0].removeprefix(engine.MOVEMENT_DONE_PREFIX).strip()
            sheet.ledger.append(replace(mv, key=ident, at=at, row=0))
            mv = replace(mv, done=True, ident=ident)
        rows.append(mv)
    sheet.movements = rows


def _answered(state: engine.EngineState, plan: engine.Plan, now: datetime) -> engine.EngineState:
    """Every push applied, mall by mall, as the worker folds results in."""
    by_mall: dict[str, list[StockPush]] = {}
    for push in plan.pushes:
        by_mall.setdefault(push.mall, []).append(push)
    for pushes in by_mall.values():
        results = [
            PushResult(code=p.code, status=PushStatus.APPLIED, quantity=p.quantity) for p in pushes
        ]
        state, _logs, _alerts = engine.after_push(state, pushes, results, now, labels=LABELS)
    return state


def run(opts: EngineOptions, profile: Any = None) -> dict[str, Any]:
    """Time one cold step and ``opts.cycles`` steady steps; returns the figures.

    ``profile`` (a ``cProfile.Profile``) is enabled around the steady steps only.
    """
    rng = random.Random(opts.seed * 1_000_003 + opts.products)
    built = time.perf_counter()
    sheet = _catalogue(opts, rng)
    setup_s = time.perf_counter() - built
    state = engine.EngineState()
    now = START
    timings: list[float] = []
    changed: list[int] = []
    pushes: list[int] = []
    for n in range(opts.cycles + 1):
        if n:
            now += timedelta(seconds=opts.interval)
            _changes(sheet, opts, rng, now)
        snapshot = _snapshot(sheet, opts.fresh_objects)
        lines = _lines(sheet)
        if profile is not None and n:
            profile.enable()
        started = time.perf_counter()
        plan = engine.step(state, snapshot, lines, now)
        timings.append(time.perf_counter() - started)
        if profile is not None and n:
            profile.disable()
        changed.append(len(plan.stock))
        pushes.append(len(plan.pushes))
        state = _answered(engine.committed(plan), plan, now)
        _land(sheet, plan)
    steady = timings[2:] or [0.0]
    return {
        "products": opts.products,
        "listings": sum(len(c) for p in sheet.products.values() for c in p.codes.values()),
        "cycles": opts.cycles,
        "fresh_objects": opts.fresh_objects,
        "cold_ms": round(timings[0] * 1000, 2),
        "first_ms": round(timings[1] * 1000, 2) if len(timings) > 1 else 0.0,
        "steady_mean_ms": round(statistics.fmean(steady) * 1000, 2),
        "steady_median_ms": round(statistics.median(steady) * 1000, 2),
        "steady_max_ms": round(max(steady) * 1000, 2),
        "cold_pushes": pushes[0],
        "steady_pushes_mean": round(statistics.fmean(pushes[2:] or [0]), 1),
        "steady_stock_writes_mean": round(statistics.fmean(changed[2:] or [0]), 1),
        "setup_s": round(setup_s, 2),
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench engine")
    parser.add_argument(
        "--products",
        type=lambda t: [int(p.replace("_", "").replace("k", "000")) for p in t.split(",") if p],
        default=[10_000, 100_000],
        help="comma-separated product counts (default 10000,100000)",
    )
    parser.add_argument(
        "--cycles", type=int, default=20, help="steps after the cold one (the first reported apart)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--change", type=float, default=0.01, help="share changing per cycle")
    parser.add_argument(
        "--fresh-objects", action="store_true", help="every Product built anew each cycle"
    )
    parser.add_argument("--profile", action="store_true", help="cProfile the run (stderr)")
    parser.add_argument("--json", action="store_true", help="one JSON object instead of lines")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    results = []
    for n in args.products:
        opts = EngineOptions(
            products=n,
            cycles=args.cycles,
            seed=args.seed,
            change_rate=args.change,
            fresh_objects=args.fresh_objects,
        )
        if args.profile:
            results.append(_profiled(opts))
        else:
            results.append(run(opts))
        if not args.json:
            r = results[-1]
            print(
                f"{r['products']:>7,} products ({r['listings']:,} listings): "
                f"cold {r['cold_ms']:.1f} ms, first after it {r['first_ms']:.1f} ms; "
                f"steady mean {r['steady_mean_ms']:.1f} ms, median {r['steady_median_ms']:.1f} "
                f"ms, max {r['steady_max_ms']:.1f} ms over {max(r['cycles'] - 1, 0)} steps"
                + (" (fresh objects)" if r["fresh_objects"] else "")
            )
    if args.json:
        print(json.dumps({"benchmark": "engine", "sizes": results}, ensure_ascii=False))
    return 0


def _profiled(opts: EngineOptions) -> dict[str, Any]:
    import cProfile
    import pstats
    import sys

    profile = cProfile.Profile()
    result = run(opts, profile)
    stats = pstats.Stats(profile, stream=sys.stderr)
    stats.sort_stats("tottime").print_stats(40)
    return result
