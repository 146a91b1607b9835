"""A channel that exists only in tests: proof that a channel is one module away.

``ToyAdapter`` declares itself exactly as a real channel module does (its key, label,
``Config`` with a secret, ``from_config``, auth hint), and ``ToySimulator`` speaks a
small JSON API over an httpx transport and offers the sandbox's SimulatedChannel
controls. test_new_channel.py registers the adapter inside the test alone and checks
that settings, ``check``, the sheet and the cycle pick it up with no other file touched.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar

import httpx
from pydantic import SecretStr

from adapters.base import (
    AuthError,
    BuildContext,
    Channel,
    ChannelConfig,
    MallRejected,
    Url,
)
from bot.core.domain import CheckResult, OrderLine, PushResult, PushStatus, StockPush
from bot.infra.clock import Clock


class ToyConfig(ChannelConfig):
    """``[malls.toy]``: one bearer token."""

    required: ClassVar[Mapping[str, str]] = {"token": "APIトークン"}

    base_url: Url = "https://api.toy.example.com"
    token: SecretStr | None = None


TOY = Channel(
    key="toy",
    label="トイ",
    name="トイショップ",
    aliases=("Toy", "トイショップ"),
    code_note="トイショップの商品ID（例 T-001）。空欄＝トイでは売っていない。",
    auth_hint="トイショップの管理画面で APIトークンを発行し直し、ZAIKO_TOY_TOKEN を更新してください。",
)


class ToyAdapter:
    """The toy channel: GET/POST /stock, GET /orders, bearer auth."""

    name: ClassVar[str] = "toy"
    channel: ClassVar[Channel] = TOY
    Config: ClassVar[type[ChannelConfig]] = ToyConfig
    MAX_BATCH: ClassVar[int] = 50

    def __init__(self, client: httpx.Client, token: str) -> None:
        self._client = client
        self._headers = {"Authorization": f"Bearer {token}"}

    @classmethod
    def from_config(
        cls, config: ToyConfig, client: httpx.Client, context: BuildContext
    ) -> ToyAdapter:
        return cls(client, config.secret("token"))

    @staticmethod
    def canonical_code(code: str) -> str:
        return code.strip().upper()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._client.request(method, path, headers=self._headers, **kwargs)
        if response.status_code == 401:
            raise AuthError("トイ: 認証エラー（HTTP 401）")
        if response.status_code >= 400:
            raise MallRejected(f"トイ: 拒否されました（HTTP {response.status_code}）")
        return response.json()

    def check(self) -> CheckResult:
        try:
            self._call("GET", "/stock", params={"codes": ""})
        except AuthError as err:
            return CheckResult(mall=self.name, ok=False, message=str(err))
        return CheckResult(mall=self.name, ok=True, message="トイショップ: 接続OK")

    def fetch_order_lines(self, since: datetime, until: datetime) -> list[OrderLine]:
        body = self._call(
            "GET", "/orders", params={"since": since.isoformat(), "until": until.isoformat()}
        )
        return [
            OrderLine(
                mall=self.name,
                order_id=o["id"],
                line_id="1",
                code=self.canonical_code(o["code"]),
                units=0 if o["cancelled"] else o["units"],
                status="cancelled" if o["cancelled"] else "ordered",
                mall_restocks=bool(o["cancelled"]),
            )
            for o in body["orders"]
        ]

    def read_stock(self, codes: Sequence[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for start in range(0, len(codes), self.MAX_BATCH):
            part = ",".join(codes[start : start + self.MAX_BATCH])
            found.update(self._call("GET", "/stock", params={"codes": part})["stock"])
        return found

    def push_stock(self, pushes: Sequence[StockPush]) -> list[PushResult]:
        results: list[PushResult] = []
        for start in range(0, len(pushes), self.MAX_BATCH):
            batch = pushes[start : start + self.MAX_BATCH]
            items = [{"code": p.code, "qty": p.quantity} for p in batch]
            answer = self._call("POST", "/stock", json={"items": items})["results"]
            results += [
                PushResult(
                    code=p.code,
                    status=PushStatus.APPLIED if a == "ok" else PushStatus.UNKNOWN_CODE,
                    quantity=p.quantity if a == "ok" else None,
                )
                for p, a in zip(batch, answer, strict=True)
            ]
        return results


class ToySimulator:
    """The toy channel's server: refuses a wrong token, more than 50 items, bad bodies."""

    key: ClassVar[str] = "toy"
    max_write_batch: ClassVar[int] = 50

    def __init__(self, *, clock: Clock, token: str = "toy-secret-token") -> None:
        self._clock = clock
        self._token = token
        self._lock = threading.Lock()
        self.stock: dict[str, int] = {}
        self.orders: list[dict[str, Any]] = []
        self.writes: list[int] = []
        self._transport = httpx.MockTransport(self.handle)

    @property
    def transport(self) -> httpx.BaseTransport:
        return self._transport

    def config(self) -> dict[str, Any]:
        return {"enabled": True, "token": self._token}

    def sample_code(self, n: int) -> str:
        return f"T-{n:03d}"

    def add_listing(self, code: str, qty: int) -> str:
        self.stock[code] = qty
        return code

    def set_stock(self, code: str, quantity: int) -> None:
        self.stock[code] = quantity

    def pending_stock(self, code: str) -> int | None:
        return self.stock.get(code)

    def place_order(self, lines: Sequence[tuple[str, int]]) -> str | None:
        [(code, units)] = lines
        if self.stock.get(code, 0) < units:
            return None
        self.stock[code] -= units
        order_id = f"TOY-{len(self.orders) + 1}"
        self.orders.append(
            {
                "id": order_id,
                "code": code,
                "units": units,
                "at": self._clock.now(),
                "cancelled": False,
            }
        )
        return order_id

    def cancel_order(self, order_number: str) -> None:
        order = next(o for o in self.orders if o["id"] == order_number)
        order["cancelled"], order["at"] = True, self._clock.now()
        self.stock[order["code"]] += order["units"]

    def expire_credentials(self) -> None:
        self._token = "expired"

    def fail_next(self, kind: str, times: int = 1) -> None:
        raise NotImplementedError("the toy channel never fails")

    def write_batch_sizes(self) -> list[int]:
        return list(self.writes)

    def refused_quantity(self) -> int:
        return -1

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("Authorization") != f"Bearer {self._token}":
            return httpx.Response(401, json={"error": "invalid_token"})
        with self._lock:
            if request.url.path == "/stock" and request.method == "GET":
                codes = [c for c in request.url.params.get("codes", "").split(",") if c]
                return httpx.Response(
                    200, json={"stock": {c: self.stock[c] for c in codes if c in self.stock}}
                )
            if request.url.path == "/stock" and request.method == "POST":
                return self._write(request)
            if request.url.path == "/orders":
                since = datetime.fromisoformat(request.url.params["since"])
                until = datetime.fromisoformat(request.url.params["until"])
                orders = [
                    {k: v for k, v in o.items() if k != "at"}
                    for o in self.orders
                    if since <= o["at"] <= until
                ]
                return httpx.Response(200, json={"orders": orders})
        return httpx.Response(404, json={"error": "not_found"})

    def _write(self, request: httpx.Request) -> httpx.Response:
        items = httpx.Response(200, content=request.content).json().get("items")
        if not isinstance(items, list) or not 1 <= len(items) <= self.max_write_batch:
            return httpx.Response(400, json={"error": "items must be 1..50"})
        if any(not isinstance(i.get("qty"), int) or i["qty"] < 0 for i in items):
            return httpx.Response(400, json={"error": "qty must be >= 0"})
        self.writes.append(len(items))
        results = []
        for item in items:
            if item["code"] in self.stock:
                self.stock[item["code"]] = item["qty"]
                results.append("ok")
            else:
                results.append("unknown")
        return httpx.Response(200, json={"results": results})
