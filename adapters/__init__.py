"""Mall adapters and the explicit registry of them.

A mall is added by one line here (plus its module, simulator and tests); nothing is
discovered by file or class name, so a misnamed module cannot be skipped silently.
"""

from __future__ import annotations

from adapters.base import MallAdapter
from adapters.rakuten import RakutenAdapter

ADAPTERS: dict[str, type[MallAdapter]] = {
    RakutenAdapter.name: RakutenAdapter,
}

__all__ = ["ADAPTERS"]
