"""From an HTTP request on 127.0.0.1 to the emulator's or a simulator's own handler, and back.

The emulator is a ``requests`` transport adapter and every simulator an httpx transport;
each already answers a request to its real host (``https://sheets.googleapis.com/…``,
``https://api.rms.rakuten.co.jp/…``). The bridge only rebuilds that request from what
arrived under the sandbox's path prefix, hands it to the handler, and copies the answer
back: the wire formats stay implemented once, in the doubles.

A reply may name a real host the client must call next (Amazon's pre-signed document
URLs, a Location header); :class:`HostMap` rewrites those origins to the sandbox's
prefixes, as a reverse proxy rewrites its upstream's links. A handler that plays a lost
answer (the emulator's "applied, then the response was lost", a simulator's injected
timeout) becomes a connection closed without a reply.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import requests
from requests.structures import CaseInsensitiveDict

from bot.sandbox.server.clock import CLOCK_HEADER
from bot.sandbox.sheets.transport import SheetsTransport

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        CLOCK_HEADER.lower(),
    }
)
"""Headers that describe one connection (RFC 9110 §7.6.1), never forwarded."""
TEXT_TYPES = ("json", "xml", "text/", "x-www-form-urlencoded")
"""Content types whose bodies may carry a host to rewrite."""


@dataclass(frozen=True)
class Call:
    """One request as it arrived, its sandbox prefix already taken off ``path``."""

    method: str
    path: str
    """Starts with ``/``; still percent-encoded as sent."""
    query: str = ""
    """The raw query string, without ``?``."""
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """The first header called ``name`` (any case)."""
        wanted = name.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), None)

    def target(self, origin: str) -> str:
        """The URL this call had on the real host ``origin``."""
        return origin + self.path + (f"?{self.query}" if self.query else "")

    def forwarded_headers(self) -> list[tuple[str, str]]:
        """The end-to-end headers (hop-by-hop ones and the sandbox's clock dropped)."""
        return [(k, v) for k, v in self.headers if k.lower() not in HOP_BY_HOP]


@dataclass
class Reply:
    """What to send back: status, headers and body, or nothing at all (``drop``)."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    drop: bool = False
    """Close the connection without an answer: the response was lost on the way."""

    @classmethod
    def json(cls, status: int, payload: Any) -> Reply:
        """A JSON answer (UTF-8, non-ASCII kept)."""
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        return cls(status, [("Content-Type", "application/json; charset=UTF-8")], body)

    @classmethod
    def lost(cls) -> Reply:
        """No answer; the client sees the connection close."""
        return cls(0, drop=True)

    def content_type(self) -> str:
        """The Content-Type header, lower-cased ('' when absent)."""
        return next((v.lower() for k, v in self.headers if k.lower() == "content-type"), "")


def to_emulator(emulator: SheetsTransport, call: Call, origin: str) -> Reply:
    """Hand ``call`` to the Sheets emulator as gspread's ``requests`` session would."""
    prepared = requests.PreparedRequest()
    prepared.method = call.method
    prepared.url = call.target(origin)
    prepared.headers = CaseInsensitiveDict(call.forwarded_headers())
    prepared.body = call.body or None
    try:
        response = emulator.send(prepared, timeout=None)
    except requests.exceptions.Timeout:
        return Reply.lost()
    headers = [(k, v) for k, v in response.headers.items() if k.lower() not in HOP_BY_HOP]
    return Reply(response.status_code, headers, response.content)


def to_transport(transport: httpx.BaseTransport, call: Call, origin: str) -> Reply:
    """Hand ``call`` to a simulator's httpx transport as the adapter's client would."""
    request = httpx.Request(
        call.method, call.target(origin), headers=call.forwarded_headers(), content=call.body
    )
    try:
        response = transport.handle_request(request)
        body = response.read()
    except httpx.TransportError:  # an injected timeout: the answer never comes
        return Reply.lost()
    headers = [
        (k, v)
        for k, v in response.headers.multi_items()
        if k.lower() not in HOP_BY_HOP and k.lower() != "content-encoding"
    ]
    return Reply(response.status_code, headers, body)


@dataclass
class HostMap:
    """Real origins (``https://host``) and the sandbox URLs that stand for them."""

    local: dict[str, str] = field(default_factory=dict)
    """Real origin → sandbox URL (``http://127.0.0.1:PORT/<prefix>``)."""

    @classmethod
    def of(cls, base_url: str, prefixes: Mapping[str, str]) -> HostMap:
        """From the sandbox's base URL and prefix → real origin."""
        return cls({origin: f"{base_url}/{prefix}" for prefix, origin in prefixes.items()})

    def rewrite(self, reply: Reply) -> Reply:
        """Point every real origin in the reply's links and text body at the sandbox."""
        if not self.local or reply.drop:
            return reply
        reply.headers = [
            (k, self._swap(v)) if k.lower() in ("location", "content-location") else (k, v)
            for k, v in reply.headers
        ]
        if any(kind in reply.content_type() for kind in TEXT_TYPES):
            text = reply.body.decode("utf-8", "surrogateescape")
            swapped = self._swap(text)
            if swapped != text:
                reply.body = swapped.encode("utf-8", "surrogateescape")
        return reply

    def _swap(self, text: str) -> str:
        for origin, local in self.local.items():
            if origin in text:
                text = text.replace(origin, local)
        return text


def split_prefix(path: str) -> tuple[str, str]:
    """``/rakuten/es/2.0/x`` → (``rakuten``, ``/es/2.0/x``)."""
    head, _, rest = path.lstrip("/").partition("/")
    return head, "/" + rest


def header_pairs(items: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """Headers as an immutable sequence of pairs."""
    return tuple((str(k), str(v)) for k, v in items)
