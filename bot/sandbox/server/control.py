"""The control API under ``/_sandbox``: what staff, customers and programs do to the world.

Everything here acts on the doubles directly, never through the API the bot uses, so it
is neither counted in the emulator's or a channel's request log nor rate-limited: typing
into a cell goes through the emulator's USER_ENTERED parsing (``+7`` becomes 7 in a
number cell, as in the Sheets UI; a TEXT-formatted column keeps what was typed), an order
is placed on the channel the way a customer's is. Bodies and
answers are JSON; errors are ``{"error": "<Japanese sentence>"}`` with a 4xx status.
The endpoints are listed in :mod:`bot.sandbox.server`.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable
from dataclasses import asdict
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote

from adapters import ADAPTERS
from bot.infra.clock import format_jst
from bot.infra.sheet.cells import column_letter
from bot.sandbox.server.bridge import Call, Reply
from bot.sandbox.server.clock import FollowClock, parse_clock

if TYPE_CHECKING:
    from bot.sandbox.server.world import SandboxWorld

PRODUCTS_TAB = "商品マスタ"
MOVEMENTS_TAB = "入出庫"
FAULT_STATUSES = {"429": 429, "500": 500, "503": 503}


class Refused(Exception):
    """A control request that cannot be done; its text is for a person (Japanese)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


Handler = Callable[["SandboxWorld", re.Match[str], Call], Any]
ROUTES: list[tuple[str, re.Pattern[str], Handler]] = []


def route(method: str, pattern: str) -> Callable[[Handler], Handler]:
    """Register a handler for ``method`` and a path regex (after ``/_sandbox``)."""

    def register(handler: Handler) -> Handler:
        ROUTES.append((method, re.compile(pattern + r"/?\Z"), handler))
        return handler

    return register


def control(world: SandboxWorld, call: Call) -> Reply:
    """Answer one control call (the world's lock is held)."""
    path = unquote(call.path)
    allowed: list[str] = []
    for method, pattern, handler in ROUTES:
        match = pattern.match(path)
        if match is None:
            continue
        if method != call.method:
            allowed.append(method)
            continue
        try:
            answer = handler(world, match, call)
        except Refused as err:
            return Reply.json(err.status, {"error": str(err)})
        except (TypeError, ValueError) as err:  # a body of the wrong shape
            return Reply.json(400, {"error": f"本文の形が違います（{type(err).__name__}: {err}）"})
        if method != "GET":
            world.dirty = True
        return Reply.json(200, answer if answer is not None else {})
    if allowed:
        return Reply.json(405, {"error": f"{path} は {'/'.join(allowed)} で呼んでください"})
    return Reply.json(404, {"error": f"サンドボックスに {path} はありません"})


# --------------------------------------------------------------------------- helpers


def body(call: Call) -> dict[str, Any]:
    """The JSON object a call carries ({} for none)."""
    if not call.body:
        return {}
    try:
        data = json.loads(call.body)
    except ValueError:
        raise Refused(400, "本文が JSON ではありません") from None
    if not isinstance(data, dict):
        raise Refused(400, "本文は JSON のオブジェクトにしてください")
    return data


def query(call: Call) -> dict[str, list[str]]:
    """The query string's values per name."""
    return parse_qs(call.query, keep_blank_values=True)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().casefold()


def _label(key: str) -> str:
    return ADAPTERS[key].channel.label


def channel_key(world: SandboxWorld, name: str) -> str:
    """The channel a person named (key, label, name or alias), among the sandbox's."""
    wanted = _fold(name)
    for key in world.sims:
        declared = ADAPTERS[key].channel
        words = (key, declared.label, declared.name, *declared.aliases)
        if wanted in {_fold(word) for word in words}:
            return key
    known = "、".join(ADAPTERS[key].channel.label for key in world.sims)
    raise Refused(404, f"モール「{name}」はサンドボックスにありません（あるのは {known}）")


def grid(world: SandboxWorld, tab: str, render: str = "UNFORMATTED_VALUE") -> list[list[Any]]:
    """A whole tab as an API read returns it."""
    try:
        return world.emulator.get_values(world.sheet_id, tab, render)  # type: ignore[arg-type]
    except KeyError:
        tabs = "、".join(world.emulator.sheet_titles(world.sheet_id))
        raise Refused(404, f"タブ「{tab}」がありません（あるのは {tabs}）") from None


def _column(header: list[Any], name: str, tab: str) -> int:
    for index, text in enumerate(header):
        if _fold(str(text or "")) == _fold(name):
            return index
    raise Refused(404, f"{tab} に「{name}」の列がありません")


