"""Keep CPython's cyclic garbage collector off the catalogue.

After the first cycle (the start-up read and the cold push) the bot holds the
catalogue's long-lived objects — at 100k products millions of them: the sheet's cells,
the ``Product`` rows, the engine's maps. Most live as long as the process or until
their row changes. CPython's full collection walks every one of them (~0.9 s at 100k,
``python -m bench engine``), and it comes back whenever the objects that survived since
the last one pass a quarter of that count.

:func:`settle` collects once, then moves every object alive into the permanent
generation (`gc.freeze`, https://docs.python.org/3/library/gc.html#gc.freeze): later
collections walk only what was allocated after it. The thresholds are then widened
(:data:`THRESHOLDS`) so a cycle's own short-lived allocations do not set off full
collections several times a cycle. A frozen object is still freed by
reference counting when its row is replaced; only a reference cycle among frozen
objects would stay, and the bot's catalogue objects form none.
"""

from __future__ import annotations

import gc
import logging
import time

log = logging.getLogger(__name__)

LARGE_CATALOGUE = 20_000
"""Products from which the first cycle's heap is frozen. Below, a full collection costs
a few milliseconds and freezing would only keep cyclic garbage of start-up alive."""


THRESHOLDS = (10_000, 10, 100)
"""The collector's thresholds once settled (CPython's default is 700, 10, 10).

A cycle at 100,000 products allocates a few hundred thousand containers that live until
the cycle ends (requests, answers, plans). With the default, they are walked by a
young collection every 700 allocations and promote so many objects that a full
collection of everything not frozen follows several times a cycle: 0.5–0.8 s of a
cycle's 1.2 s at 100k (``gc.callbacks`` timed in the scale run). With these, a young
collection comes every 10,000 allocations and a full one every ~10 million
(minutes apart): ~0.13 s a cycle."""


def settle() -> int:
    """Collect, freeze what is alive, widen the thresholds; returns the objects frozen."""
    started = time.perf_counter()
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
    frozen = gc.get_freeze_count()
    log.info(
        "heap settled: %d objects frozen out of later collections (%.0f ms)",
        frozen,
        (time.perf_counter() - started) * 1000,
    )
    return frozen


def settle_if_large(products: int) -> bool:
    """:func:`settle` for a catalogue of ``products`` or more; whether it is settled now."""
    if products < LARGE_CATALOGUE:
        return False
    settle()
    return True
