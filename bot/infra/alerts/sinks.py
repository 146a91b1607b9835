"""The sink protocol the worker sends to, and the console sink."""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Sequence
from typing import Protocol, TextIO

from bot.core.domain import Alert
from bot.infra.alerts.blocks import format_console

log = logging.getLogger("bot.infra.alerts")


class AlertSink(Protocol):
    """Where the worker sends each cycle's alerts."""

    def send(self, alerts: Sequence[Alert]) -> None:
        """Hand over one batch; never blocks on the network and never raises."""
        ...

    def flush(self, timeout: float) -> bool:
        """Wait until everything sent so far is delivered; False on timeout."""
        ...

    def close(self, timeout: float = 5.0) -> None:
        """Deliver what can be delivered within ``timeout`` and release resources."""
        ...


class ConsoleAlerts:
    """Prints alerts as Japanese lines; the sink when no Slack token is configured.

    On Heroku stdout is the log drain, so this is also where alerts go when Slack
    refuses the bot: nothing is lost, only less visible.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def send(self, alerts: Sequence[Alert]) -> None:
        """Write the batch at once (a console write is local and quick)."""
        try:
            text = format_console(alerts)
            if not text:
                return
            # Resolve stdout late so a redirected/captured stdout is honoured.
            stream = self._stream if self._stream is not None else sys.stdout
            with self._lock:
                stream.write(text)
                stream.flush()
        except Exception:
            log.exception("Could not write alerts to the console")

    def flush(self, timeout: float) -> bool:
        """Nothing is ever pending."""
        return True

    def close(self, timeout: float = 5.0) -> None:
        """The stream belongs to the caller; nothing to release."""
