"""The worker's own ``_state`` rows read back at start-up and written with each commit.

Each is JSON in one ``_state`` value; an unreadable one is logged and starts empty
(alerts re-armed, holds found again by the read-back).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import datetime

from bot.core import engine
from bot.core.engine.layered import keys_apart

log = logging.getLogger("bot.shell.worker")


def json_list(state: Mapping[str, str], key: str) -> list[str]:
    """A JSON list kept in ``_state``; empty (alerts re-armed) when unreadable."""
    try:
        return list(json.loads(state.get(key, "[]")))
    except ValueError:
        log.warning("_state %s unreadable; alerts re-armed", key)
        return []


def holds_json(state: engine.EngineState) -> str:
    """Shortfall holds for ``_state`` (§4.5): a restart keeps offering their units less."""
    held = engine.holds_to_keep(state)
    rows = [[m, c, units, since.isoformat()] for (m, c), (units, since) in held.items()]
    return json.dumps(rows, ensure_ascii=False)


def holds(state: Mapping[str, str]) -> dict[tuple[str, str], tuple[int, datetime]]:
    """The holds the last commit kept; none when unreadable (read-backs find them again)."""
    try:
        rows = json.loads(state.get("holds", "[]"))
        return {(str(m), str(c)): (int(u), datetime.fromisoformat(t)) for m, c, u, t in rows}
    except (ValueError, TypeError):
        log.warning("_state holds unreadable; shortfalls are found again by the read-back")
        return {}


def negative_stock(state: Mapping[str, str]) -> dict[str, int]:
    """Negative stocks the bot wrote (an oversell stays the truth after a restart)."""
    try:
        return {str(k): int(v) for k, v in json.loads(state.get("negative_stock", "{}")).items()}
    except (ValueError, AttributeError):
        return {}


class NegativeStocks:
    """The negative stocks of each cycle's next state, for ``_state``'s negative_stock row.

    The bot's stock (100,000 products) is written to ``_state`` with every commit, but
    only its negative entries, which a pass over every entry found (~6 ms a cycle at
    100k, py-spy of the scale run). Successive states share their stock's base
    (:func:`bot.core.engine.layered.keys_apart`): then only the keys changed on either
    layer are looked at again, and the last answer gives the rest. Any other pair
    (start-up, a step from scratch, a folded base) is walked whole.
    """

    def __init__(self) -> None:
        self._stock: Mapping[str, int] | None = None
        self._negative: dict[str, int] = {}

    def __call__(self, stock: Mapping[str, int]) -> dict[str, int]:
        """``{sku: qty for sku, qty in stock.items() if qty < 0}``."""
        apart = None if self._stock is None else keys_apart(self._stock, stock)
        if apart is None:
            found = {sku: qty for sku, qty in stock.items() if qty < 0}
        else:
            found = {sku: qty for sku, qty in self._negative.items() if sku not in apart}
            for sku in apart:
                qty = stock.get(sku)
                if qty is not None and qty < 0:
                    found[sku] = qty
        self._stock, self._negative = stock, found
        return found
