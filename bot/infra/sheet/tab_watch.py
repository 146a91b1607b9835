"""Tabs deleted or renamed while the worker runs.

The gateway reads tabs by title and writes them by sheetId, both cached at start-up. A
tab staff delete or rename makes the cycle's batchGet fail (400 "Unable to parse
range"), or a batchUpdate name a sheetId that is gone. Then one metadata read tells
which tabs are there, and:

- a tab the bot owns (the log tabs, 出品状況, _state) is created again, empty, from the
  template, and the next commit notes it in エラーログ; a new 販売ログ gets back the
  ledger the worker holds in memory (one row per order line), so a later restart does
  not count the orders of the cancel window again;
- a staff tab (入出庫, セット構成, 設定, and 商品マスタ) is never created by the bot: the
  cycle goes on without it where that is safe and says so once, naming the tab (a row
  problem: 状態 stays as it is, エラーログ gets one row, Slack one message). Without
  入出庫, movements wait and everything else syncs. Without セット構成 or 設定, the
  last read of the tab this process made keeps being used (staff cannot change it
  meanwhile); with no such read (a restart), orders wait (セット構成: a set sale cannot be
  told from a product sale) or pushes stop (設定: its defaults are not safe), as for a
  tab whose headers are broken. Without 商品マスタ nothing is applied or pushed.

While a staff tab is missing, each cycle starts with one metadata read to see whether
it is back (renamed back, or re-created by init-sheet); the cycle then reads it again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.core.domain import ErrorLogRow, RowProblem, SaleKind, SaleLogRow
from bot.core.engine import Plan
from bot.core.words import say
from bot.infra.sheet.spec import Template
from bot.infra.sheet.tabs import MOVEMENTS, PRODUCTS, SALES_LOG, SETS, SETTINGS

STAFF_TABS = (PRODUCTS, SETS, MOVEMENTS, SETTINGS)
"""Tabs staff own: the bot never creates them while it runs."""
KEPT_TABS = (SETS, SETTINGS)
"""Staff tabs whose last read keeps being used while they are missing."""


@dataclass
class TabWatch:
    """Which template tabs are missing, and what the bot still knows of them."""

    missing: set[str] = field(default_factory=set)
    """Staff tab keys not on the sheet at the last look."""
    last_good: dict[str, list[list[Any]]] = field(default_factory=dict)
    """The last read of each kept tab, used while it is missing."""
    recreated: dict[str, str] = field(default_factory=dict)
    """Bot tabs created again (key → title), for the next commit's エラーログ rows."""

    def scan(self, metadata: Mapping[str, Any], tpl: Template) -> tuple[dict[str, int], list[str]]:
        """Template tab key → sheetId of the tabs present; keys of absent bot tabs.

        Updates :attr:`missing` with the absent staff tabs.
        """
        ids: dict[str, int] = {}
        for sheet in metadata.get("sheets") or []:
            props = sheet.get("properties", {})
            for tab in tpl.tabs:
                if props.get("title") == tab.title:
                    ids[tab.key] = int(props.get("sheetId", 0))
        absent = [tab.key for tab in tpl.tabs if tab.key not in ids]
        self.missing = {k for k in absent if k in STAFF_TABS}
        return ids, [k for k in absent if k not in STAFF_TABS]

    def remember(self, values: Mapping[str, list[list[Any]]]) -> None:
        """Keep the latest read of the kept tabs."""
        for key in KEPT_TABS:
            if key in values and key not in self.missing:
                self.last_good[key] = values[key]

    def fill(self, values: Mapping[str, list[list[Any]]]) -> dict[str, list[list[Any]]]:
        """``values`` plus the last read of each missing kept tab."""
        out = dict(values)
        for key in KEPT_TABS:
            if key in self.missing and key in self.last_good:
                out[key] = self.last_good[key]
        return out

    def problems(self, tpl: Template) -> tuple[list[RowProblem], set[str]]:
        """One problem per missing staff tab, and the tabs that count as broken.

        商品マスタ's problem is the parse's own; a kept tab never read is broken.
        """
        problems: list[RowProblem] = []
        broken: set[str] = set()
        for key in STAFF_TABS:
            if key not in self.missing or key == PRODUCTS:
                continue
            title = tpl.tab(key).title
            if key == MOVEMENTS:
                effect = say("sheet.missing_movements")
            elif key == SETS:
                kept = key in self.last_good
                effect = say("sheet.missing_sets_kept" if kept else "sheet.missing_sets_held")
            else:
                kept = key in self.last_good
                effect = say(
                    "sheet.missing_settings_kept" if kept else "sheet.missing_settings_held"
                )
            if key in KEPT_TABS and key not in self.last_good:
                broken.add(key)
            message = say("sheet.staff_tab_missing", title=title, effect=effect)
            # The tab's title as RowProblem.tab: エラーログ's 発生箇所 shows it as it is.
            problems.append(RowProblem(tab=title, row=1, message=message))
        return problems, broken

    def log_rows(self, now: datetime) -> list[ErrorLogRow]:
        """エラーログ rows for the bot tabs created again since the last commit."""
        return [
            ErrorLogRow(
                at=now,
                where=title,
                message=say("sheet.bot_tab_recreated", title=title),
                detail=say("sheet.bot_tab_recreated_detail", title=title),
            )
            for title in self.recreated.values()
        ]

    def restored_sales(self, plan: Plan) -> list[SaleLogRow]:
        """販売ログ rows putting back the ledger the worker holds, if 販売ログ was re-created.

        販売ログ is the idempotency ledger (§4.2): without its rows a restart would apply
        every order of the cancel window again. The worker still knows each line's
        applied units, so the new tab gets one row per line (数量 0: no stock change
        now; a waiting line keeps its wanted units), before this cycle's own rows.
        """
        if SALES_LOG not in self.recreated:
            return []
        rows = []
        for key, ls in plan.next_state.lines.items():
            rows.append(
                SaleLogRow(
                    at=ls.seen_at or plan.now,
                    mall=ls.mall,
                    order_id=ls.order_id,
                    line_id=ls.line_id,
                    kind=ls.pending or SaleKind.SALE,
                    code=ls.code,
                    sku=ls.sku or "",
                    qty=ls.applied - ls.reported if ls.pending else 0,
                    before=None,
                    after=None,
                    key=key,
                    applied=ls.applied,
                )
            )
        return rows


def missing_titles(tpl: Template, keys: Sequence[str]) -> str:
    """Japanese titles of tab keys, for a message."""
    return "、".join(tpl.tab(k).title for k in keys)
