"""Which path prefix of the sandbox stands for which real host.

Every channel's hosts are read from its own declaration: each ``[malls.<key>]`` setting
whose default is a URL (``base_url``, Yahoo's ``auth_base_url``, Amazon's ``token_url``)
gets a prefix — ``/<key>`` for ``base_url``, ``/<key>-<name>`` for the others — and the
sandbox's zaiko.toml points that setting at it. Two hosts are not settings and are
listed here: Shopify's (``https://<shop>``, derived from ``shop``) and the host of
Amazon's pre-signed document URLs (the simulator hands those out in its answers; the
bridge rewrites them to ``/amazon-documents``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from adapters import ADAPTERS
from bot.sandbox.simulators import SimulatedChannel
from bot.sandbox.simulators.amazon.state import S3_HOST

SHEETS_PREFIX = "sheets"
TOKEN_PREFIX = "google"
TOKEN_PATH = "/token"
CONTROL_PREFIX = "_sandbox"
SHEETS_ORIGIN = "https://sheets.googleapis.com"

EXTRA_ORIGINS: dict[str, dict[str, str]] = {"amazon": {"documents": f"https://{S3_HOST}"}}
"""Hosts a channel's simulator serves that no setting names (prefix suffix → origin)."""

Kind = Literal["sheets", "token", "channel"]


@dataclass(frozen=True)
class Route:
    """One prefix: what answers it, and for a channel which setting points at it."""

    prefix: str
    kind: Kind
    origin: str = ""
    """The real origin (``https://host``) the handler expects in its URLs."""
    channel: str = ""
    setting: str = ""
    """The ``[malls.<key>]`` field the sandbox's zaiko.toml points here ('' for none)."""
    path: str = ""
    """The path part of that setting's real value (``/auth/o2/token``)."""


def channel_routes(key: str, sim: SimulatedChannel) -> list[Route]:
    """Every host channel ``key``'s simulator answers, as sandbox routes."""
    routes: list[Route] = []
    for name, info in ADAPTERS[key].Config.model_fields.items():
        default = info.default
        if name == "base_url" and not default and "shop" in sim.config():
            default = f"https://{sim.config()['shop']}"  # Shopify: https://<shop>
        if not isinstance(default, str) or not default.startswith(("https://", "http://")):
            continue
        parts = urlsplit(default)
        suffix = name.removesuffix("_url").removesuffix("_base")
        prefix = key if name == "base_url" else f"{key}-{suffix}"
        origin = f"{parts.scheme}://{parts.netloc}"
        routes.append(Route(prefix, "channel", origin, key, name, parts.path.rstrip("/")))
    for suffix, origin in EXTRA_ORIGINS.get(key, {}).items():
        routes.append(Route(f"{key}-{suffix}", "channel", origin, key))
    return routes


def all_routes(sims: dict[str, SimulatedChannel]) -> dict[str, Route]:
    """Prefix → route: the Sheets API, Google's token endpoint and every channel's hosts."""
    routes = [
        Route(SHEETS_PREFIX, "sheets", SHEETS_ORIGIN),
        Route(TOKEN_PREFIX, "token"),
    ]
    for key, sim in sims.items():
        routes += channel_routes(key, sim)
    return {route.prefix: route for route in routes}