def _cell(row: list[Any], index: int) -> Any:
    return row[index] if index < len(row) and row[index] is not None else ""


def product_row(world: SandboxWorld, sku: str) -> tuple[int, list[Any], list[Any]]:
    """(1-based row, header, row) of 商品コード ``sku`` in 商品マスタ."""
    values = grid(world, PRODUCTS_TAB)
    header = values[0] if values else []
    i_sku = _column(header, "商品コード", PRODUCTS_TAB)
    for number, row in enumerate(values[1:], start=2):
        if len(row) > i_sku and str(row[i_sku]) == sku:
            return number, header, row
    raise Refused(404, f"商品マスタに商品コード「{sku}」の行がありません")


def shown_stock(world: SandboxWorld, key: str, code: str) -> int | None:
    """What channel ``key`` shows (or will, once pushes are live) for ``code``; None: unlisted."""
    try:
        return world.sims[key].pending_stock(code)
    except (ValueError, KeyError):  # not even shaped like this channel's codes
        return None


def listing_code(world: SandboxWorld, key: str, code: str) -> str:
    """The channel's listing code: ``code`` itself, or the code 商品マスタ gives a 商品コード."""
    if shown_stock(world, key, code) is not None:
        return code
    label = ADAPTERS[key].channel.label
    try:
        _, header, row = product_row(world, code)
    except Refused:
        raise Refused(404, f"「{code}」は{label}に出品されていません") from None
    i_code = _column(header, ADAPTERS[key].channel.code_header, PRODUCTS_TAB)
    cell = str(row[i_code]) if len(row) > i_code and row[i_code] is not None else ""
    first = cell.split(",")[0].strip()
    if not first or shown_stock(world, key, first) is None:
        raise Refused(404, f"商品「{code}」は{label}に出品されていません")
    return first


def type_rows(world: SandboxWorld, tab: str, a1: str, rows: Any, *, raw: bool = False) -> None:
    """Staff type ``rows`` into ``tab`` from cell ``a1`` (USER_ENTERED unless ``raw``)."""
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise Refused(400, "rows は行のリスト（[[...], ...]）にしてください")
    grid(world, tab)  # a missing tab is said in words
    try:
        world.emulator.set_values(world.sheet_id, tab, a1, rows, raw=raw)
    except ValueError as err:
        raise Refused(400, f"{tab}!{a1} に入力できません（{err}）") from None


# --------------------------------------------------------------------------- world


@route("GET", r"")
def _info(world: SandboxWorld, match: re.Match[str], call: Call) -> Any:
    return {
        "url": world.base_url,
        "sheet_id": world.sheet_id,
        "clock": {"mode": world.clock.mode, "now": world.clock.now().isoformat()},
        "channels": {key: ADAPTERS[key].channel.label for key in world.sims},
        "prefixes": {prefix: r.kind for prefix, r in world.routes.items()},
        "tabs": world.emulator.sheet_titles(world.sheet_id),
    }


@route("GET", r"/clock")
def _clock(world: SandboxWorld, match: re.Match[str], call: Call) -> Any:
    return {"mode": world.clock.mode, "now": world.clock.now().isoformat()}


@route("POST", r"/clock")
def _set_clock(world: SandboxWorld, match: re.Match[str], call: Call) -> Any:
    if not isinstance(world.clock, FollowClock):
        raise Refused(409, "時計は実時間です（--clock follow で起動したときだけ動かせます）")
    try:
        world.clock.follow(parse_clock(str(body(call).get("now", ""))))
    except ValueError as err:
        raise Refused(400, f"時刻が読めません（{err}）") from None
    return _clock(world, match, call)


@route("POST", r"/save")
def _save(world: SandboxWorld, match: re.Match[str], call: Call) -> Any:
    if world.save_now is None:
        raise Refused(409, "状態ファイルに保存できません")
    return world.save_now()


@route("GET", r"/requests")
def _requests(world: SandboxWorld, match: re.Match[str], call: Call) -> Any:
    asked = query(call)
    since = int((asked.get("since") or ["0"])[0])
    target = (asked.get("target") or [""])[0]
    entries = [e for e in world.log if e["seq"] > since and (not target or e["target"] == target)]
    return {"requests": entries, "last": world.seq}


@route("GET", r"/counters")
def _counters(world: SandboxWorld, match: re.Match[str], call: Call) -> Any:
    return {"counters": {t: asdict(tally) for t, tally in world.tallies.items()}}


