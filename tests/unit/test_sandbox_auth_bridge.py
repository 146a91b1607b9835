"""The sandbox process's pieces on their own: Google's token endpoint and the HTTP bridge.

The token endpoint is driven with assertions google-auth itself signs (the library the
worker uses); the bridge with the doubles' own handlers and an echoing transport.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from google.auth import crypt, jwt

from bot.sandbox.server.bridge import Call, HostMap, Reply, to_emulator, to_transport
from bot.sandbox.server.clock import CLOCK_HEADER
from bot.sandbox.server.sheets_auth import (
    INVALID_CREDENTIALS,
    JWT_GRANT,
    MISSING_CREDENTIALS,
    ServiceAccount,
    TokenDesk,
)
from bot.sandbox.sheets import SheetsEmulator

SCOPE = "https://www.googleapis.com/auth/spreadsheets"
AUDIENCE = "https://oauth2.googleapis.com/token"
NOW = 1_800_000_000.0


@pytest.fixture(scope="module")
def account() -> ServiceAccount:
    return ServiceAccount.generate()


def assertion(account: ServiceAccount, **claims: Any) -> bytes:
    """A JWT as google-auth's service-account credentials sign it."""
    payload = {"iss": account.email, "aud": AUDIENCE, "scope": SCOPE, "iat": NOW, "exp": NOW + 3600}
    payload.update(claims)
    signer = crypt.RSASigner.from_string(account.private_pem, account.key_id)
    token: bytes = jwt.encode(signer, payload)
    return token


def form(token: bytes | str, grant_type: str = JWT_GRANT) -> bytes:
    text = token.decode() if isinstance(token, bytes) else token
    return urlencode({"grant_type": grant_type, "assertion": text}).encode()


# --------------------------------------------------------------------------- token endpoint


def test_a_jwt_signed_with_the_key_gets_a_bearer_token(account: ServiceAccount) -> None:
    desk = TokenDesk(account)

    status, answer = desk.grant(form(assertion(account)), now=NOW)

    assert status == 200
    assert answer["token_type"] == "Bearer" and answer["expires_in"] == 3599
    assert desk.refusal(f"Bearer {answer['access_token']}", now=NOW + 60) is None


def test_a_jwt_signed_with_another_key_is_refused_like_google(account: ServiceAccount) -> None:
    stranger = ServiceAccount.generate()
    stranger.email = account.email  # same account name, a key Google never issued
    desk = TokenDesk(account)

    status, answer = desk.grant(form(assertion(stranger)), now=NOW)

    assert (status, answer) == (
        400,
        {"error": "invalid_grant", "error_description": "Invalid JWT Signature."},
    )
    assert desk.tokens == {}


def test_a_tampered_claim_breaks_the_signature(account: ServiceAccount) -> None:
    head, _, signature = assertion(account).decode().split(".")
    forged = jwt.encode(crypt.RSASigner.from_string(account.private_pem), {"x": 1}).decode()
    _, payload, _ = forged.split(".")

    status, answer = TokenDesk(account).grant(form(f"{head}.{payload}.{signature}"), now=NOW)

    assert status == 400 and answer["error"] == "invalid_grant"


@pytest.mark.parametrize(
    ("claims", "description"),
    [
        ({"iss": "someone@else.iam.gserviceaccount.com"}, "Invalid grant: account not found"),
        ({"aud": "https://example.com/token"}, "Invalid JWT Signature."),
        ({"iat": NOW, "exp": NOW + 7200}, "Invalid JWT: Token must be a short-lived token"),
        ({"iat": NOW - 7200, "exp": NOW - 3600}, "Invalid JWT: Token must be a short-lived token"),
    ],
)
def test_claims_google_would_refuse(
    account: ServiceAccount, claims: dict[str, Any], description: str
) -> None:
    status, answer = TokenDesk(account).grant(form(assertion(account, **claims)), now=NOW)

    assert status == 400
    assert answer["error"] == "invalid_grant"
    assert answer["error_description"].startswith(description)


def test_another_grant_type_is_unsupported(account: ServiceAccount) -> None:
    status, answer = TokenDesk(account).grant(
        form(assertion(account), grant_type="client_credentials"), now=NOW
    )

    assert status == 400 and answer["error"] == "unsupported_grant_type"


def test_sheets_calls_without_a_live_token_are_refused_with_googles_401(
    account: ServiceAccount,
) -> None:
    desk = TokenDesk(account)
    _, answer = desk.grant(form(assertion(account)), now=NOW)
    token = answer["access_token"]

    assert desk.refusal(None, now=NOW) == (
        401,
        {"error": {"code": 401, "message": MISSING_CREDENTIALS, "status": "UNAUTHENTICATED"}},
    )
    unknown = desk.refusal("Bearer ya29.not-issued", now=NOW)
    expired = desk.refusal(f"Bearer {token}", now=NOW + 3600)
    assert (
        unknown
        == expired
        == (
            401,
            {"error": {"code": 401, "message": INVALID_CREDENTIALS, "status": "UNAUTHENTICATED"}},
        )
    )


