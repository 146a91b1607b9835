"""Google's side of service-account auth, for the sandbox: a key, a token endpoint, a check.

The worker authenticates to the sandbox exactly as to Google: real google-auth reads the
key the sandbox generated (its ``token_uri`` points at the sandbox), signs a JWT with the
key's private half and trades it for an access token; gspread then sends that token as
``Authorization: Bearer`` on every Sheets call. The sandbox verifies the RS256 signature
with the key's public half and refuses the Sheets call of anyone without a live token,
in Google's words, so a wrong key fails the way it fails in production.

Wire facts (Google's "OAuth 2.0 for Server to Server Applications",
https://developers.google.com/identity/protocols/oauth2/service-account#httprest):
the request is a form POST ``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer``
and ``assertion=<JWT>``; the JWT header is ``{"alg":"RS256","typ":"JWT"}``, its claims
``iss`` (the account's email), ``scope``, ``aud`` (the token endpoint), ``iat`` and
``exp`` at most one hour later; the answer is ``{"access_token", "expires_in",
"token_type": "Bearer"}``. Refusals are 400 ``{"error", "error_description"}`` as
RFC 6749 §5.2 shapes them; Google's texts as users report them:
``invalid_grant`` / ``Invalid JWT Signature.`` (googleapis/google-cloud-python#10004) and
``Invalid JWT: Token must be a short-lived token and in a reasonable timeframe``
(erebusnz/gapi-google-analytics-php-interface#147). A Sheets call with a bad token is
401 ``UNAUTHENTICATED`` "Request had invalid authentication credentials. …"
(burnash/gspread#686); with none, "Request is missing required authentication
credential. …" (googleapis/google-auth-library-nodejs#168).

Tokens live on the wall clock whatever the sandbox clock does: google-auth stamps
``iat`` and decides when to refresh by the real time, and so does Google.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import parse_qs

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
GOOGLE_TOKEN_AUDIENCES = frozenset(
    {
        # google-auth always sends this one as ``aud`` (google/oauth2/service_account.py),
        # whatever the key's token_uri says; the older endpoints are still accepted.
        "https://oauth2.googleapis.com/token",
        "https://www.googleapis.com/oauth2/v4/token",
        "https://accounts.google.com/o/oauth2/token",
    }
)
TOKEN_SECONDS = 3599
"""What Google answers as ``expires_in`` for a one-hour token."""
MAX_LIFETIME = 3600
"""``exp`` may be at most one hour after ``iat``."""
CLOCK_SKEW = 300
"""Seconds of clock difference tolerated on ``iat``/``exp`` (UNCONFIRMED: Google's own)."""
SHEETS_SCOPES = frozenset(
    {"https://www.googleapis.com/auth/spreadsheets", "https://www.googleapis.com/auth/drive"}
)
"""Scopes that let a token write to Sheets (the bot asks for the first only)."""

_HELP = "See https://developers.google.com/identity/sign-in/web/devconsole-project."
MISSING_CREDENTIALS = (
    "Request is missing required authentication credential. Expected OAuth 2 access "
    f"token, login cookie or other valid authentication credential. {_HELP}"
)
INVALID_CREDENTIALS = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, "
    f"login cookie or other valid authentication credential. {_HELP}"
)

Answer = tuple[int, dict[str, Any]]


