"""Encryption of the few secrets the worker must keep in the sheet (ARCHITECTURE.md §8).

Some malls rotate their tokens (Yahoo after ``auth yahoo``, BASE refresh tokens). On a
platform without a disk the newest token has to survive a restart somewhere, and the
only store the bot has is the spreadsheet's hidden ``_state`` tab. So the token is
written there as a Fernet ciphertext: anyone who can open the sheet sees only an
opaque ``gAAAA…`` string, useless without ``ZAIKO_SECRET_KEY``, which lives only in the
environment.

``ZAIKO_SECRET_KEY`` may hold several keys separated by commas (``new,old``): the
first one encrypts, every one is tried to decrypt. That is how a key is rotated
without losing the tokens already stored: deploy ``new,old``, let the bot rewrite its
tokens, then drop ``old``.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import SecretStr

from bot.core import words

KEY_ENV = "ZAIKO_SECRET_KEY"


class SecretBoxError(Exception):
    """A key or a ciphertext cannot be used; the message is Japanese and holds no secret.

    ``detail`` is the same message without the variable's name, for a caller that
    already names ``ZAIKO_SECRET_KEY`` itself (the settings' problem list).
    """

    def __init__(self, message: str, *, detail: str | None = None) -> None:
        super().__init__(message)
        self.detail = message if detail is None else detail


class SecretBox:
    """Fernet encryption with the key(s) from ``ZAIKO_SECRET_KEY``.

    The object never shows its key: ``repr`` is masked and error messages say what is
    wrong, never with which value.
    """

    def __init__(self, key: str | SecretStr) -> None:
        raw = key.get_secret_value() if isinstance(key, SecretStr) else key
        parts = [part.strip() for part in raw.split(",") if part.strip()]
        if not parts:
            raise SecretBoxError(words.say("settings.secret_key_empty", env=KEY_ENV))
        fernets: list[Fernet] = []
        for index, part in enumerate(parts, start=1):
            try:
                fernets.append(Fernet(part.encode("ascii")))
            except (ValueError, UnicodeEncodeError):
                which = (
                    words.say("settings.secret_key_nth", index=index)
                    if len(parts) > 1
                    else words.say("settings.secret_key_one")
                )
                problem = words.say("settings.secret_key_not_fernet", which=which)
                raise SecretBoxError(
                    words.say("settings.secret_key_problem", env=KEY_ENV, problem=problem),
                    detail=problem,
                ) from None
        self._fernet = MultiFernet(fernets)

    @staticmethod
    def generate_key() -> str:
        """A fresh random key, ready to paste into ``ZAIKO_SECRET_KEY``."""
        return Fernet.generate_key().decode("ascii")

    def encrypt(self, plaintext: str) -> str:
        """Encrypt ``plaintext`` (UTF-8) with the first key; the token is plain ASCII."""
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        """Decrypt a token made by :meth:`encrypt` with any of the configured keys.

        Raises SecretBoxError when no key fits or the token is damaged — typically the
        key was changed without keeping the old one, and the mall must be authorised
        again.
        """
        try:
            data = self._fernet.decrypt(token.strip().encode("ascii"))
        except (InvalidToken, UnicodeEncodeError):
            raise SecretBoxError(words.say("settings.secret_undecryptable", env=KEY_ENV)) from None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise SecretBoxError(words.say("settings.secret_not_utf8")) from None

    def __repr__(self) -> str:
        return "SecretBox(key='****')"
