"""A fake Slack Web API on 127.0.0.1 for tests (slack-sdk talks urllib, not httpx).

slack_sdk's WebClient posts with stdlib urllib, so transport mocks cannot intercept
it; like slack-sdk's own test suite we run a real local HTTP server and point the
client at it with ``base_url``. ``auth.test`` and ``chat.postMessage`` are implemented, with the
answers real Slack gives that zaiko-bot must handle: ``invalid_auth`` for a wrong
token (HTTP 200), ``channel_not_found``, 429 with ``Retry-After``, 5xx, a refused
connection, and ``invalid_blocks`` for payloads over Block Kit limits.

Usage::

    with FakeSlack(token="xoxb-test") as slack:
        client = WebClient(token="xoxb-test", base_url=slack.base_url, retry_handlers=[])
        slack.fail_next(status=429, retry_after=1)
        ...
        assert slack.wait_for(1)
        slack.messages[0]["blocks"]
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Collection
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal

MAX_BODY = 1_000_000
"""Bytes; a bigger request is answered 413 without being read (bounded memory)."""
MAX_MESSAGES = 10_000


class _Failure:
    """One scheduled failure answer."""

    def __init__(self, status: int, retry_after: int | None, error: str | None) -> None:
        self.status = status
        self.retry_after = retry_after
        self.error = error


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, fake: FakeSlack, port: int) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", port), _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = 5  # a stalled client cannot hold a handler thread for long

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def do_POST(self) -> None:
        fake = self.server.fake
        if self.path.split("?", 1)[0] == "/api/auth.test":
            self._reply(200, fake._auth_test(self.headers.get("Authorization", "")))
            return
        if self.path.split("?", 1)[0] != "/api/chat.postMessage":
            self._reply(404, {"ok": False, "error": "unknown_method"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.close_connection = True
            self._reply(413, {"ok": False, "error": "request_too_large"})
            return
        raw = self.rfile.read(length)
        status, body, headers = fake._answer(self.headers.get("Authorization", ""), raw)
        self._reply(status, body, headers)

    def _reply(
        self, status: int, body: dict[str, Any] | str, headers: dict[str, str] | None = None
    ) -> None:
        data = (json.dumps(body) if isinstance(body, dict) else body).encode()
        self.send_response(status)
        ctype = "application/json; charset=utf-8" if isinstance(body, dict) else "text/plain"
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


class FakeSlack:
    """A local chat.postMessage endpoint that records messages and fails on demand."""

    def __init__(
        self,
        token: str = "xoxb-fake-0000-token",
        *,
        channels: Collection[str] | None = None,
    ) -> None:
        self.token = token
        self.channels = set(channels) if channels is not None else None
        """None accepts any channel; otherwise others get ``channel_not_found``."""
        self.messages: list[dict[str, Any]] = []
        """Parsed JSON bodies of accepted posts, in arrival order."""
        self.received_at: list[float] = []
        """time.monotonic() of each accepted post (to check spacing)."""
        self.attempts = 0
        """Every chat.postMessage request that reached the server, failed or not."""
        self._failures: deque[_Failure] = deque()
        self._down: Literal["refuse", "503"] | None = None
        self._cond = threading.Condition()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._port = 0
        self._start()

    # ------------------------------------------------------------------ controls

    @property
    def base_url(self) -> str:
        """For ``WebClient(base_url=...)``."""
        return f"http://127.0.0.1:{self._port}/api/"

    def fail_next(
        self,
        status: int = 429,
        retry_after: int | None = 1,
        times: int = 1,
        error: str | None = None,
    ) -> None:
        """Answer the next ``times`` posts with ``status`` (and Slack's error body).

        ``status=200`` with ``error="invalid_blocks"`` (say) gives the ok:false answers
        Slack sends with HTTP 200. ``retry_after`` is sent as a header on 429 only.
        """
        with self._cond:
            for _ in range(times):
                self._failures.append(_Failure(status, retry_after, error))

    def go_down(self, mode: Literal["refuse", "503"] = "refuse") -> None:
        """Stop answering: close the port (connection refused) or answer 503."""
        with self._cond:
            self._down = mode
        if mode == "refuse":
            self._stop_server()

    def come_up(self) -> None:
        """Answer again, on the same port."""
        with self._cond:
            was = self._down
            self._down = None
        if was == "refuse":
            self._start(self._port)

    def wait_for(self, count: int, timeout: float = 2.0) -> bool:
        """Wait until ``count`` messages were accepted; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self.messages) >= count, timeout=timeout)

    def texts(self) -> list[str]:
        """Top-level ``text`` of each accepted message."""
        with self._cond:
            return [str(m.get("text", "")) for m in self.messages]

    def close(self) -> None:
        """Stop the server and its thread; safe to call twice."""
        self._stop_server()

    def __enter__(self) -> FakeSlack:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ server

    def _start(self, port: int = 0) -> None:
        server = _Server(self, port)
        self._server = server
        self._port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="fake-slack",
            daemon=True,
        )
        self._thread.start()

    def _stop_server(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(5)

    def _auth_test(self, authorization: str) -> dict[str, Any]:
        """``auth.test``: who the token is (HTTP 200 with ok:false for a wrong one)."""
        if authorization.removeprefix("Bearer ") != self.token:
            return {"ok": False, "error": "invalid_auth"}
        return {"ok": True, "user": "zaiko-bot", "team": "テスト店", "user_id": "U0BOT"}

    def _answer(
        self, authorization: str, raw: bytes
    ) -> tuple[int, dict[str, Any] | str, dict[str, str]]:
        """Decide the reply to one post; called from a handler thread."""
        with self._cond:
            self.attempts += 1
            if self._down == "503":
                return 503, "service unavailable", {}
            if self._failures:
                failure = self._failures.popleft()
                headers: dict[str, str] = {}
                if failure.status == 429 and failure.retry_after is not None:
                    headers["Retry-After"] = str(failure.retry_after)
                default = "ratelimited" if failure.status == 429 else "internal_error"
                return failure.status, {"ok": False, "error": failure.error or default}, headers
        if not authorization.startswith("Bearer "):
            return 200, {"ok": False, "error": "not_authed"}, {}
        if authorization.removeprefix("Bearer ") != self.token:
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return 200, {"ok": False, "error": "invalid_json"}, {}
        if not isinstance(body, dict):
            return 200, {"ok": False, "error": "invalid_json"}, {}
        channel = body.get("channel")
        if not channel or (self.channels is not None and channel not in self.channels):
            return 200, {"ok": False, "error": "channel_not_found"}, {}
        problem = _check_payload(body)
        if problem:
            return 200, {"ok": False, "error": problem}, {}
        with self._cond:
            if len(self.messages) >= MAX_MESSAGES:
                return 200, {"ok": False, "error": "fake_slack_full"}, {}
            self.messages.append(body)
            self.received_at.append(time.monotonic())
            ts = f"{1_700_000_000 + len(self.messages)}.000100"
            self._cond.notify_all()
        return (
            200,
            {"ok": True, "channel": channel, "ts": ts, "message": {"text": body.get("text", "")}},
            {},
        )


def _check_payload(body: dict[str, Any]) -> str | None:
    """The Block Kit limits real Slack enforces (and that alerts.py must respect)."""
    blocks = body.get("blocks")
    if not body.get("text") and not blocks:
        return "no_text"
    if blocks is None:
        return None
    if isinstance(blocks, str):
        try:
            blocks = json.loads(blocks)
        except json.JSONDecodeError:
            return "invalid_blocks_format"
    if not isinstance(blocks, list) or len(blocks) > 50:
        return "invalid_blocks"
    for block in blocks:
        if not isinstance(block, dict):
            return "invalid_blocks"
        text = block.get("text") or {}
        content = text.get("text", "") if isinstance(text, dict) else ""
        if block.get("type") == "header" and (
            text.get("type") != "plain_text" or len(content) > 150
        ):
            return "invalid_blocks"
        if block.get("type") == "section" and len(content) > 3000:
            return "invalid_blocks"
    return None