@route("POST", r"/counters/reset")
def _reset_counters(world: SandboxWorld, match: re.Match[str], call: Call) -> Any:
    return {"counters": world.reset_tallies()}


@route("POST", r"/faults")
def _faults(world: SandboxWorld, match: re.Match[str], call: Call) -> Any:
    asked = body(call)
    target, kind, times = (
        str(asked.get("target", "")),
        str(asked.get("kind", "")),
        asked.get("times", 1),
    )
    if not isinstance(times, int) or times < 1:
        raise Refused(400, "times は 1 以上の整数にしてください")
    if target == "sheets":
        if kind not in FAULT_STATUSES:
            raise Refused(400, f"シートの障害は {'、'.join(FAULT_STATUSES)} のどれかです")
        world.emulator.fail_next(FAULT_STATUSES[kind], times=times)
    else:
        if kind not in ("429", "503", "timeout"):
            raise Refused(400, "モールの障害は 429、503、timeout のどれかです")
        world.sims[channel_key(world, target)].fail_next(kind, times)  # type: ignore[arg-type]
    return {"target": target, "kind": kind, "times": times}


# --------------------------------------------------------------------------- the sheet


@route("GET", r"/tabs/(?P<tab>[^/]+)")
def _tab(world: SandboxWorld, match: re.Match[str], call: Call) -> Any:
    render = (query(call).get("render") or ["UNFORMATTED_VALUE"])[0]
    if render not in ("UNFORMATTED_VALUE", "FORMATTED_VALUE", "FORMULA"):
        raise Refused(400, "render は UNFORMATTED_VALUE / FORMATTED_VALUE / FORMULA です")
    return {"tab": match["tab"], "values": grid(world, match["tab"], render)}


@route("POST", r"/tabs/(?P<tab>[^/]+)/cells")
def _cells(world: SandboxWorld, match: re.Match[str], call: Call) -> Any:
    asked = body(call)
    a1 = str(asked.get("a1", ""))
    rows = asked["rows"] if "rows" in asked else [[asked.get("value")]]
    type_rows(world, match["tab"], a1, rows, raw=bool(asked.get("raw", False)))
    return {"tab": match["tab"], "a1": a1}


@route("POST", r"/tabs/(?P<tab>[^/]+)/rows")
def _append_rows(world: SandboxWorld, match: re.Match[str], call: Call) -> Any:
    rows = body(call).get("rows")
    first = len(grid(world, match["tab"])) + 1
    type_rows(world, match["tab"], f"A{first}", rows)
    return {"tab": match["tab"], "first_row": first, "rows": len(rows or [])}


@route("POST", r"/products/(?P<sku>[^/]+)")
def _product_cell(world: SandboxWorld, match: re.Match[str], call: Call) -> Any:
    asked = body(call)
    number, header, _ = product_row(world, match["sku"])
    column = str(asked.get("column", ""))
    a1 = f"{column_letter(_column(header, column, PRODUCTS_TAB))}{number}"
    type_rows(world, PRODUCTS_TAB, a1, [[asked.get("value")]])
    return {"tab": PRODUCTS_TAB, "a1": a1}


@route("POST", r"/movements")
def _movement(world: SandboxWorld, match: re.Match[str], call: Call) -> Any:
    asked = body(call)
    values = grid(world, MOVEMENTS_TAB)
    header = values[0] if values else []
    cells = {
        "日時": format_jst(world.clock.now()),
        "商品コード": asked.get("sku"),
        "数量": asked.get("quantity"),
        "区分": asked.get("kind", "入荷"),
        "メモ": asked.get("memo", ""),
    }
    row: list[Any] = [None] * len(header)
    for name, value in cells.items():
        row[_column(header, name, MOVEMENTS_TAB)] = value
    type_rows(world, MOVEMENTS_TAB, f"A{len(values) + 1}", [row])
    return {"tab": MOVEMENTS_TAB, "row": len(values) + 1}


# --------------------------------------------------------------------------- channels


@route("GET", r"/malls")
def _malls(world: SandboxWorld, match: re.Match[str], call: Call) -> Any:
    values = grid(world, PRODUCTS_TAB)
    header = values[0] if values else []
    i_sku, i_stock = (
        _column(header, "商品コード", PRODUCTS_TAB),
        _column(header, "在庫数", PRODUCTS_TAB),
    )
    codes = {
        key: _column(header, ADAPTERS[key].channel.code_header, PRODUCTS_TAB) for key in world.sims
    }
    products = []
    for row in values[1:]:
        if _cell(row, i_sku) == "":
            continue
        shown = {}
        for key, i in codes.items():
            code = str(_cell(row, i)).split(",")[0].strip()
            shown[key] = {
                "code": code,
                "stock": shown_stock(world, key, code) if code else None,
            }
        products.append({"sku": _cell(row, i_sku), "stock": _cell(row, i_stock), "channels": shown})
    return {"channels": {k: ADAPTERS[k].channel.label for k in world.sims}, "products": products}


