"""Getting into the spreadsheet: the service-account key and opening the sheet.

The three things a new shop gets wrong first each become their own branch of the
sheet's errors, with one Japanese sentence that says what to fix (the commands print
it as is, the worker alerts it once):

- the key itself (``ZAIKO_GOOGLE_SERVICE_ACCOUNT_JSON``): unreadable, or refused by
  Google's token endpoint (deleted or disabled key) → :class:`SheetKeyInvalid`;
- the sheet not shared with the service account (Google answers 403) →
  :class:`SheetAccessDenied`;
- a wrong sheet id (404) → :class:`SheetNotFound`.

google-auth raises its own exceptions from inside the authorised session (the token is
fetched lazily, on the first call), past gspread and our retrying client; so the
credentials translate them where they are raised (:class:`_Credentials`), and a token
endpoint that cannot be reached is retried like any other unreachable Google call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import gspread
from google.auth import exceptions as google_errors
from google.oauth2 import service_account
from gspread.exceptions import APIError, SpreadsheetNotFound

from bot.core.errors import AuthError
from bot.core.words import say
from bot.infra.sheet.client import SheetError, SheetStopped, SheetUnavailable, api_message


class SheetKeyInvalid(SheetError, AuthError):
    """The service-account key cannot be read or Google refuses it."""


class SheetAccessDenied(SheetError, AuthError):
    """The spreadsheet is not shared with the service account (403)."""


class SheetNotFound(SheetError):
    """No spreadsheet has the configured id (404)."""


class _Credentials(service_account.Credentials):
    """Service-account credentials whose token errors are the sheet's errors."""

    def refresh(self, request: Any) -> None:
        """Fetch a token; a refused key or an unreachable token endpoint is translated."""
        try:
            super().refresh(request)  # type: ignore[no-untyped-call]
        except google_errors.RefreshError as err:
            raise SheetKeyInvalid(say("sheet.key_refused", error=_first_line(err))) from err
        except google_errors.TransportError as err:
            raise SheetUnavailable(f"Google token endpoint: {_first_line(err)}") from err


def service_account_credentials(
    info: Mapping[str, Any], scopes: Sequence[str]
) -> service_account.Credentials:
    """Credentials from the key's JSON; :class:`SheetKeyInvalid` when it is unusable."""
    try:
        factory = _Credentials.from_service_account_info
        creds: service_account.Credentials = factory(dict(info), scopes=list(scopes))  # type: ignore[no-untyped-call]
    except (ValueError, KeyError, TypeError, google_errors.GoogleAuthError) as err:
        raise SheetKeyInvalid(say("sheet.key_broken", error=_first_line(err))) from err
    return creds


def open_spreadsheet(client: gspread.Client, sheet_id: str, account: str = "") -> Any:
    """``open_by_key`` with its failures named for staff (see the module docstring)."""
    try:
        return client.open_by_key(sheet_id)
    except SheetStopped:
        raise
    except (SheetKeyInvalid, SheetUnavailable):
        raise
    except (SheetError, APIError, SpreadsheetNotFound) as err:
        raise opening_error(err, sheet_id, account) from err


def opening_error(err: Exception, sheet_id: str, account: str = "") -> SheetError:
    """The error to raise when the spreadsheet would not open."""
    status = _status(err)
    if status == 403:
        return SheetAccessDenied(say("sheet.not_shared", sheet_id=sheet_id, account=account or "?"))
    if status == 404 or isinstance(err, SpreadsheetNotFound):
        return SheetNotFound(say("sheet.not_found", sheet_id=sheet_id))
    detail = api_message(err) if isinstance(err, APIError) else str(err)
    return SheetError(say("sheet.open_failed", sheet_id=sheet_id, error=detail))


def _status(err: BaseException) -> int | None:
    """The HTTP status behind a sheet error (our client chains gspread's APIError)."""
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, APIError):
            return int(seen.response.status_code)
        seen = seen.__cause__
    return None


def _first_line(err: BaseException) -> str:
    text = str(err.args[0] if err.args else err)
    return text.splitlines()[0][:200] if text else type(err).__name__


__all__ = [
    "SheetAccessDenied",
    "SheetKeyInvalid",
    "SheetNotFound",
    "open_spreadsheet",
    "opening_error",
    "service_account_credentials",
]
