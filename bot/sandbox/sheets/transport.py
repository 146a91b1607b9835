"""The HTTP transport: a ``requests`` adapter with a call log and fault injection.

Why an adapter and not mocks: the gateway under test must be exactly the production
code, down to the URLs gspread builds and the JSON it parses. So the emulator answers
HTTP, mounted on ``https://sheets.googleapis.com/`` of a ``requests.Session``, and real
gspread 6.2.1 talks to it unmodified. Everything else on that session is refused loudly
(:class:`DenyAllAdapter`), so a test can never reach the network by accident.

This is also where the emulator plays the parts a test needs to be honest about Google:
every request is recorded and counted (including injected failures; the quota window
counts only requests it accepted), injected 429/5xx faults, a per-minute quota, "the
write landed but the response was lost", and staff edits made between two API calls.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Literal, cast
from urllib.parse import parse_qs, urlsplit

import gspread
import requests
from gspread.http_client import HTTPClient
from requests.adapters import BaseAdapter
from requests.models import PreparedRequest, Response
from requests.structures import CaseInsensitiveDict

from bot.infra.clock import Clock, RealClock
from bot.sandbox.sheets.cell_data import _field_tree, _select_fields
from bot.sandbox.sheets.model import _STATUS_NAMES, JSON, _ApiError, _bad, _Book, _Options
from bot.sandbox.sheets.routing import _first, _read, _Route, _route, _write
from bot.sandbox.sheets.values import _values_batch_get_by_data_filter

SHEETS_PREFIX = "https://sheets.googleapis.com/"
"""Where gspread sends every Sheets v4 call; the emulator is mounted here."""
QUOTA_WINDOW_SECONDS = 60.0

Kind = Literal["read", "write"]


def _quota_message(kind: Kind) -> str:
    """The 429 text Google sends for a service account over its per-user minute."""
    metric = "Read requests" if kind == "read" else "Write requests"
    return (
        f"Quota exceeded for quota metric '{metric}' and limit '{metric} per minute per user' "
        "of service 'sheets.googleapis.com' for consumer 'project_number:000000000000'."
    )


class NetworkDenied(RuntimeError):
    """A test tried to reach a host other than the emulated Sheets API.

    Deliberately not a ``requests`` exception: production code catches those and
    retries, and a test that wandered onto the network must fail at once instead.
    """


class DenyAllAdapter(BaseAdapter):
    """Transport for every host but Sheets in tests: refuses each request loudly."""

    def send(
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> Response:
        """Raise :class:`NetworkDenied` naming the request."""
        raise NetworkDenied(
            f"tests never reach the network; refused {request.method} {request.url}"
        )

    def close(self) -> None:
        """Nothing to release."""


@dataclass
class RequestRecord:
    """One HTTP call the emulator saw, for quota figures and race tests."""

    method: str
    path: str
    """URL path as sent (still percent-encoded)."""
    kind: Kind
    """Quota bucket: ``read`` for GETs, ``write`` for everything else."""
    op: str
    """API method, e.g. ``values.batchGet`` or ``spreadsheets.batchUpdate``."""
    spreadsheet_id: str
    ranges: tuple[str, ...] = ()
    """Decoded A1 ranges the call named (values calls)."""
    request_types: tuple[str, ...] = ()
    """Request kinds of a ``:batchUpdate`` (``updateCells``, ``appendCells``, …)."""
    timestamp: float = 0.0
    """``clock.monotonic()`` when the call arrived."""
    timeout: Any = None
    """The timeout requests passed down (so tests can assert one was set)."""
    status: int = 0
    """HTTP status answered (0 while in flight; 200 also for an apply-then-timeout)."""


@dataclass
class _Hook:
    callback: Callable[[], object]
    remaining: int
    kind: Kind | None


@dataclass
class _Fault:
    status: int
    remaining: int
    kind: Kind | None


class SheetsTransport(BaseAdapter):
    """The HTTP half of the emulator: a ``requests`` transport adapter plus fault injection.

    Routes each call to the handler that answers it, applies writes all-or-nothing, and
    keeps what tests assert on: the call log (:attr:`requests`, :meth:`counts`),
    injected faults (:meth:`fail_next`, :meth:`timeout_after_apply_next`, the quota),
    and staff edits between two calls (:meth:`before_next`, :meth:`on_request`).
    :class:`SheetsEmulator` adds the set-up and the direct staff helpers.
    """

    def __init__(
        self,
        *,
        quota_per_minute: int | None = None,
        clock: Clock | None = None,
        strict_metadata_filters: bool = False,
    ) -> None:
        """``quota_per_minute`` turns on a rolling 60 s read and write quota (429 past it)."""
        super().__init__()
        self._lock = threading.RLock()
        self._clock: Clock = clock or RealClock()
        self._books: dict[str, _Book] = {}
        self._created = 0
        self._faults: list[_Fault] = []
        self._hooks: list[_Hook] = []
        self._listeners: list[Callable[[RequestRecord], object]] = []
        self._timeouts_pending = 0
        self._quota = quota_per_minute
        self._window: dict[str, deque[float]] = {"read": deque(), "write": deque()}
        self._options = _Options(strict_metadata_filters=strict_metadata_filters)
        self.requests: list[RequestRecord] = []
        """Every call received, in order (see :class:`RequestRecord`)."""

    # -- pickling ---------------------------------------------------------------

    def __getstate__(self) -> dict[str, Any]:
        """The emulator as data, for a sandbox that keeps it in a file.

        Books, the call log, pending faults and the quota window are kept; the lock is
        made anew, and the callbacks of :meth:`before_next` and :meth:`on_request` belong
        to the process that registered them, so they are not carried over.
        """
        with self._lock:
            state = dict(self.__dict__)
            for book in self._books.values():
                if book.shared.journal is not None:
                    raise RuntimeError("cannot pickle the emulator in the middle of a write")
        del state["_lock"]
        state["_hooks"] = []
        state["_listeners"] = []
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()

    # -- wiring -----------------------------------------------------------------

    def mount(self, session: requests.Session) -> requests.Session:
        """Mount the emulator on ``session`` and refuse every other host on it."""
        deny = DenyAllAdapter()
        session.mount("https://", deny)
        session.mount("http://", deny)
        session.mount(SHEETS_PREFIX, self)
        return session

    def session(self) -> requests.Session:
        """A fresh ``requests.Session`` wired to the emulator (for a custom HTTPClient).

        ``trust_env`` is off so no proxy variables or ``~/.netrc`` leak into tests.
        """
        session = requests.Session()
        session.trust_env = False
        return self.mount(session)

    def client(
        self,
        timeout: float | tuple[float, float] | None = (5, 30),
        http_client: type[HTTPClient] = HTTPClient,
    ) -> gspread.Client:
        """A real gspread client on the emulator, with a timeout set as production does."""
        gc = gspread.Client(auth=cast(Any, None), session=self.session(), http_client=http_client)
        gc.set_timeout(timeout)
        return gc

    def close(self) -> None:
        """Sessions close their adapters; the book must outlive any one session."""

    # -- test controls ------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        """Requests received per quota bucket since the last :meth:`reset_counts`."""
        with self._lock:
            out = {"read": 0, "write": 0}
            for rec in self.requests:
                out[rec.kind] += 1
            return out

    def reset_counts(self) -> None:
        """Forget the call log (the quota window is the server's and is kept)."""
        with self._lock:
            self.requests.clear()

    def fail_next(self, status: int, times: int = 1, *, kind: Kind | None = None) -> None:
        """Answer the next ``times`` requests (of ``kind``, if given) with ``status``.

        429 carries Google's per-user quota message; 500 INTERNAL, 503 UNAVAILABLE and
        the other statuses in ``_STATUS_NAMES`` their usual bodies. Nothing is applied.
        """
        if status not in _STATUS_NAMES:
            raise ValueError(f"unsupported status {status}; use one of {sorted(_STATUS_NAMES)}")
        if times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._faults.append(_Fault(status, times, kind))

    def timeout_after_apply_next(self, times: int = 1) -> None:
        """Apply the next write(s), then raise ``requests.exceptions.ReadTimeout``.

        The unknown-outcome case: the change is in the sheet but the caller never learns.
        """
        with self._lock:
            self._timeouts_pending += times

    def before_next(
        self, callback: Callable[[], object], nth: int = 1, *, kind: Kind | None = None
    ) -> None:
        """Run ``callback`` just before the ``nth`` next request (of ``kind``) is handled.

        The callback may edit the book through the direct helpers, like staff typing
        between two API calls.
        """
        if nth < 1:
            raise ValueError("nth must be at least 1")
        with self._lock:
            self._hooks.append(_Hook(callback, nth, kind))

    def on_request(self, callback: Callable[[RequestRecord], object]) -> Callable[[], None]:
        """Run ``callback(record)`` before every request is handled; returns an unsubscriber."""
        with self._lock:
            self._listeners.append(callback)

        def remove() -> None:
            with self._lock:
                if callback in self._listeners:
                    self._listeners.remove(callback)

        return remove

    # -- HTTP ---------------------------------------------------------------------

    def send(
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> Response:
        """Handle one Sheets API call the way Google would, plus the test controls."""
        method = (request.method or "GET").upper()
        parts = urlsplit(request.url or "")
        params = parse_qs(parts.query, keep_blank_values=True)
        route = _route(method, parts.path)
        body, body_error = self._body(request)
        record = self._record(method, parts.path, route, params, body, timeout)
        self._announce(record)
        with self._lock:
            payload, status, applied = self._answer(record, route, params, body, body_error)
            record.status = status
            lose_response = applied and record.kind == "write" and self._timeouts_pending > 0
            if lose_response:
                self._timeouts_pending -= 1
        if lose_response:
            raise requests.exceptions.ReadTimeout(
                f"emulated read timeout after applying {method} {parts.path}", request=request
            )
        return self._response(request, status, payload)

    def _record(
        self,
        method: str,
        path: str,
        route: _Route | None,
        params: Mapping[str, list[str]],
        body: JSON,
        timeout: Any,
    ) -> RequestRecord:
        """The call-log entry of one request, stamped on arrival."""
        kind: Kind = (
            "read" if method == "GET" or path.endswith(":batchGetByDataFilter") else "write"
        )
        return RequestRecord(
            method=method,
            path=path,
            kind=kind,
            op=route.op if route else "unknown",
            spreadsheet_id=route.spreadsheet_id if route else "",
            ranges=self._ranges(route, params, body),
            request_types=tuple(
                next(iter(r), "?") for r in body.get("requests") or [] if isinstance(r, Mapping)
            )
            if route and route.op == "spreadsheets.batchUpdate"
            else (),
            timestamp=self._clock.monotonic(),
            timeout=timeout,
        )

    def _announce(self, record: RequestRecord) -> None:
        """Log the call, then run the staff edits due and the listeners (outside the lock)."""
        with self._lock:
            self.requests.append(record)
            due = [h for h in self._hooks if h.kind in (None, record.kind)]
            fired: list[Callable[[], object]] = []
            for hook in due:
                hook.remaining -= 1
                if hook.remaining == 0:
                    fired.append(hook.callback)
                    self._hooks.remove(hook)
            listeners = list(self._listeners)
        for callback in fired:
            callback()
        for listener in listeners:
            listener(record)

    def _answer(
        self,
        record: RequestRecord,
        route: _Route | None,
        params: Mapping[str, list[str]],
        body: JSON,
        body_error: str,
    ) -> tuple[JSON, int, bool]:
        """(payload, status, applied) of one call; runs under the lock."""
        try:
            self._gate(record.kind)
            if route is None:
                raise _ApiError(404, f"Method not found: {record.method} {record.path}")
            if body_error:
                raise _bad(body_error)
            payload = self._handle(route, _first(params), params, body)
            if params.get("fields"):
                payload = _select_fields(payload, _field_tree(params["fields"][0]))
            return payload, 200, True
        except _ApiError as err:
            return err.body(), err.code, False
        except (AttributeError, KeyError, TypeError, ValueError) as err:
            # A body of the wrong shape (a list where an object belongs, …): Google
            # answers 400, and the Python detail helps whoever wrote the request.
            payload = _bad(f"Invalid JSON payload received ({type(err).__name__}: {err}).").body()
            return payload, 400, False

    def _gate(self, kind: Kind) -> None:
        """Injected faults first, then the quota; raises the error to answer."""
        for fault in self._faults:
            if fault.kind in (None, kind):
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._faults.remove(fault)
                name, message = _STATUS_NAMES[fault.status]
                raise _ApiError(fault.status, message or _quota_message(kind), name)
        if self._quota is not None:
            now = self._clock.monotonic()
            window = self._window[kind]
            while window and window[0] <= now - QUOTA_WINDOW_SECONDS:
                window.popleft()
            if len(window) >= self._quota:
                raise _ApiError(429, _quota_message(kind))
            window.append(now)

    @staticmethod
    def _body(request: PreparedRequest) -> tuple[JSON, str]:
        raw = request.body
        if raw is None or raw in (b"", ""):
            return {}, ""
        try:
            data = json.loads(raw)
        except (ValueError, TypeError):
            return {}, "Invalid JSON payload received."
        if not isinstance(data, dict):
            return {}, "Invalid JSON payload received. Expected an object."
        return data, ""

    @staticmethod
    def _ranges(
        route: _Route | None, params: Mapping[str, list[str]], body: JSON
    ) -> tuple[str, ...]:
        if route is None:
            return ()
        if route.range_text:
            return (route.range_text,)
        if route.op == "values.batchGet":
            return tuple(params.get("ranges", []))
        if route.op == "values.batchGetByDataFilter":
            return tuple(
                str(f.get("a1Range"))
                for f in body.get("dataFilters") or []
                if isinstance(f, Mapping)
            )
        if route.op == "values.batchUpdate":
            return tuple(
                str(d.get("range")) for d in body.get("data") or [] if isinstance(d, Mapping)
            )
        if route.op == "values.batchClear":
            return tuple(str(r) for r in body.get("ranges") or [])
        if route.op == "spreadsheets.batchUpdate":  # what the answer is asked to carry
            return tuple(str(r) for r in body.get("responseRanges") or [])
        return ()

    def _handle(
        self, route: _Route, params: Mapping[str, str], multi: Mapping[str, list[str]], body: JSON
    ) -> JSON:
        book = self._books.get(route.spreadsheet_id)
        if book is None:
            raise _ApiError(404, "Requested entity was not found.")
        if route.op == "values.batchGetByDataFilter":  # a read sent as POST
            return _values_batch_get_by_data_filter(book, body)
        answer = _read(book, route, params, multi)
        if answer is not None:
            return answer
        return self._transaction(
            book, lambda work: _write(work, route, params, body, self._options)
        )

    @staticmethod
    def _transaction(book: _Book, apply: Callable[[_Book], JSON]) -> JSON:
        """Run ``apply`` on the book and roll it all back if anything failed.

        All-or-nothing without a copy: the book journals what ``apply`` replaces
        (:mod:`~bot.sandbox.sheets.store`), so a write costs what it touches.
        """
        book.begin()
        try:
            result = apply(book)
        except BaseException:
            book.roll_back()
            raise
        book.commit()
        return result

    @staticmethod
    def _response(request: PreparedRequest, status: int, payload: JSON) -> Response:
        resp = Response()
        resp.status_code = status
        resp.reason = HTTPStatus(status).phrase
        resp.headers = CaseInsensitiveDict({"Content-Type": "application/json; charset=UTF-8"})
        resp._content = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        resp.encoding = "utf-8"
        resp.url = request.url or ""
        resp.request = request
        return resp
