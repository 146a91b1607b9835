"""SecretBox: Fernet round trip, wrong keys, damaged tokens, key rotation."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from bot.infra.secretbox import SecretBox, SecretBoxError

TOKEN = "yahoo-refresh-トークン-0123456789"


def test_round_trip() -> None:
    box = SecretBox(SecretBox.generate_key())
    ciphertext = box.encrypt(TOKEN)

    assert ciphertext.isascii()
    assert TOKEN not in ciphertext
    assert box.decrypt(ciphertext) == TOKEN
    assert box.encrypt(TOKEN) != ciphertext  # random IV: equal secrets do not look equal


def test_accepts_secret_str_key() -> None:
    key = SecretBox.generate_key()
    assert SecretBox(SecretStr(key)).decrypt(SecretBox(key).encrypt("x")) == "x"


def test_wrong_key_raises_japanese_error_without_secrets() -> None:
    right, wrong = SecretBox.generate_key(), SecretBox.generate_key()
    ciphertext = SecretBox(right).encrypt(TOKEN)

    with pytest.raises(SecretBoxError, match="ZAIKO_SECRET_KEY") as info:
        SecretBox(wrong).decrypt(ciphertext)

    message = str(info.value)
    assert "復号できません" in message
    for secret in (right, wrong, ciphertext, TOKEN):
        assert secret not in message
    assert info.value.__suppress_context__


@pytest.mark.parametrize("damaged", ["", "gAAAAA-not-a-token", "暗号文"])
def test_damaged_token(damaged: str) -> None:
    with pytest.raises(SecretBoxError):
        SecretBox(SecretBox.generate_key()).decrypt(damaged)


@pytest.mark.parametrize("key", ["", "  ", "too-short", "ひみつのかぎ"])
def test_invalid_key(key: str) -> None:
    with pytest.raises(SecretBoxError) as info:
        SecretBox(key)
    assert "ZAIKO_SECRET_KEY" in str(info.value)
    if key.strip():
        assert key not in str(info.value)


def test_key_rotation_new_first_old_second() -> None:
    old, new = SecretBox.generate_key(), SecretBox.generate_key()
    stored_with_old = SecretBox(old).encrypt(TOKEN)

    rotating = SecretBox(f"{new}, {old}")

    assert rotating.decrypt(stored_with_old) == TOKEN
    assert SecretBox(new).decrypt(rotating.encrypt(TOKEN)) == TOKEN


def test_invalid_second_key_named() -> None:
    with pytest.raises(SecretBoxError, match="2 番目"):
        SecretBox(f"{SecretBox.generate_key()},nope")


def test_repr_hides_key() -> None:
    key = SecretBox.generate_key()
    assert key not in repr(SecretBox(key))
    assert key not in str(SecretBox(key))


def test_generate_key_is_fresh_ascii() -> None:
    first, second = SecretBox.generate_key(), SecretBox.generate_key()
    assert first != second
    assert first.isascii()
    assert len(first) == 44