def test_a_token_without_the_sheets_scope_is_forbidden(account: ServiceAccount) -> None:
    desk = TokenDesk(account)
    readonly = "https://www.googleapis.com/auth/drive.readonly"
    _, answer = desk.grant(form(assertion(account, scope=readonly)), now=NOW)

    refusal = desk.refusal(f"Bearer {answer['access_token']}", now=NOW)

    assert refusal is not None and refusal[0] == 403
    assert refusal[1]["error"]["status"] == "PERMISSION_DENIED"


def test_the_key_file_is_one_google_auth_reads(account: ServiceAccount) -> None:
    from google.oauth2 import service_account

    info = account.key_info("http://127.0.0.1:1/google/token")
    credentials = service_account.Credentials.from_service_account_info(info, scopes=[SCOPE])  # type: ignore[no-untyped-call]

    assert credentials.service_account_email == account.email
    assert info["token_uri"] == "http://127.0.0.1:1/google/token"


# --------------------------------------------------------------------------- bridge


def test_a_call_reaches_a_transport_as_its_real_host_would_receive_it() -> None:
    seen: list[httpx.Request] = []

    def echo(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            201, content=b"ok", headers={"X-Echo": "1", "Connection": "keep-alive"}
        )

    call = Call(
        "POST",
        "/es/2.0/inventories/bulk-upsert",
        "a=1&b=%E5%9C%A8",
        (
            ("Host", "127.0.0.1:9"),
            ("Authorization", "ESA abc"),
            (CLOCK_HEADER, "2026-11-23T09:00:00+09:00"),
            ("Content-Length", "7"),
        ),
        b'{"x":1}',
    )

    reply = to_transport(httpx.MockTransport(echo), call, "https://api.rms.rakuten.co.jp")

    request = seen[0]
    assert (
        str(request.url)
        == "https://api.rms.rakuten.co.jp/es/2.0/inventories/bulk-upsert?a=1&b=%E5%9C%A8"
    )
    assert request.method == "POST" and request.content == b'{"x":1}'
    assert request.headers["Authorization"] == "ESA abc"
    assert request.headers["host"] == "api.rms.rakuten.co.jp"
    assert CLOCK_HEADER.lower() not in {k.lower() for k in request.headers}
    assert (reply.status, reply.body) == (201, b"ok")
    assert ("x-echo", "1") in reply.headers
    assert "connection" not in {k.lower() for k, _ in reply.headers}


def test_an_injected_timeout_becomes_a_lost_answer() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("simulated read timeout", request=request)

    reply = to_transport(httpx.MockTransport(slow), Call("GET", "/x"), "http://127.0.0.1:9")

    assert reply.drop


def test_a_call_reaches_the_emulator_as_gspread_sends_it() -> None:
    emu = SheetsEmulator()
    sid = emu.create_spreadsheet("bridge", sheets=("商品マスタ",))
    emu.set_values(sid, "商品マスタ", "A1", [["商品コード"], ["TS-1"]])
    path = f"/v4/spreadsheets/{sid}/values/%27%E5%95%86%E5%93%81%E3%83%9E%E3%82%B9%E3%82%BF%27"

    reply = to_emulator(
        emu, Call("GET", path, "valueRenderOption=FORMULA"), "https://sheets.googleapis.com"
    )

    assert reply.status == 200
    assert json.loads(reply.body)["values"] == [["商品コード"], ["TS-1"]]
    assert emu.requests[-1].op == "values.get"


def test_a_write_whose_answer_the_emulator_loses_is_applied_and_unanswered() -> None:
    emu = SheetsEmulator()
    sid = emu.create_spreadsheet("lost", sheets=("Sheet1",))
    emu.timeout_after_apply_next()
    body = json.dumps({"values": [["x"]]}).encode()

    reply = to_emulator(
        emu,
        Call("PUT", f"/v4/spreadsheets/{sid}/values/Sheet1%21A1", "valueInputOption=RAW", (), body),
        "https://sheets.googleapis.com",
    )

    assert reply.drop
    assert emu.get_values(sid, "Sheet1") == [["x"]]


def test_links_to_real_hosts_in_a_reply_point_at_the_sandbox() -> None:
    hosts = HostMap.of("http://127.0.0.1:9", {"amazon-documents": "https://s3.example.com"})
    reply = Reply.json(200, {"url": "https://s3.example.com/doc-1?X-Amz-Signature=s"})
    reply.headers.append(("Location", "https://s3.example.com/next"))

    hosts.rewrite(reply)

    assert json.loads(reply.body) == {
        "url": "http://127.0.0.1:9/amazon-documents/doc-1?X-Amz-Signature=s"
    }
    assert ("Location", "http://127.0.0.1:9/amazon-documents/next") in reply.headers


def test_time_is_needed_only_for_tokens() -> None:
    """Tokens live on the wall clock: a grant without ``now`` uses the real time."""
    account = ServiceAccount.generate()
    signer = crypt.RSASigner.from_string(account.private_pem)
    now = time.time()
    payload = {"iss": account.email, "aud": AUDIENCE, "scope": SCOPE, "iat": now, "exp": now + 3600}

    status, _ = TokenDesk(account).grant(form(jwt.encode(signer, payload)))

    assert status == 200
