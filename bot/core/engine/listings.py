"""Listing targets (display rules, §4.4) and the minimal pushes that reach them (§4.6)."""

from __future__ import annotations

from collections.abc import Mapping

from bot.core import words
from bot.core.domain import ListingTarget, Product, PushReason, Snapshot, StockPush
from bot.core.engine.contract import TAB_TITLES
from bot.core.engine.state import EngineState, ListingState

_OTHER_TABS = {"settings": "設定"}
"""Titles of tabs the engine only meets as broken (staff words; the template's titles)."""


def targets(
    state: EngineState,
    snapshot: Snapshot,
    usable: Mapping[str, Product],
    stock: Mapping[str, int],
) -> tuple[list[ListingTarget], list[StockPush]]:
    """What every listing should show, and the pushes of those the mall may not show yet."""
    settings = snapshot.settings
    targets: list[ListingTarget] = []
    pushes: list[StockPush] = []
    for sku in sorted(usable):
        product = usable[sku]
        on_hand = stock.get(sku, product.stock)
        for mall in sorted(product.codes):
            mall_settings = settings.mall(mall)
            rule = product.rule if product.rule is not None else mall_settings.default_rule
            quantity = rule.display(on_hand)
            backorder = product.backorder and on_hand <= 0
            # 連動停止, 在庫連動 OFF, the mall's 在庫更新 OFF or a broken tab: the
            # listing keeps whatever it shows; 出品状況 says why (§3, reason stopped).
            why = _stopped_why(snapshot, product, mall)
            stopped = bool(why)
            for code in product.codes[mall]:
                target = ListingTarget(
                    mall=mall,
                    code=code,
                    sku=sku,
                    quantity=0 if backorder else quantity,
                    reason=PushReason.STOPPED if stopped else PushReason.RULE,
                    backorder=backorder,
                    why=why,
                )
                targets.append(target)
                push = None if stopped else _push(state, snapshot, product, target)
                if push is not None:
                    pushes.append(push)
    return targets, pushes


def _stopped_why(snapshot: Snapshot, product: Product, mall: str) -> str:
    """What keeps a listing from being pushed, in staff's words ("" when nothing does)."""
    settings = snapshot.settings
    if snapshot.broken_tabs:
        titles = sorted(TAB_TITLES.get(t) or _OTHER_TABS.get(t, t) for t in snapshot.broken_tabs)
        return words.say("engine.stopped_tab", tabs="』『".join(titles))
    if not settings.sync_enabled:
        return words.say("engine.stopped_shop")
    if not settings.mall(mall).push_stock:
        label = snapshot.mall_labels.get(mall, mall)
        return words.say("engine.stopped_mall", mall=label)
    if not product.sync:
        return words.say("engine.stopped_product")
    return ""


def _push(
    state: EngineState, snapshot: Snapshot, product: Product, target: ListingTarget
) -> StockPush | None:
    """The push a listing needs: on start-up, on 再送, or when its target changed.

    A target the mall refused is not re-sent until it changes (or 再送).
    """
    key = (target.mall, target.code)
    listing = state.listings.get(key, ListingState())
    changed = (
        listing.expected != target.quantity
        or (listing.backorder is not None and listing.backorder != target.backorder)
    ) and listing.failed != target.quantity
    if not (state.fresh or key in snapshot.resend or changed):
        return None
    return StockPush(
        mall=target.mall,
        code=target.code,
        quantity=target.quantity,
        backorder=target.backorder if (product.backorder or listing.backorder) else None,
        reason=target.reason,
        sku=target.sku,
    )