@dataclass
class ServiceAccount:
    """The sandbox's service account: one RSA key pair, generated at the first start."""

    private_pem: str
    key_id: str
    email: str = "zaiko-bot@zaiko-sandbox.iam.gserviceaccount.com"
    client_id: str = "100000000000000000001"
    project_id: str = "zaiko-sandbox"

    @classmethod
    def generate(cls) -> ServiceAccount:
        """A fresh 2048-bit key, as Google Cloud issues them."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        return cls(private_pem=pem, key_id=secrets.token_hex(20))

    def key_info(self, token_uri: str) -> dict[str, str]:
        """The JSON key file, as Google Cloud's 鍵を追加 → JSON downloads it."""
        return {
            "type": "service_account",
            "project_id": self.project_id,
            "private_key_id": self.key_id,
            "private_key": self.private_pem,
            "client_email": self.email,
            "client_id": self.client_id,
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": token_uri,
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "universe_domain": "googleapis.com",
        }

    @cached_property
    def public_key(self) -> rsa.RSAPublicKey:
        """The half Google keeps to check signatures."""
        key = serialization.load_pem_private_key(self.private_pem.encode(), password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        return key.public_key()

    def __getstate__(self) -> dict[str, Any]:
        """Pickle the PEM, not the cached key object."""
        state = dict(self.__dict__)
        state.pop("public_key", None)
        return state


def _refuse(error: str, description: str) -> Answer:
    return 400, {"error": error, "error_description": description}


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


@dataclass
class TokenDesk:
    """The token endpoint and the check of every Sheets call's Bearer token."""

    account: ServiceAccount
    tokens: dict[str, tuple[float, str]] = field(default_factory=dict)
    """Access token → (expires at, wall-clock seconds; granted scopes)."""

    def grant(self, body: bytes, now: float | None = None) -> Answer:
        """Answer one token request (form body); (status, JSON)."""
        now = time.time() if now is None else now
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        if form.get("grant_type") != JWT_GRANT:
            return _refuse(
                "unsupported_grant_type", f"Invalid grant_type: {form.get('grant_type', '')}"
            )
        claims = self._verified_claims(form.get("assertion", ""))
        if isinstance(claims, tuple):
            return claims
        iat, exp = claims.get("iat"), claims.get("exp")
        if (
            not isinstance(iat, int | float)
            or not isinstance(exp, int | float)
            or exp - iat > MAX_LIFETIME
            or iat > now + CLOCK_SKEW
            or exp < now - CLOCK_SKEW
        ):
            return _refuse(
                "invalid_grant",
                "Invalid JWT: Token must be a short-lived token (60 minutes) and in a "
                "reasonable timeframe. Check your iat and exp values in the JWT claim.",
            )
        self.tokens = {t: v for t, v in self.tokens.items() if v[0] > now}
        token = "ya29.sandbox-" + secrets.token_urlsafe(32)
        self.tokens[token] = (now + TOKEN_SECONDS, str(claims.get("scope", "")))
        return 200, {"access_token": token, "expires_in": TOKEN_SECONDS, "token_type": "Bearer"}

    def _verified_claims(self, assertion: str) -> dict[str, Any] | Answer:
        """The JWT's claims if its signature is the account's; the refusal otherwise."""
        try:
            head, payload, signature = assertion.split(".")
            header = json.loads(_b64(head))
            claims = json.loads(_b64(payload))
            signed = _b64(signature)
        except (ValueError, binascii.Error):
            return _refuse("invalid_grant", "Invalid JWT: the assertion is not a signed JWT.")
        if not isinstance(header, dict) or not isinstance(claims, dict):
            return _refuse("invalid_grant", "Invalid JWT: the assertion is not a signed JWT.")
        if claims.get("iss") != self.account.email:
            return _refuse("invalid_grant", "Invalid grant: account not found")
        if header.get("alg") != "RS256" or claims.get("aud") not in GOOGLE_TOKEN_AUDIENCES:
            return _refuse("invalid_grant", "Invalid JWT Signature.")
        try:
            self.account.public_key.verify(
                signed, f"{head}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256()
            )
        except InvalidSignature:
            return _refuse("invalid_grant", "Invalid JWT Signature.")
        return claims

    def refusal(self, authorization: str | None, now: float | None = None) -> Answer | None:
        """None when the Bearer token may call Sheets; else Google's error (401/403)."""
        now = time.time() if now is None else now
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return _google_error(401, MISSING_CREDENTIALS, "UNAUTHENTICATED")
        granted = self.tokens.get(token.strip())
        if granted is None or granted[0] <= now:
            return _google_error(401, INVALID_CREDENTIALS, "UNAUTHENTICATED")
        if not set(granted[1].split()) & SHEETS_SCOPES:
            return _google_error(
                403, "Request had insufficient authentication scopes.", "PERMISSION_DENIED"
            )
        return None


def _google_error(code: int, message: str, status: str) -> Answer:
    """Google APIs' error envelope (google-sheets.md §5)."""
    return code, {"error": {"code": code, "message": message, "status": status}}
