"""One batch read of the sheet → :class:`~bot.core.domain.Snapshot` plus grid positions."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from bot.core.domain import ProductMap, Snapshot
from bot.infra.sheet.movement_ledger import read_ledger
from bot.infra.sheet.parse_products import ProductsMemo, parse_products
from bot.infra.sheet.parse_tabs import (
    MovementsPrefix,
    parse_listings,
    parse_movements,
    parse_sets,
    parse_settings,
    parse_state,
)
from bot.infra.sheet.parsing import ParseContext, SheetRead
from bot.infra.sheet.spec import load_template, registered_channels

if TYPE_CHECKING:
    from adapters.base import Channel


def parse_sheet(
    values: Mapping[str, list[list[Any]]],
    *,
    malls: Sequence[str],
    canonical: Mapping[str, Callable[[str], str]] | None = None,
    bot_stock: Mapping[str, int] | None = None,
    channels: Sequence[Channel] | None = None,
    memo: ProductsMemo | None = None,
    movements_prefix: MovementsPrefix | None = None,
) -> SheetRead:
    """Parse one batch read of the sheet into a Snapshot and grid positions.

    ``values`` is keyed by tab key (``products``, ``sets``, ...), each the tab's rows as
    returned by ``values:batchGet`` with ``valueRenderOption=FORMULA``. A tab missing
    from ``values`` was not read and is skipped (商品マスタ excepted: without it nothing
    syncs). ``channels`` are the channels the sheet knows (their code columns, 設定
    rows and names; default: every registered channel); ``malls`` are the enabled
    ones: only their code columns are read and required. ``canonical`` maps a mall to
    its adapter's code canonicaliser (may raise ValueError with a Japanese reason); for
    those malls the channel's declared ``code_problem`` checks each code before that.
    ``bot_stock`` is what the bot itself last wrote to 在庫数 per 商品コード: a
    negative equal to it is an oversell the bot recorded, not a staff typo. ``memo``
    keeps 商品マスタ's rows from one parse to the next (only changed rows are read).
    ``movements_prefix`` (an earlier read's ``SheetRead.movements_prefix``) spares
    parsing 入出庫 rows settled since (see ``parse_tabs.MovementsPrefix``).
    """
    tpl = load_template(channels)
    known = {t.key for t in tpl.tabs}
    for key in values:
        if key not in known:
            raise KeyError(f"unknown tab key {key!r}")
    ctx = ParseContext(tpl, values, malls, canonical, bot_stock)
    # A channel's code check runs where its adapter is wired (its canonicaliser given,
    # as bootstrap does for every enabled channel); a read without adapters (sheet-layer
    # tools and tests) takes codes as text, as it takes their canonical form.
    known_channels = registered_channels() if channels is None else channels
    code_checks = {
        c.key: c.code_problem
        for c in known_channels
        if c.code_problem is not None and canonical is not None and c.key in canonical
    }
    sets, set_skus = parse_sets(ctx, memo.sets if memo is not None else None)
    products = parse_products(ctx, set_skus, code_checks, memo)
    movements = parse_movements(ctx, movements_prefix)
    settings = parse_settings(ctx)
    resend = parse_listings(ctx)
    parse_state(ctx)
    for sku in ctx.invalid:
        products.pop(sku, None)
    if memo is not None and isinstance(products, ProductMap):
        memo.hand_out(products, frozenset(ctx.invalid))
    ctx.out.snapshot = Snapshot(
        products=products,
        invalid_skus=frozenset(ctx.invalid),
        sets=tuple(sets),
        movements=tuple(movements),
        movement_ledger=read_ledger(ctx.out.state, movements),
        settings=settings,
        problems=tuple(ctx.problems),
        resend=frozenset(resend),
        broken_tabs=frozenset(ctx.broken),
        held_codes=ctx.held_codes,
        mall_labels={m.key: m.label for m in tpl.malls},
    )
    return ctx.out
