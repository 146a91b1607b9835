"""GridCache's two steps apart: the plain path ``merge_window`` is compared with.

The worker reads 商品マスタ's 在庫数 and a sweep window in one read and lays both in one
call (:meth:`GridCache.merge_window`, the grid copied once). Tests that want the steps
one at a time — the 在庫数 merge alone, then the window over a fresh copy — call these.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.infra.sheet.hot import GridCache, Window
from bot.infra.sheet.tabs import PRODUCTS


def merge(cache: GridCache, header: Sequence[Any], skus: list[Any], stocks: list[Any]) -> Any:
    """商品マスタ with this read's 在庫数 laid over it; None when rows or columns moved."""
    got = cache._merged(header, skus, stocks)
    return None if got is None else got[0]


def take_window(cache: GridCache, window: Window, columns: Sequence[Sequence[Any]]) -> Any:
    """A window's rows laid over a copy of 商品マスタ as the cache last laid it."""
    return cache._window_into(list(cache.grids[PRODUCTS]), window, columns)
