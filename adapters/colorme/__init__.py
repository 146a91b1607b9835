"""カラーミーショップ: the adapter, its declaration and its wire helpers.

- :mod:`adapters.colorme.adapter` — :class:`ColorMeAdapter`, :class:`ColorMeConfig`, ``COLORME``
- :mod:`adapters.colorme.codes` — ``商品ID[:オプション値]`` codes, folded and checked
- :mod:`adapters.colorme.orders` — sales read as order lines
- :mod:`adapters.colorme.wire` — what an answer means, products as read
"""

from __future__ import annotations

from adapters.colorme.adapter import COLORME, ColorMeAdapter, ColorMeConfig

__all__ = ["COLORME", "ColorMeAdapter", "ColorMeConfig"]
