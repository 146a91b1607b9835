"""The pure core: one cycle's decisions as a function of state, sheet and order lines.

``step(state, snapshot, lines, now) -> Plan`` decides new on-hand stock, log rows,
listing targets, minimal pushes, alerts and row problems. ``after_push`` folds the
malls' answers back into the state. Nothing here performs I/O, reads a clock or draws a
random number: the worker (the imperative shell) does that and hands the results in.
ARCHITECTURE.md §4 is the specification; section numbers in the modules refer to it.

Modules, along the cycle:

- ``contract``   tab keys and titles, the 入出庫 done prefix, condition families, JST;
- ``state``      ``EngineState`` (what survives between cycles) and ``Plan``;
- ``work``       the scratch record one ``step`` passes between its phases;
- ``sets``       set definitions expanded to leaf components, set stock;
- ``stock``      stocktakes of 在庫数 and 入出庫 rows;
- ``orders``     order lines reconciled against the ledger;
- ``listings``   listing targets (display rules) and minimal pushes;
- ``conditions`` alert conditions, 状態 texts, エラーログ rows;
- ``memo``       what a step hands the next so it redoes only what changed;
- ``cycle``      ``step``, the cycle itself, a short sequence of the phases above;
- ``feedback``   ``after_push`` and ``detect_drift``: what the malls answered;
- ``holds``      read-back shortfalls held as provisional sales until their orders
                 arrive or the time-out calls them drift (§4.5);
- ``rebuild``    the state rebuilt from the ledger at start-up.

Staff-facing sentences come from the ``engine`` section of ``sheets_template/words.json``.
"""

from __future__ import annotations

from bot.core.engine.contract import (
    MOVEMENT_DONE_PREFIX,
    NOTE_LIFETIME,
    SHORTFALL_TIMEOUT,
    STEP_CONDITIONS,
    STOCK_CONDITIONS,
    TAB_MOVEMENTS,
    TAB_PRODUCTS,
    TAB_SETS,
    TAB_TITLES,
)
from bot.core.engine.cycle import step
from bot.core.engine.feedback import after_outcome, after_push, detect_drift
from bot.core.engine.holds import holds_to_keep, restore_holds, stuck_units
from bot.core.engine.layered import with_changes
from bot.core.engine.rebuild import LedgerEntry, rebuild
from bot.core.engine.sets import set_stock
from bot.core.engine.state import (
    ChangedStatuses,
    ChangedTargets,
    EngineState,
    LineState,
    ListingState,
    Plan,
    committed,
    replace_conditions,
    replace_listings,
    replace_stock,
)

__all__ = [
    "MOVEMENT_DONE_PREFIX",
    "NOTE_LIFETIME",
    "SHORTFALL_TIMEOUT",
    "STEP_CONDITIONS",
    "STOCK_CONDITIONS",
    "TAB_MOVEMENTS",
    "TAB_PRODUCTS",
    "TAB_SETS",
    "TAB_TITLES",
    "ChangedStatuses",
    "ChangedTargets",
    "EngineState",
    "LedgerEntry",
    "LineState",
    "ListingState",
    "Plan",
    "after_outcome",
    "after_push",
    "committed",
    "detect_drift",
    "holds_to_keep",
    "rebuild",
    "replace_conditions",
    "replace_listings",
    "replace_stock",
    "restore_holds",
    "set_stock",
    "step",
    "stuck_units",
    "with_changes",
]
