"""Request authentication: API key, HMAC-SHA256 signature, timestamp window.

Why the signature is checked over the *raw* text: the seed defines totalParams
as "the query string concatenated with the request body", and clients sign
their parameters in whatever order and encoding they sent them.  Re-encoding
parsed parameters would reject valid requests (and accept some invalid ones),
so the ``signature=...`` pair is cut out of the text exactly as it arrived,
and the HMAC is computed over what remains, byte for byte.

The timing rule is the seed's, verbatim::

    timestamp < serverTime + 1000  and  serverTime - timestamp <= recvWindow
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import parse_qsl

from sim import errors
from sim.accounts import Account, AccountRegistry
from sim.config import API_KEY_RE
from sim.numbers import parse_int

DEFAULT_RECV_WINDOW = 5000
MAX_RECV_WINDOW = 60000
AHEAD_TOLERANCE_MS = 1000


@dataclass(frozen=True)
class SignedRequest:
    account: Account
    params: dict[str, str]


def sign(secret: str, payload: str) -> str:
    """Hex HMAC-SHA256 of ``payload`` keyed by ``secret`` (what clients send as signature)."""
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def parse_params(query: str, body: str) -> dict[str, str]:
    """Merge query string and form body; the query wins (seed), a repeat in one part is -1101."""
    merged: dict[str, str] = {}
    for part in (body, query):  # query last, so it overrides the body
        seen: set[str] = set()
        for name, value in parse_qsl(part, keep_blank_values=True):
            if name in seen:
                raise errors.duplicate_parameter()
            seen.add(name)
            merged[name] = value
    return merged


def split_signature(raw: str) -> tuple[str, str | None]:
    """``raw`` without its ``signature=`` pair (and that pair's ``&``), and the signature."""
    pairs = raw.split("&")
    found = [index for index, pair in enumerate(pairs) if pair.startswith("signature=")]
    if not found:
        return raw, None
    if len(found) > 1:
        raise errors.duplicate_parameter()
    signature = pairs.pop(found[0])[len("signature="):]
    return "&".join(pairs), signature


def authenticate_key(accounts: AccountRegistry, api_key: str | None) -> Account:
    """USER_STREAM security: a known API key in ``X-MBX-APIKEY``."""
    if not api_key or not API_KEY_RE.match(api_key):
        raise errors.bad_api_key_format()
    account = accounts.get(api_key)
    if account is None:
        raise errors.rejected_api_key()
    return account


def authenticate_signed(
    accounts: AccountRegistry, api_key: str | None, query: str, body: str, server_time: int
) -> SignedRequest:
    """SIGNED (TRADE / USER_DATA) security: key, mandatory fields, HMAC, then timing."""
    account = authenticate_key(accounts, api_key)
    params = parse_params(query, body)
    raw_timestamp = params.get("timestamp")
    if not raw_timestamp:
        raise errors.mandatory_missing("timestamp")
    timestamp = parse_int("timestamp", raw_timestamp)
    recv_window = DEFAULT_RECV_WINDOW
    if params.get("recvWindow"):
        recv_window = parse_int("recvWindow", params["recvWindow"])
        if recv_window > MAX_RECV_WINDOW or recv_window <= 0:
            raise errors.bad_recv_window()

    unsigned_query, query_signature = split_signature(query)
    unsigned_body, body_signature = split_signature(body)
    signature = query_signature if query_signature is not None else body_signature
    if not signature:
        raise errors.mandatory_missing("signature")
    expected = sign(account.api_secret, unsigned_query + unsigned_body)
    if not signature.isascii() or not hmac.compare_digest(expected, signature.lower()):
        raise errors.invalid_signature()

    if timestamp >= server_time + AHEAD_TOLERANCE_MS:
        raise errors.timestamp_ahead()
    if server_time - timestamp > recv_window:
        raise errors.timestamp_outside_window()
    params.pop("signature", None)
    return SignedRequest(account, params)
