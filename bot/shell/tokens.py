"""Rotating channel tokens kept encrypted in ``_state`` (ARCHITECTURE §8).

Some channels rotate their credentials (Yahoo's tokens after ``auth yahoo``, BASE's
refresh tokens): the newest one must survive a restart on a platform with no disk, so
the worker keeps it in the sheet's hidden ``_state`` tab — as Fernet ciphertext under
``ZAIKO_SECRET_KEY``, useless without the key, which lives only in the environment.

Each channel sees its own :class:`~adapters.base.TokenStore` (``vault.store(key)``);
the worker loads the vault from ``_state`` at start and writes :meth:`TokenVault.rows`
with every commit (``_state`` is rewritten whole, so the rows go every time; the
ciphertext of an unchanged token is reused, so the cell does not change).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from bot.infra.secretbox import SecretBox, SecretBoxError

log = logging.getLogger(__name__)

PREFIX = "token:"


class TokenVault:
    """Every channel's rotating tokens: plaintext in memory, ciphertext for ``_state``."""

    def __init__(self, box: SecretBox | None) -> None:
        self._box = box
        self._plain: dict[str, str] = {}
        self._cipher: dict[str, str] = {}
        self._seen: set[str] = set()
        """Every ciphertext this vault wrote or read: a new one in ``_state`` is news."""

    @property
    def can_keep(self) -> bool:
        """Tokens reach ``_state`` (``ZAIKO_SECRET_KEY`` is set)."""
        return self._box is not None

    def store(self, channel: str) -> ChannelTokens:
        """The TokenStore one channel is built with."""
        return ChannelTokens(self, channel)

    def load(self, state: Mapping[str, str]) -> None:
        """Take the tokens ``_state`` holds (start-up); unreadable ones are kept as they are."""
        for key, cipher in state.items():
            if not key.startswith(PREFIX) or not cipher:
                continue
            self._cipher[key] = cipher  # never dropped from _state, even if unreadable
            self._seen.add(cipher)
            if self._box is None:
                log.warning("%s is in _state but ZAIKO_SECRET_KEY is not set", key)
                continue
            try:
                self._plain[key] = self._box.decrypt(cipher)
            except SecretBoxError:
                log.warning("%s in _state cannot be decrypted with ZAIKO_SECRET_KEY", key)

    def sync(self, state: Mapping[str, str]) -> set[str]:
        """Adopt tokens someone else wrote to ``_state`` meanwhile (``auth`` while running).

        Fernet ciphertexts never repeat, so one this vault has not seen is newer than
        what it holds; without this, the next commit would write the old one back.
        Returns the channels whose tokens changed.
        """
        news = {
            key: cipher
            for key, cipher in state.items()
            if key.startswith(PREFIX) and cipher and cipher not in self._seen
        }
        if news:
            log.info("adopting tokens written to _state by another process: %s", sorted(news))
            self.load(news)
        return {key.removeprefix(PREFIX).split(":", 1)[0] for key in news}

    def rows(self) -> dict[str, str]:
        """The ``_state`` rows to write with the next commit (ciphertext only)."""
        return dict(self._cipher)

    def get(self, key: str) -> str | None:
        """A token's plaintext, by its ``_state`` key."""
        return self._plain.get(key)

    def put(self, key: str, value: str) -> None:
        """Keep a new token; it reaches ``_state`` with the next commit."""
        if self._plain.get(key) == value:
            return
        self._plain[key] = value
        if self._box is None:
            log.warning("%s kept in memory only: set ZAIKO_SECRET_KEY to keep it in _state", key)
            return
        self._cipher[key] = self._box.encrypt(value)
        self._seen.add(self._cipher[key])


@dataclass(frozen=True)
class ChannelTokens:
    """One channel's view of the vault (``adapters.base.TokenStore``)."""

    vault: TokenVault
    channel: str

    def load(self, name: str) -> str | None:
        """The newest token saved under ``name`` for this channel."""
        return self.vault.get(self._key(name))

    def save(self, name: str, value: str) -> None:
        """Keep a rotated token."""
        self.vault.put(self._key(name), value)

    def _key(self, name: str) -> str:
        return f"{PREFIX}{self.channel}:{name}"
