"""Rotating channel tokens: ciphertext only in _state, survive a restart, never lost."""

from __future__ import annotations

from bot.infra.secretbox import SecretBox
from bot.shell.tokens import TokenVault

SECRET = "rt-SENTINEL-refresh-token-1234567890"


def test_a_saved_token_reaches_state_encrypted_and_comes_back_after_a_restart() -> None:
    key = SecretBox.generate_key()
    vault = TokenVault(SecretBox(key))
    vault.store("yahoo").save("refresh_token", SECRET)
    rows = vault.rows()
    assert list(rows) == ["token:yahoo:refresh_token"]
    assert SECRET not in rows["token:yahoo:refresh_token"]

    restarted = TokenVault(SecretBox(key))
    restarted.load({"cursor:yahoo": "2026-11-23T09:00:00+09:00", **rows})
    assert restarted.store("yahoo").load("refresh_token") == SECRET
    assert restarted.store("base").load("refresh_token") is None  # scoped per channel
    assert restarted.rows() == rows  # unchanged ciphertext: the cell is not rewritten


def test_an_unchanged_token_keeps_its_ciphertext() -> None:
    vault = TokenVault(SecretBox(SecretBox.generate_key()))
    tokens = vault.store("base")
    tokens.save("refresh_token", SECRET)
    first = vault.rows()
    tokens.save("refresh_token", SECRET)
    assert vault.rows() == first
    tokens.save("refresh_token", SECRET + "-rotated")
    assert vault.rows() != first


def test_a_token_the_key_cannot_read_is_kept_not_erased() -> None:
    written = TokenVault(SecretBox(SecretBox.generate_key()))
    written.store("yahoo").save("refresh_token", SECRET)
    other_key = TokenVault(SecretBox(SecretBox.generate_key()))
    other_key.load(written.rows())
    assert other_key.store("yahoo").load("refresh_token") is None
    assert other_key.rows() == written.rows()  # still written back with the next commit


def test_without_a_key_tokens_live_in_memory_only() -> None:
    vault = TokenVault(None)
    vault.store("yahoo").save("refresh_token", SECRET)
    assert vault.store("yahoo").load("refresh_token") == SECRET
    assert vault.rows() == {}
