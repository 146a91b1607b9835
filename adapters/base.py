"""The mall adapter contract, its error tree and shared httpx plumbing.

Error tree (named by what the caller should do, translated at the boundary)::

    MallError
    ├── AuthError        credentials wrong or expired: park the mall, alert once
    ├── RateLimited      back off for ``retry_after`` seconds
    ├── TransientError   retry with backoff (timeouts, 409/5xx)
    └── MallRejected     this item's update was refused: log it per item, carry on
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import ClassVar, Protocol, runtime_checkable

from bot.domain import CheckResult, OrderLine, PushResult, StockPush


class MallError(Exception):
    """Base of every error an adapter raises; the worker never sees httpx errors."""


class AuthError(MallError):
    """Expired or wrong credentials: alert and stop that mall until fixed."""


class RateLimited(MallError):
    """The mall asked us to slow down."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TransientError(MallError):
    """Timeouts, conflicts and 5xx: retry with backoff."""


class MallRejected(MallError):
    """The mall refused this request's content (400-class); do not retry it."""


@runtime_checkable
class MallAdapter(Protocol):
    """What every mall module implements (ARCHITECTURE.md §5)."""

    name: ClassVar[str]

    def check(self) -> CheckResult:
        """接続テスト: auth plus one cheap read call."""
        ...

    def fetch_order_lines(self, since: datetime, until: datetime) -> list[OrderLine]:
        """Current state of every order line changed in [since, until]."""
        ...

    def read_stock(self, codes: Sequence[str]) -> dict[str, int]:
        """Quantities the mall shows now; unknown codes are left out."""
        ...

    def push_stock(self, pushes: Sequence[StockPush]) -> list[PushResult]:
        """Push absolute quantities; one result per push, in order."""
        ...

    @staticmethod
    def canonical_code(code: str) -> str:
        """The form of a sheet code that order lines and pushes use."""
        ...
