"""An alert sink that keeps what it is sent (tests, and the demo's summary)."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from bot.core.domain import Alert


class MemoryAlerts:
    """Records every batch exactly as sent (tests, and the demo's summary)."""

    def __init__(self) -> None:
        self.batches: list[list[Alert]] = []
        self._lock = threading.Lock()

    @property
    def alerts(self) -> list[Alert]:
        """All alerts of all batches, in order."""
        with self._lock:
            return [a for batch in self.batches for a in batch]

    def send(self, alerts: Sequence[Alert]) -> None:
        """Record the batch (empty batches are ignored, as Slack would send nothing)."""
        if alerts:
            with self._lock:
                self.batches.append(list(alerts))

    def flush(self, timeout: float) -> bool:
        """Nothing is ever pending."""
        return True

    def close(self, timeout: float = 5.0) -> None:
        """Nothing to release."""

    def clear(self) -> None:
        """Forget what was recorded."""
        with self._lock:
            self.batches.clear()
