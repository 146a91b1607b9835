"""Names the engine shares with the sheet template, and its fixed rules of time.

Tab keys are those of ``sheets_template/template.json`` as ``RowProblem.tab`` carries
them; the titles and the 入出庫 done prefix are the template's own words (a test checks
the titles against the template). Staff sentences live in ``sheets_template/words.json``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

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

STOCK_CONDITIONS = frozenset({"low_stock", "out_of_stock", "oversell", "backorder"})
STEP_CONDITIONS = STOCK_CONDITIONS | {"unassigned", "row"}
"""Condition prefixes that ``step`` recomputes every cycle; others (push failures,
credential warnings) are raised and cleared by whoever owns them: "push:" and "drift:"
belong to after_push / detect_drift, "auth:" and "expiring:" to the worker."""

_JST = timezone(timedelta(hours=9), "JST")


def jst(when: datetime) -> str:
    """Staff-facing time (ARCHITECTURE §9); pure formatting of a given instant."""
    return when.astimezone(_JST).strftime("%Y-%m-%d %H:%M:%S")
