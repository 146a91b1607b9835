"""BASE (thebase.in): the adapter, its settings, and the one-time login for ``auth base``.

The package is ``thebase`` because ``adapters/base.py`` is the shared plumbing every
channel imports; the channel's key is ``base`` (``[malls.base]``, ``ZAIKO_BASE_*``,
``python -m bot auth base``).

- :mod:`adapters.thebase.adapter` — :class:`TheBaseAdapter`, :class:`TheBaseConfig`, ``THEBASE``
- :mod:`adapters.thebase.auth` — OAuth 2.0 login and the refreshing token session
- :mod:`adapters.thebase.orders` — order list + detail, the paced cancel-window rescan
- :mod:`adapters.thebase.wire` — codes, error bodies, the hourly/daily budget, one request
"""

from __future__ import annotations

from adapters.thebase.adapter import THEBASE, TheBaseAdapter, TheBaseConfig
from adapters.thebase.auth import TheBaseAuthorization

__all__ = ["THEBASE", "TheBaseAdapter", "TheBaseAuthorization", "TheBaseConfig"]
