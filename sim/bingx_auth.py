"""BingX request authentication: API key, signature, timestamp window, IP whitelist.

Signing (BingX "Signature Authentication"): the API key travels in the
``X-BX-APIKEY`` header; ``signature`` is the hex HMAC-SHA256, keyed by the
secret, of the request's parameter string (``timestamp`` included, the
``signature`` pair itself excluded); a request older than ``recvWindow``
(default 5000 ms, at most 60000) is refused.  As with the Binance side
(``sim.auth``), the HMAC is checked over the parameters exactly as they arrived
(query string, then a form body), never over a re-encoding of them, because
clients differ in order and escaping.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qsl

from sim import auth
from sim.bingx import BingxAccount, BingxVenue
from sim.bingx_errors import (
    bad_signature,
    bad_timestamp,
    incorrect_api_key,
    invalid,
    ip_not_whitelisted,
    timestamp_mismatch,
)

API_KEY_HEADER = "x-bx-apikey"
DEFAULT_RECV_WINDOW = 5000
MAX_RECV_WINDOW = 60000
AHEAD_TOLERANCE_MS = 1000


def sign(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def _parse(query: str, body: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for part in (body, query):  # the query string wins, as on the Binance side
        seen: set[str] = set()
        for name, value in parse_qsl(part, keep_blank_values=True):
            if name in seen:
                raise invalid(name)
            seen.add(name)
            params[name] = value
    return params


def authenticate(venue: BingxVenue, api_key: str | None, client_host: str | None, query: str,
                 body: str, now_ms: int) -> tuple[BingxAccount, dict[str, str]]:
    account = venue.get(api_key) if api_key else None
    if account is None:
        raise incorrect_api_key()
    if account.ip_whitelist is not None and client_host not in account.ip_whitelist:
        raise ip_not_whitelisted()
    params = _parse(query, body)
    raw_timestamp = params.get("timestamp")
    if not raw_timestamp:
        raise timestamp_mismatch()
    if not raw_timestamp.isdigit():
        raise bad_timestamp()
    recv_window = DEFAULT_RECV_WINDOW
    if params.get("recvWindow"):
        raw_window = params["recvWindow"]
        if not raw_window.isdigit() or not 0 < int(raw_window) <= MAX_RECV_WINDOW:
            raise invalid("recvWindow")
        recv_window = int(raw_window)
    unsigned_query, query_signature = auth.split_signature(query)
    unsigned_body, body_signature = auth.split_signature(body)
    signature = query_signature if query_signature is not None else body_signature
    expected = sign(account.api_secret, unsigned_query + unsigned_body)
    if not signature or not signature.isascii() or not hmac.compare_digest(expected, signature.lower()):
        raise bad_signature()
    timestamp = int(raw_timestamp)
    if timestamp >= now_ms + AHEAD_TOLERANCE_MS or now_ms - timestamp > recv_window:
        raise timestamp_mismatch()
    params.pop("signature", None)
    return account, params
