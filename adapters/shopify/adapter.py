"""The Shopify adapter: stock by compare-and-set, orders by ``updated_at``.

The design is in the package docstring (``adapters/shopify/__init__.py``); wire facts
are in ``docs/api/shopify.md`` and beside each class attribute.
"""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

import httpx

from adapters.base import (
    AuthError,
    BuildContext,
    Channel,
    ChannelConfig,
    MallError,
    Stopped,
    TransientError,
    describe_settings,
    screen_pushes,
)
from adapters.shopify.catalog import Catalog, ReadQueue, Variant
from adapters.shopify.config import DEFAULT_API_VERSION, SHOPIFY, ShopifyConfig
from adapters.shopify.orders import OrderReader
from adapters.shopify.stock import Ledger
from adapters.shopify.wire import AdminApi, field_index, user_errors
from bot.core.domain import CheckResult, OrderLine, PushResult, PushStatus, StockPush
from bot.infra.clock import Clock

SHOP_QUERY = "query ZaikoShop { shop { name myshopifyDomain } }"

SET_MUTATION = """
mutation ZaikoSetStock($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input){directive} {
    inventoryAdjustmentGroup { id }
    userErrors { code field message }
  }
}
"""


@dataclass
class _Job:
    """One listing on its way to Shopify."""

    index: int
    sku: str
    item_id: str
    wanted: int
    compare: int
    rounds: int = 0


