"""A usual cycle leaves no cyclic garbage: reference counting frees all it drops.

That is what lets a large shop's worker run the cyclic collector rarely
(:mod:`bot.shell.heap`): garbage in a reference cycle waits for the next collection, and
an answer's body held by one would stay in memory until then. Two sources were found
this way and mended: httpx binding each answer's stream to the answer
(:class:`adapters.base.MallClient`) and a tenacity predicate built per call
(``bot.infra.retry``). The benchmark's harness calls the sandbox's control API from the
bot's process, so it is held to the same rule. Nothing here is timed.
"""

from __future__ import annotations

import collections
import gc

from bench.scale import Probe, ScaleOptions, cold_start, make_harness, one_cycle
from bench.taps import timed_engine_step


def test_usual_cycles_with_orders_edits_and_movements_leave_no_cyclic_garbage() -> None:
    opts = ScaleOptions(products=200, minutes=2)
    harness = make_harness(opts)
    try:
        harness.fill()
        app = harness.build_app()
        cold_start(harness, app)
        probes: list[Probe] = []
        with timed_engine_step() as timer:
            harness.clock.advance(opts.interval)
            harness.changes(0, probes)
            one_cycle(harness, app, timer)  # the first usual cycle builds what stays
            harness.clock.advance(opts.interval)
            gc.collect()
            gc.garbage.clear()
            gc.set_debug(gc.DEBUG_SAVEALL)
            try:
                reports = []
                for n in range(1, 4):
                    harness.changes(n, probes)
                    reports.append(one_cycle(harness, app, timer)[1])
                    harness.clock.advance(opts.interval)
                gc.collect()
                kinds = collections.Counter(
                    f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.garbage
                )
            finally:
                gc.set_debug(0)
                gc.garbage.clear()
    finally:
        harness.finish()

    assert [r.error for r in reports] == ["", "", ""]
    assert sum(r.pushes.get("rakuten", 0) for r in reports) > 0  # the cycles did work
    assert not kinds, kinds.most_common(20)
