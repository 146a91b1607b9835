"""Amazon.co.jp (Selling Partner API, Japan marketplace): the channel adapter.

Wire facts are in ``docs/api/amazon.md``; each class attribute cites its source. The
package is split by concern: ``adapter`` (declaration, settings, stock), ``orders``
(searchOrders pacing), ``bulk`` (feeds and the listings report), ``feeds`` (pushes
pending in a feed), ``readback`` (the read-back from reports), ``wire`` (LWA tokens,
one SP-API call, error reading). Design decisions:

- **Auth.** A Login with Amazon refresh token is exchanged for a one-hour access token,
  cached until a minute before it expires and sent as ``x-amz-access-token``; SigV4 is
  not needed since 2023-10-02. A cached token Amazon refuses is exchanged once more
  before the call counts as an AuthError. Refresh tokens of a self-authorised app do
  not expire on a schedule; the LWA client secret must be rotated every 180 days, and
  ``check`` counts down to the date staff copy into ``lwa_secret_expires_on``.
- **Push: PATCH or feed, decided by batch size.** Up to ``PATCH_MAX`` (50) listings go
  as one ``patchListingsItem`` each (``merge`` of ``fulfillment_availability`` on the
  ``DEFAULT`` channel, 5 req/s); more go as ``JSON_LISTINGS_FEED`` documents of at most
  25,000 messages. ``INVALID`` inside an HTTP 200 (or an ERROR issue in the feed's
  processing report) rejects that listing alone.
- **A feed never holds the cycle** (``feeds``). A feed takes Amazon a minute or more and
  only 5 may be created per 5 minutes, so its listings are answered ``pending`` at once
  (sent, or queued for the next free feed slot) and ``push_outcomes`` — called by the
  worker every cycle (``adapters.base.LateOutcomes``) — looks at each feed in flight
  once and reports, per listing, accepted or rejected with Amazon's words. A newer push
  of a listing still in a feed waits in the queue behind it (the older feed could
  otherwise overwrite it) and only the newest push is reported. Nothing of this
  survives a restart: the worker pushes every listing again at start-up.
- **ACCEPTED is not live.** Amazon's ACCEPTED means queued. After a PATCH the adapter
  reads back what it sent: a listing whose new quantity is live is ``applied``, the
  rest stay ``accepted``; a feed's accepted listings are ``accepted``.
- **FBA.** A listing Amazon fulfils (``fulfillmentChannelCode`` / fulfillment-channel
  ``AMAZON_JP``) is never pushed — Amazon owns that stock, and a DEFAULT quantity would
  turn it into a merchant listing. The push answers ``rejected`` with
  「FBA（Amazon 在庫）の出品なので送信しません」. Orders fulfilled by Amazon
  (``fulfilledBy: AMAZON``) and lines of SKUs known to be FBA are never reported, so
  they never lower the shop's own stock. AFN-ness is learnt per SKU from
  getListingsItem or the listings report, so a product sold both ways (one FBA SKU,
  one merchant SKU in its Amazon cell) is handled listing by listing.
- **Unknown SKUs.** Every SKU is looked up before its first push (and again after an
  hour): a 404 is ``unknown_code`` for that push alone.
- **Reads.** ``read_stock`` uses getListingsItem for up to 50 SKUs and the
  GET_MERCHANT_LISTINGS_ALL_DATA report for more (start-up, drift), never thousands of
  single reads. A report takes Amazon a minute or more, so the read-back never waits
  for one (``readback``): it asks for one every 5 minutes, looks once a cycle, and
  answers from the newest that is done, leaving out listings pushed or sold since
  shortly before it was asked for. A push's existence check waits for a report (a
  start-up's). FBA quantities are left out: they are not the shop's stock.
- **Orders.** Orders API v2026-01-01 ``searchOrders`` by ``lastUpdatedAfter`` with the
  items inline; the adapter paces itself to Amazon's 0.0056 req/s (burst 20) and
  answers from memory between searches without losing a line (see ``orders``).
  ``PENDING`` counts as sold (Amazon already took the units off the listing),
  ``CANCELLED`` (or an item's executed cancellation) reports 0 units.
"""

from __future__ import annotations

from adapters.amazon.adapter import AMAZON, AmazonAdapter, AmazonConfig

__all__ = ["AMAZON", "AmazonAdapter", "AmazonConfig"]
