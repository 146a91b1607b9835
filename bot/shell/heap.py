"""Keep CPython's cyclic garbage collector off the catalogue.

After the first cycle (the start-up read and the cold push) the bot holds the
catalogue's long-lived objects — at 100k products millions of them: the sheet's cells,
the ``Product`` rows, the engine's maps. Most live as long as the process or until
their row changes. CPython's full collection walks every one of them (~0.9 s at 100k,
``python -m bench engine``), and it comes back whenever the objects that survived since
the last one pass a quarter of that count.

:func:`settle` collects once, then moves every object alive into the permanent
generation (`gc.freeze`, https://docs.python.org/3/library/gc.html#gc.freeze): later
collections walk only what was allocated after it. A frozen object is still freed by
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


def settle() -> int:
    """Collect, then freeze what is alive; returns how many objects were frozen."""
    started = time.perf_counter()
    gc.collect()
    gc.freeze()
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