class ShopifyAdapter:
    """Shopify via the Admin GraphQL API, one location, SKU codes."""

    name: ClassVar[str] = "shopify"
    channel: ClassVar[Channel] = SHOPIFY
    Config: ClassVar[type[ChannelConfig]] = ShopifyConfig
    secret_fields: ClassVar[tuple[str, ...]] = ("access_token",)

    # §1.4 [S5][S6] https://shopify.dev/changelog/compare-and-swap-redesign-for-inventory-set-quantities
    # From 2026-01 the compare field is changeFromQuantity and @idempotent exists; from
    # 2026-04 both are mandatory and compareQuantity is gone. Before 2026-01 the compare
    # field is compareQuantity and the directive does not exist.
    CHANGE_FROM_SINCE: ClassVar[str] = "2026-01"
    QUANTITY_NAME: ClassVar[str] = "available"
    # "correction" is the safe general reason (§1.4; the full list is UNCONFIRMED).
    REASON: ClassVar[str] = "correction"
    # Input arrays take at most 250 items (§1.1 [S2] https://shopify.dev/api/usage/limits).
    MAX_QUANTITIES: ClassVar[int] = 250
    # INVALID_QUANTITY_TOO_HIGH: "can't be higher than 1,000,000,000"
    # https://shopify.dev/docs/api/admin-graphql/2026-01/enums/InventorySetQuantitiesUserErrorCode
    MAX_QUANTITY: ClassVar[int] = 1_000_000_000
    STALE_CODES: ClassVar[frozenset[str]] = frozenset(
        {"CHANGE_FROM_QUANTITY_STALE", "COMPARE_QUANTITY_STALE"}
    )
    RETRY_CODES: ClassVar[frozenset[str]] = frozenset(
        {"IDEMPOTENCY_CONCURRENT_REQUEST", "IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED"}
    )
    # Ours: a listing whose number keeps moving under the push is left to the next cycle.
    MAX_STALE_ROUNDS: ClassVar[int] = 3
    # Cost of one set mutation: 10 points per mutation (§1.7 [S8]).
    SET_COST: ClassVar[float] = 10.0
    SHOP_COST: ClassVar[float] = 1.0
    # Ours: what a read-back leaves in the bucket for the pushes of the same cycle —
    # one SKU search (a pushed SKU not looked up in the last hour) and four mutations
    # (1,000 quantities: the 1 % of a 100k shop that changes in a cycle).
    READ_RESERVE: ClassVar[float] = Catalog.SEARCH_COST + 4 * SET_COST

    def __init__(
        self,
        client: httpx.Client,
        *,
        shop_url: str,
        access_token: str,
        clock: Clock,
        api_version: str = DEFAULT_API_VERSION,
        location: str = "",
        restocks_on_cancel: bool = True,
        stop: threading.Event | None = None,
        rng: random.Random | None = None,
        max_tries: int = 5,
        max_total_wait: float = 60.0,
    ) -> None:
        self._clock = clock
        self._rng = rng if rng is not None else random.Random()
        self.api_version = api_version
        self.shop_url = shop_url
        self._api = AdminApi(
            client,
            shop_url=shop_url,
            version=api_version,
            token=access_token,
            clock=clock,
            stop=stop,
            rng=self._rng,
            max_tries=max_tries,
            max_total_wait=max_total_wait,
        )
        self._catalog = Catalog(self._api, location=location, clock=clock)
        self._orders = OrderReader(self._api, mall=self.name, restocks_on_cancel=restocks_on_cancel)
        self.ledger = Ledger(clock)
        self.unread = ReadQueue()
        """SKUs the read-back was asked for and could not afford yet (:meth:`read_stock`)."""

    @classmethod
    def from_config(
        cls, config: ShopifyConfig, client: httpx.Client, context: BuildContext
    ) -> ShopifyAdapter:
        """The adapter ``run`` uses: the token from the environment, waits on the stop event."""
        return cls(
            client,
            shop_url=config.shop_url(),
            access_token=config.secret("access_token"),
            clock=context.clock,
            api_version=config.api_version,
            location=config.location,
            restocks_on_cancel=config.restocks_on_cancel,
            stop=context.stop,
        )

    def describe(self) -> dict[str, str]:
        """Settings for logs and 接続テスト (the token masked)."""
        return describe_settings(
            {"mall": self.name, "shop": self.shop_url, "api_version": self.api_version},
            self.secret_fields,
        )

    @property
    def calls(self) -> int:
        """GraphQL requests made so far (each retry not counted)."""
        return self._api.calls

    @staticmethod
    def canonical_code(code: str) -> str:
        """The SKU as typed, trimmed: Shopify compares SKUs exactly."""
        return code.strip()

    # ------------------------------------------------------------------ check

    def check(self) -> CheckResult:
        """接続テスト: the shop's name and the location the bot owns (two cheap reads)."""
        try:
            self._require_shop()
            shop = self._api.call(SHOP_QUERY, {}, cost=self.SHOP_COST).get("shop") or {}
            _location_id, location = self._catalog.location()
        except Stopped:
            raise
        except AuthError as err:
            return CheckResult(mall=self.name, ok=False, message=self._api.redact(str(err)))
        except MallError as err:
            return CheckResult(
                mall=self.name, ok=False, message=self._api.redact(f"Shopify: 接続NG（{err}）")
            )
        name = shop.get("name") if isinstance(shop, dict) else ""
        return CheckResult(
            mall=self.name,
            ok=True,
            message=(
                f"Shopify: 接続OK（{name or self.shop_url}、ロケーション「{location}」、"
                f"API {self.api_version}、アクセストークンに期限なし）"
            ),
        )

    def _require_shop(self) -> None:
        if not self.shop_url:
            raise MallError("Shopify: ショップが未設定です（zaiko.toml の [malls.shopify] shop）")

    # ------------------------------------------------------------------ orders

    def fetch_order_lines(self, since: datetime, until: datetime) -> list[OrderLine]:
        """Lines of orders updated in [since, until]; cancels and refunds as their units."""
        self._require_shop()
        location_id, _name = self._catalog.location()
        lines = self._orders.fetch(since, until, location_id)
        self.ledger.note_lines(lines)
        return lines

    # ------------------------------------------------------------------ read

    def read_stock(self, codes: Sequence[str]) -> dict[str, int]:
        """``available`` at the bot's location, keyed as given; unusable SKUs left out.

        The drift read-back does not wait on Shopify's cost bucket (§1.7). A SKU whose
        inventory item is known is read by id, up to 250 a call at 3 points each; one
        not known yet is searched, 25 SKUs a search admitted only when its requested
        403 points are in the bucket (most is refunded after). Waiting for the bucket
        would hold the whole cycle (a read of 250 SKUs by search: ~40 s). So this
        starts only the reads the bucket affords now and keeps :attr:`READ_RESERVE`
        points for the pushes that follow in the same cycle, so a sale's push is not
        the one kept waiting. (A search already started is finished, its further
        pages paced as usual: see :meth:`Catalog.read_affordable` for why.) The SKUs
        not read wait in
        :attr:`unread` and are read first when asked again (oldest ask first, a SKU
        asked again keeps its place); they are left out of this answer, as the
        protocol leaves out what the mall cannot say now, and the engine compares only
        the listings it is given. At the smallest plan's 100 points/s a
        15 s cycle restores 1,500 points: ~500 known SKUs read by id, or ~14 searches
        of 25 SKUs that match exactly (103 points each once refunded); the queue goes
        round the rest.

        What the read shows becomes the engine's to compensate (§4.5 read-back), so the
        ledger stops holding back units for sales it had caught itself. A THROTTLED
        answer the pacer did not foresee (another app spent the bucket) is still
        retried after the wait Shopify asks, as every call is.
        """
        self._require_shop()
        canonical = {code: self.canonical_code(code) for code in codes}
        order = self.unread.order([s for s in canonical.values() if s])
        variants = self._catalog.read_affordable(order, reserve=self.READ_RESERVE)
        self.unread.done(variants)
        readings: dict[str, int] = {}
        for sku, variant in variants.items():
            if _problem(variant, "") is None and variant.available is not None:
                readings[sku] = variant.available
                self.ledger.read_back(sku, variant.available)
        return {code: readings[sku] for code, sku in canonical.items() if sku in readings}

    # ------------------------------------------------------------------ push

    def push_stock(self, pushes: Sequence[StockPush]) -> list[PushResult]:
        """Compare-and-set ``available`` per listing; one result per push, in order.

        Each quantity is sent with the number the adapter expects Shopify to show
        (``compare_to`` when the engine gives one). A mismatch is a sale (or a hand
        edit) the bot has not seen: the listing is read again and set to the target
        less the units Shopify sold meanwhile, never over them (package docstring).
        """
        self._require_shop()
        results: list[PushResult | None] = [None] * len(pushes)
        last = _last_per_sku(pushes, results, self.canonical_code)
        variants = self._catalog.lookup(list(last))
        _id, location = self._catalog.location()
        usable: dict[str, Variant] = {}
        for sku, i in last.items():
            problem = _problem(variants[sku], location)
            if problem is None:
                usable[sku] = variants[sku]
            else:
                results[i] = _result(pushes[i], *problem)
        unknown = [sku for sku in usable if self.ledger.expected(sku) is None]
        # A SKU searched by the lookup above was read just now: no second read (a cold
        # start's 10k pushes would otherwise read every quantity twice).
        searched = self._catalog.last_searched
        just_read = {sku: usable[sku] for sku in unknown if sku in searched}
        stale = [sku for sku in unknown if sku not in just_read]
        fresh = self._catalog.lookup(stale, fresh=True) if stale else {}
        for sku, variant in {**just_read, **fresh}.items():
            if variant.available is not None:
                self.ledger.read_back(sku, variant.available, hand_over=False)
        jobs = [self._job(pushes, i, sku, usable[sku]) for sku, i in last.items() if sku in usable]
        self._send(pushes, jobs, results)
        return [_done(i, r) for i, r in enumerate(results)]

    def _job(self, pushes: Sequence[StockPush], i: int, sku: str, variant: Variant) -> _Job:
        push = pushes[i]
        expected = push.compare_to if push.compare_to is not None else self.ledger.expected(sku)
        compare = expected if expected is not None else (variant.available or 0)
        return _Job(i, sku, variant.item_id, push.quantity, compare)

    def _send(
        self, pushes: Sequence[StockPush], jobs: list[_Job], results: list[PushResult | None]
    ) -> None:
        """Send in chunks of ≤ 250; refused items are marked, the rest sent again."""
        queue = list(jobs)
        while queue:
            chunk, queue = queue[: self.MAX_QUANTITIES], queue[self.MAX_QUANTITIES :]
            errors = self._set(chunk)
            if not errors:
                for job in chunk:
                    results[job.index] = self._applied(pushes[job.index], job)
                continue
            stale, rest = self._sort_errors(pushes, chunk, errors, results)
            queue = rest + self._recover(pushes, stale, results) + queue

    def _target(self, job: _Job) -> int:
        return max(job.wanted - self.ledger.owed(job.sku), 0)

    def _set(self, chunk: Sequence[_Job]) -> list[dict[str, Any]]:
        """One ``inventorySetQuantities``; its userErrors (none: every quantity applied)."""
        _location_id, _name = self._catalog.location()
        new = self.api_version >= self.CHANGE_FROM_SINCE
        compare_field = "changeFromQuantity" if new else "compareQuantity"
        quantities = [
            {
                "inventoryItemId": job.item_id,
                "locationId": _location_id,
                "quantity": self._target(job),
                compare_field: job.compare,
            }
            for job in chunk
        ]
        # A new key per distinct request; request_with_retry resends the same body, so a
        # network retry reuses it as the idempotency rules ask (§1.4 [S7]).
        key = uuid.UUID(int=self._rng.getrandbits(128), version=4)
        directive = f' @idempotent(key: "{key}")' if new else ""
        data = self._api.call(
            SET_MUTATION.replace("{directive}", directive),
            {
                "input": {
                    "name": self.QUANTITY_NAME,
                    "reason": self.REASON,
                    "quantities": quantities,
                }
            },
            cost=self.SET_COST,
        )
        return user_errors(data.get("inventorySetQuantities"))

    def _sort_errors(
        self,
        pushes: Sequence[StockPush],
        chunk: Sequence[_Job],
        errors: Sequence[Mapping[str, Any]],
        results: list[PushResult | None],
    ) -> tuple[list[_Job], list[_Job]]:
        """Stale listings, and the others to send again; refused ones get their result."""
        codes = {str(e.get("code") or "") for e in errors}
        if codes & self.RETRY_CODES:
            raise TransientError(f"Shopify: 同時実行の制限（{', '.join(sorted(codes))}）")
        stale_positions: set[int] = set()
        refused: dict[int, Mapping[str, Any]] = {}
        for error in errors:
            position = field_index(error, "quantities")
            code = str(error.get("code") or "")
            if code in self.STALE_CODES:
                stale_positions |= {position} if position is not None else set(range(len(chunk)))
            elif position is not None and position < len(chunk):
                refused[position] = error
            else:
                message = self._api.redact(str(error.get("message") or code))
                raise MallError(f"Shopify が在庫更新を拒否しました（{code}: {message}）")
        for position, error in refused.items():
            job = chunk[position]
            results[job.index] = self._refused(pushes[job.index], job, error)
        stale = [j for n, j in enumerate(chunk) if n in stale_positions and n not in refused]
        rest = [j for n, j in enumerate(chunk) if n not in stale_positions and n not in refused]
        return stale, rest

    def _recover(
        self, pushes: Sequence[StockPush], stale: Sequence[_Job], results: list[PushResult | None]
    ) -> list[_Job]:
        """Read what Shopify shows now and aim again, keeping the sales it made meanwhile."""
        if not stale:
            return []
        fresh = self._catalog.lookup([job.sku for job in stale], fresh=True)
        again: list[_Job] = []
        for job in stale:
            variant = fresh[job.sku]
            if job.rounds + 1 >= self.MAX_STALE_ROUNDS or variant.available is None:
                results[job.index] = _result(
                    pushes[job.index],
                    PushStatus.REJECTED,
                    "Shopify の在庫数が送信中に何度も変わったため更新を見送りました"
                    "（次のサイクルで送り直します）",
                )
                continue
            self.ledger.mismatch(job.sku, job.compare, variant.available)
            job.compare, job.rounds = variant.available, job.rounds + 1
            again.append(job)
        return again

    def _applied(self, push: StockPush, job: _Job) -> PushResult:
        target = self._target(job)
        self.ledger.applied(job.sku, target)
        if target == push.quantity:
            return PushResult(code=push.code, status=PushStatus.APPLIED, quantity=target)
        return PushResult(
            code=push.code,
            status=PushStatus.APPLIED,
            quantity=target,
            message=(
                f"Shopify でまだ取り込んでいない注文 {push.quantity - target} 点を差し引き、"
                f"{target} にしました（売れた分を上書きしないため）"
            ),
        )

    def _refused(self, push: StockPush, job: _Job, error: Mapping[str, Any]) -> PushResult:
        code = str(error.get("code") or "")
        message = self._api.redact(str(error.get("message") or code))
        if code == "INVALID_INVENTORY_ITEM":
            self._catalog.forget_quantity(job.sku)
            return _result(
                push,
                PushStatus.UNKNOWN_CODE,
                f"Shopify に SKU『{job.sku}』の在庫アイテムがありません",
            )
        return _result(
            push, PushStatus.REJECTED, f"Shopify が更新を拒否しました（{code}: {message}）"
        )


