"""Request plumbing shared by the ``/sapi`` wallet and savings endpoints.

Why not ``sim.rest``'s private helpers: the wallet endpoints need two things the
``/api/v3`` ones do not.  ``POST /sapi/v1/asset/dust`` repeats a parameter
(``asset=BTC&asset=USDT``), which ``sim.auth.parse_params`` rightly refuses
elsewhere (-1101), so signed requests are verified here over the raw text with
a parser that allows named repeats; and amounts of zero are the SAPI's -5007,
not -1102.  The signature and timing rules are ``sim.auth``'s, unchanged.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import parse_qsl

from starlette.requests import Request

from sim import auth, errors
from sim.accounts import Account, AccountRegistry
from sim.numbers import parse_int

API_KEY_HEADER = "x-mbx-apikey"
_AMOUNT_RE = re.compile(r"^\d+(\.\d+)?$|^\.\d+$")


@dataclass(frozen=True)
class Signed:
    """An authenticated request: the account, single-valued params, and every repeat."""

    account: Account
    params: dict[str, str]
    repeated: dict[str, list[str]]


async def raw_texts(request: Request) -> tuple[str, str]:
    query = request.scope.get("query_string", b"").decode("latin-1")
    body = (await request.body()).decode("latin-1")
    return query, body


async def signed(
    accounts: AccountRegistry, request: Request, now_ms: int,
    repeatable: frozenset[str] = frozenset(),
) -> Signed:
    """SIGNED (USER_DATA) security, as ``sim.auth.authenticate_signed``, with named repeats allowed."""
    query, body = await raw_texts(request)
    account = auth.authenticate_key(accounts, request.headers.get(API_KEY_HEADER))
    params, repeated = _parse(query, body, repeatable)
    raw_timestamp = params.get("timestamp")
    if not raw_timestamp:
        raise errors.mandatory_missing("timestamp")
    timestamp = parse_int("timestamp", raw_timestamp)
    recv_window = auth.DEFAULT_RECV_WINDOW
    if params.get("recvWindow"):
        recv_window = parse_int("recvWindow", params["recvWindow"])
        if recv_window > auth.MAX_RECV_WINDOW or recv_window <= 0:
            raise errors.bad_recv_window()
    unsigned_query, query_signature = auth.split_signature(query)
    unsigned_body, body_signature = auth.split_signature(body)
    signature = query_signature if query_signature is not None else body_signature
    if not signature:
        raise errors.mandatory_missing("signature")
    expected = auth.sign(account.api_secret, unsigned_query + unsigned_body)
    if not signature.isascii() or not hmac.compare_digest(expected, signature.lower()):
        raise errors.invalid_signature()
    if timestamp >= now_ms + auth.AHEAD_TOLERANCE_MS:
        raise errors.timestamp_ahead()
    if now_ms - timestamp > recv_window:
        raise errors.timestamp_outside_window()
    params.pop("signature", None)
    return Signed(account, params, repeated)


def _parse(query: str, body: str, repeatable: frozenset[str]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Query overrides body (seed); a repeat within one part is -1101 unless repeatable."""
    merged: dict[str, str] = {}
    repeated: dict[str, list[str]] = {}
    for part in (body, query):
        seen: dict[str, list[str]] = {}
        for name, value in parse_qsl(part, keep_blank_values=True):
            if name in seen and name not in repeatable:
                raise errors.duplicate_parameter()
            seen.setdefault(name, []).append(value)
            merged[name] = value
        for name, values in seen.items():
            if name in repeatable:
                repeated[name] = values
    return merged, repeated


def optional(params: dict[str, str], name: str) -> str | None:
    value = params.get(name)
    return None if value is None or value == "" else value


def required(params: dict[str, str], name: str) -> str:
    value = optional(params, name)
    if value is None:
        raise errors.mandatory_missing(name)
    return value


def opt_int(params: dict[str, str], name: str) -> int | None:
    raw = optional(params, name)
    return None if raw is None else parse_int(name, raw)


def amount(params: dict[str, str], name: str = "amount") -> Decimal:
    """A DECIMAL amount: malformed is -1102; zero is left to the SAPI's own -5007 check."""
    raw = required(params, name)
    if not _AMOUNT_RE.match(raw):
        raise errors.mandatory_missing(name)
    return Decimal(raw)


def opt_bool(params: dict[str, str], name: str) -> bool | None:
    raw = optional(params, name)
    if raw is None:
        return None
    if raw.lower() not in ("true", "false"):
        raise errors.invalid_parameter(name)
    return raw.lower() == "true"


def page(params: dict[str, str], *, default_size: int, max_size: int) -> tuple[int, int]:
    """``current`` (from 1) and ``size`` (1..max) of a paged list."""
    raw_current, raw_size = opt_int(params, "current"), opt_int(params, "size")
    current = 1 if raw_current is None else raw_current
    size = default_size if raw_size is None else raw_size
    if current < 1:
        raise errors.invalid_parameter("current")
    if not 1 <= size <= max_size:
        raise errors.invalid_parameter("size")
    return current, size


def choice(params: dict[str, str], name: str, allowed: frozenset[str] | tuple[str, ...],
           default: str | None = None) -> str:
    raw = optional(params, name)
    if raw is None:
        if default is None:
            raise errors.mandatory_missing(name)
        return default
    if raw not in allowed:
        raise errors.invalid_parameter(name)
    return raw
