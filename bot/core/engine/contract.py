"""Names the engine shares with the sheet template, and its fixed rules of time.

Tab keys are those of ``sheets_template/template.json`` as ``RowProblem.tab`` carries
them; the titles and the 入出庫 done prefix are the template's own words (a test checks
the titles against the template). Staff sentences live in ``sheets_template/words.json``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import lru_cache

TAB_PRODUCTS = "products"
TAB_SETS = "sets"
TAB_MOVEMENTS = "movements"
TAB_TITLES = {TAB_PRODUCTS: "商品マスタ", TAB_SETS: "セット構成", TAB_MOVEMENTS: "入出庫"}
"""The Japanese titles the engine puts in front of its own messages (the layout does the
same for the problems it finds)."""

MOVEMENT_DONE_PREFIX = "済"
"""A 入出庫 row whose 反映 cell starts with this is applied and never touched again
(template.json ``words.movement_done_prefix``)."""

NOTE_LIFETIME = timedelta(hours=24)
"""How long an ignored set-row edit stays visible in 状態."""

SHORTFALL_TIMEOUT = timedelta(minutes=30)
"""How long a read-back shortfall waits for its order lines before it is called drift.

A mall lowers its number the moment it sells, and the order APIs find an order from
the moment it is placed (the channel notes in docs/api/ give each one's search; the
slowest we sync by order date sees it in its first status already). The worker searches every cycle (15 s)
with a 2-minute overlap, so while the order API answers, a sale reaches the ledger
within a cycle or two — long before the next read-back (every 10 minutes) that could
see its dip. What can delay it: 503 for overload or maintenance (§4.1) and order-API
rate limits nobody has published (§6), retried with backoff; an order placed between
the fetch and the push (§4.5), seen one cycle later. The time-out is counted from the
read-back that found the dip, only runs while the mall's orders are being fetched
(a mall that is down or parked never times out), and fires at least 30 minutes after
that read-back, i.e. 30–40 minutes and 120+ fetches after the sale. The costs are
lopsided: too short, and a late order's units are shown again on every mall after
they were sold (an oversell); too long, and units a hand edit or a no-restock cancel
took off stay unsellable a little longer. Half an hour keeps the second small."""

STOCK_CONDITIONS = frozenset({"low_stock", "out_of_stock", "oversell", "backorder"})
STEP_CONDITIONS = STOCK_CONDITIONS | {"unassigned", "row"}
"""Condition prefixes that ``step`` recomputes every cycle; others (push failures,
credential warnings) are raised and cleared by whoever owns them: "push:" and "drift:"
belong to after_push / detect_drift, "short:" (a shortfall timed out) to step's holds
phase and detect_drift, "auth:" and "expiring:" to the worker."""

_JST = timezone(timedelta(hours=9), "JST")


@lru_cache(maxsize=4)
def jst(when: datetime) -> str:
    """Staff-facing time (ARCHITECTURE §9); pure formatting of a given instant.

    Kept for the last few instants: a step marks each 入出庫 row it applies with its
    ``now`` (~200 a cycle at 100k, ``python -m bench scale``; ~2.5 µs each, timeit).
    """
    return when.astimezone(_JST).strftime("%Y-%m-%d %H:%M:%S")