# --------------------------------------------------------------------------- helpers


def _last_per_sku(
    pushes: Sequence[StockPush], results: list[PushResult | None], canonical: Any
) -> dict[str, int]:
    """SKU → index of its last push; earlier pushes of the same SKU are superseded."""
    return screen_pushes(
        pushes,
        results,
        canonical=canonical,
        problem=lambda _push, sku: None if sku else "Shopify の SKU が空です",
        code_word=" SKU ",
    )


def _problem(variant: Variant, location: str) -> tuple[PushStatus, str] | None:
    """Why a SKU cannot be pushed at all (None when it can)."""
    sku = variant.sku
    if not variant.exists:
        return PushStatus.UNKNOWN_CODE, f"Shopify に SKU『{sku}』のバリエーションが見つかりません"
    if variant.duplicates > 1:
        return (
            PushStatus.REJECTED,
            f"Shopify に SKU『{sku}』のバリエーションが {variant.duplicates} 件あります。"
            "SKU を 1 つのバリエーションだけに付けてください",
        )
    if not variant.tracked:
        return (
            PushStatus.REJECTED,
            f"Shopify で SKU『{sku}』の在庫を追跡していません（商品の「在庫を追跡する」をオンに）",
        )
    if not variant.stocked:
        return (
            PushStatus.REJECTED,
            f"SKU『{sku}』はロケーション「{location}」で在庫管理されていません",
        )
    return None


def _result(push: StockPush, status: PushStatus, message: str) -> PushResult:
    return PushResult(code=push.code, status=status, quantity=push.quantity, message=message)


def _done(index: int, result: PushResult | None) -> PushResult:
    assert result is not None, f"push {index} got no result"
    return result
