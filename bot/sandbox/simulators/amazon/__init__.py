"""Amazon SP-API (Japan) simulator: LWA, Listings Items, Orders 2026-01-01, Feeds, Reports.

It is an httpx transport (``httpx.MockTransport(sim.handle)``) serving three hosts —
the LWA token endpoint ``api.amazon.com``, the SP-API Far East endpoint and S3 for
presigned documents — so the Amazon adapter runs exactly its production code against
``httpx.Client(transport=sim.transport, base_url="https://sellingpartnerapi-fe.amazon.com")``.
Wire facts come from ``docs/api/amazon.md`` and Amazon's published models ([SPM]); the
tests validate its answers against those models. Where the document marks a fact
UNCONFIRMED, the simulator takes it as a constructor argument.

What it models, in the order a request meets it:

1. latency (``clock.sleep``), then an injected fault (SP-API host only);
2. the gateway: a live LWA access token in ``x-amz-access-token`` (403 Unauthorized);
3. routing, then each operation's token bucket (429 QuotaExceeded, no rate header);
4. the operation: 400 ``{"errors":[...]}`` for malformed requests, INVALID inside a 200
   for a bad listing, ACCEPTED writes that go live ``push_lag`` seconds later, feeds and
   reports processed over virtual time, orders that take stock at once (Pending), FBA
   listings whose orders are fulfilled by Amazon.
"""

from __future__ import annotations

from bot.sandbox.simulators.amazon.core import AmazonSimulator, FailKind
from bot.sandbox.simulators.amazon.state import SimOrder, SimRequest

Simulator = AmazonSimulator
"""The name :func:`bot.sandbox.simulators.simulator_class` looks up."""

__all__ = ["AmazonSimulator", "FailKind", "SimOrder", "SimRequest", "Simulator"]