@route("GET", r"/channels/(?P<key>[^/]+)/stock")
def _stock(world: SandboxWorld, match: re.Match[str], call: Call) -> Any:
    key = channel_key(world, match["key"])
    stock: dict[str, int | None] = {}
    for code in query(call).get("code", []):
        try:
            stock[code] = shown_stock(world, key, listing_code(world, key, code))
        except Refused:
            stock[code] = None
    return {
        "channel": key,
        "label": _label(key),
        "stock": stock,
    }


@route("PUT", r"/channels/(?P<key>[^/]+)/stock")
def _set_stock(world: SandboxWorld, match: re.Match[str], call: Call) -> Any:
    key = channel_key(world, match["key"])
    asked = body(call)
    quantity = asked.get("quantity")
    if not isinstance(quantity, int) or quantity < 0:
        raise Refused(400, "在庫数は 0 以上の整数にしてください")
    code = listing_code(world, key, str(asked.get("code", "")))
    world.sims[key].set_stock(code, quantity)
    return {
        "channel": key,
        "label": _label(key),
        "code": code,
        "stock": shown_stock(world, key, code),
    }


@route("POST", r"/channels/(?P<key>[^/]+)/listings")
def _listings(world: SandboxWorld, match: re.Match[str], call: Call) -> Any:
    key = channel_key(world, match["key"])
    listings = body(call).get("listings")
    if not isinstance(listings, list):
        raise Refused(400, "listings は [[コード, 在庫数], ...] にしてください")
    codes = [world.sims[key].add_listing(str(code), int(qty)) for code, qty in listings]
    return {"channel": key, "codes": codes}


def order_lines(world: SandboxWorld, key: str, lines: Any) -> list[tuple[str, int]]:
    """An order's ``[[code, units], …]`` as (listing code, units); refused when malformed."""
    if not isinstance(lines, list) or not lines:
        raise Refused(400, "lines は [[コード, 数量], ...] にしてください")
    wanted = []
    for code, units in lines:
        if not isinstance(units, int) or units < 1:
            raise Refused(400, f"数量は 1 以上の整数にしてください（{units!r}）")
        wanted.append((listing_code(world, key, str(code)), units))
    return wanted


@route("POST", r"/channels/(?P<key>[^/]+)/orders")
def _order(world: SandboxWorld, match: re.Match[str], call: Call) -> Any:
    key = channel_key(world, match["key"])
    wanted = order_lines(world, key, body(call).get("lines"))
    number = world.sims[key].place_order(wanted)
    if number is None:
        label = ADAPTERS[key].channel.label
        raise Refused(
            409, f"{label}がこの注文を受け付けませんでした（在庫が足りない可能性があります）"
        )
    return {"channel": key, "label": _label(key), "order": number, "lines": wanted}


@route("POST", r"/channels/(?P<key>[^/]+)/orders/bulk")
def _orders(world: SandboxWorld, match: re.Match[str], call: Call) -> Any:
    """Many customers' orders in one call (the benchmark's 1 % a cycle at 100k is 500).

    Every order is checked before any is placed; one the shop refuses (no stock) is
    ``null`` in the answer and the others still go through, as customers are independent.
    """
    key = channel_key(world, match["key"])
    orders = body(call).get("orders")
    if not isinstance(orders, list) or not orders:
        raise Refused(
            400, "orders は [[[コード, 数量], ...], ...]（注文ごとの lines）にしてください"
        )
    wanted = [order_lines(world, key, lines) for lines in orders]
    numbers = [world.sims[key].place_order(lines) for lines in wanted]
    return {"channel": key, "label": _label(key), "orders": numbers}


@route("POST", r"/channels/(?P<key>[^/]+)/orders/(?P<order>[^/]+)/cancel")
def _cancel(world: SandboxWorld, match: re.Match[str], call: Call) -> Any:
    key = channel_key(world, match["key"])
    try:
        world.sims[key].cancel_order(match["order"])
    except (KeyError, ValueError, LookupError) as err:
        raise Refused(404, f"注文「{match['order']}」をキャンセルできません（{err}）") from None
    return {"channel": key, "label": _label(key), "order": match["order"], "cancelled": True}
