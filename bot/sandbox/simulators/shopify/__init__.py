"""Shopify simulator (Admin GraphQL API); see :mod:`.core` for what a request meets."""

from __future__ import annotations

from bot.sandbox.simulators.shopify.core import FailKind, ShopifySimulator
from bot.sandbox.simulators.shopify.world import (
    STABLE_VERSIONS,
    SimOrder,
    SimRequest,
    Unconfirmed,
)

Simulator = ShopifySimulator
"""The name :func:`bot.sandbox.simulators.simulator_class` looks up."""

__all__ = [
    "STABLE_VERSIONS",
    "FailKind",
    "ShopifySimulator",
    "SimOrder",
    "SimRequest",
    "Simulator",
    "Unconfirmed",
]
