"""Keep CPython's cyclic garbage collector off the catalogue and out of the cycle.

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
objects would stay until the hourly collection of everything (below).

Once settled, :class:`Heap` also keeps the collector out of the cycle itself. A cycle
at 100,000 products holds a few hundred thousand containers at once (the answers'
JSON, the plan, the requests): every young collection during the cycle walks whichever
of them are alive, and they are promoted and walked again — 0.15–0.2 s of a 1 s cycle
at 100k (``gc.callbacks`` timed in the scale run), though almost none of it is garbage
a reference count does not free. So, once settled, the heap runs the collections
itself and the automatic collector stays off. Every :data:`YOUNG_EVERY` cycles one
young collection frees the cyclic garbage of the cycles since the last and what they
left alive is frozen. A usual cycle makes none (``tests/bench/test_cycle_garbage.py``):
httpx's answers used to be reference cycles holding their bodies (megabytes a cycle at
100k) until :class:`adapters.base.MallClient` unbound them, tenacity's per-call state
until :meth:`bot.infra.retry.RetryPolicy.run` reset it, and its retry predicate until
one was shared; what is left is the garbage of an error's traceback. A young
collection is not cheap all the same: it walks every container the cycles allocated
and still hold, and each cycle builds a few new catalogue-sized ones (the 商品マスタ
grid's row list, the product and listing maps, the targets) that replace the last
cycle's — ~0.4 s at 100k however many cycles passed since the last collection
(``gc.callbacks`` over a traced hour at 100k, nothing else running: 0.39 and 0.40 s):
so it comes every 20 minutes, ~5 ms a cycle averaged (~20 ms when it came every 20
cycles). Every :data:`FULL_EVERY` cycles everything is collected (frozen objects
included) and frozen again, so cyclic garbage among long-lived objects lives an hour at
most.

Objects freed after the cold start (the start-up read's answers, the first push's
requests) go back to the allocator, but glibc's malloc keeps the pages of its arenas
mapped: the process's RSS stays at the cold start's high-water mark. :func:`settle`
therefore ends with :func:`trim` — glibc's ``malloc_trim(0)``
(https://man7.org/linux/man-pages/man3/malloc_trim.3.html), which returns free pages
of every arena to the system. Where the C library has no ``malloc_trim`` (macOS, musl)
it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import cast

log = logging.getLogger(__name__)

LARGE_CATALOGUE = 20_000
"""Products from which the first cycle's heap is frozen. Below, a full collection costs
a few milliseconds and freezing would only keep cyclic garbage of start-up alive."""

FULL_EVERY = 240
"""Cycles between whole collections once settled (an hour at the 15 s default)."""

YOUNG_EVERY = 80
"""Cycles between young collections once settled (20 minutes at the 15 s default): the
cyclic garbage of this many cycles — an error's traceback, see the module doc — waits
for it."""


def settle() -> int:
    """Collect everything, then freeze what is alive; returns the objects frozen."""
    started = time.perf_counter()
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    trimmed = trim()
    log.info(
        "heap settled: %d objects frozen out of later collections, free memory %s (%.0f ms)",
        frozen,
        "returned to the system" if trimmed else "kept by the allocator",
        (time.perf_counter() - started) * 1000,
    )
    return frozen


def _malloc_trim() -> Callable[[int], int] | None:
    """The C library's ``malloc_trim`` (glibc), or None where it has none."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        fn = libc.malloc_trim
    except (OSError, AttributeError, TypeError):
        return None
    fn.argtypes = [ctypes.c_size_t]
    fn.restype = ctypes.c_int
    return cast(Callable[[int], int], fn)


_TRIM = _malloc_trim()

M_MMAP_THRESHOLD = -3
"""glibc's ``mallopt`` parameter number for the mmap threshold (``<malloc.h>``)."""

MMAP_THRESHOLD = 128 * 1024
"""Blocks from this size on get pages of their own, given back when freed (glibc's
initial default, kept fixed: see :func:`fix_mmap_threshold`)."""


def _mallopt() -> Callable[[int, int], int] | None:
    """The C library's ``mallopt`` (glibc), or None where it has none."""
    name = ctypes.util.find_library("c")
    try:
        fn = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError, TypeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_int]
    fn.restype = ctypes.c_int
    return cast(Callable[[int, int], int], fn)


_MALLOPT = _mallopt()


def fix_mmap_threshold() -> bool:
    """Keep large blocks in pages of their own; False where the C library cannot.

    glibc serves a block of 128 KiB or more from pages of its own (mmap), returned to
    the system when freed, but raises that threshold to the size of any such block
    freed, up to 32 MiB (https://man7.org/linux/man-pages/man3/mallopt.3.html,
    M_MMAP_THRESHOLD). A cycle at 100,000 products frees many blocks of megabytes (an
    answer's JSON, the catalogue-sized lists and maps it builds), so after the first
    cycle they come from the heap instead, interleaved with the small objects that
    stay (the day's 入出庫 rows and order lines): the heap cannot shrink past them and
    the process keeps the pages of the largest cycle it has had. Setting the threshold
    (to its initial default) turns that adjustment off.
    """
    if _MALLOPT is None:
        return False
    return _MALLOPT(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1


def trim() -> bool:
    """Return the allocator's free pages to the system; False where it cannot."""
    if _TRIM is None:
        return False
    _TRIM(0)
    return True


class Heap:
    """The collector around the worker's cycles (see the module's docstring)."""

    def __init__(
        self,
        large: int = LARGE_CATALOGUE,
        full_every: int = FULL_EVERY,
        young_every: int = YOUNG_EVERY,
    ) -> None:
        self.large = large
        self.full_every = full_every
        self.young_every = young_every
        self.settled = False
        self._cycles = 0

    @contextmanager
    def cycle(self) -> Iterator[None]:
        """One cycle: once settled, the collections it is due run after it."""
        if self.settled:
            gc.disable()  # the heap's own (it may have been turned back on since)
        try:
            yield
        finally:
            if self.settled:
                self._after_cycle()

    def settle_if_large(self, products: int) -> bool:
        """:func:`settle` once, for a catalogue of ``large`` products or more.

        From then on the automatic collector stays off: the heap collects after cycles,
        and large blocks keep pages of their own (:func:`fix_mmap_threshold`).
        """
        if not self.settled and products >= self.large:
            fix_mmap_threshold()
            settle()
            gc.disable()
            self.settled = True
        return self.settled

    def _after_cycle(self) -> None:
        self._cycles += 1
        if self._cycles % self.full_every == 0:
            settle()
        elif self._cycles % self.young_every == 0:
            # Everything allocated since the last freeze is young (gen 0): one collection
            # of it frees the cyclic garbage of these cycles, then what they left alive
            # is frozen.
            gc.collect(0)
            gc.freeze()
