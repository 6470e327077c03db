"""HMAC-SHA256 request signing and the query encoding it depends on.

Binance verifies the signature over ``totalParams``: the query string exactly as
sent, concatenated (with no separator) with the request body exactly as sent.
So the string we sign and the string we put on the wire must be the *same
object*; this module builds that string once, in the caller's parameter order,
and ``rest.py`` sends it verbatim (it never lets httpx re-encode parameters).

Values are rendered the way the exchange expects them: ``Decimal`` with
``format(d, "f")`` (never ``str``, which may produce ``1E-8``), booleans in lower
case, ``None`` omitted so optional parameters can be passed through unconditionally.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from decimal import Decimal
from urllib.parse import quote

ParamValue = str | int | Decimal | bool | None
Params = Mapping[str, ParamValue] | Iterable[tuple[str, ParamValue]]


def sign(secret: str, payload: str) -> str:
    """Return the lower-case hex HMAC-SHA256 of ``payload`` keyed with ``secret``."""
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def sign_split(secret: str, query: str, body: str) -> str:
    """Sign a request whose parameters are split between query string and body.

    ``totalParams`` is the plain concatenation ``query + body``: there is *no*
    ``&`` between them (the seed's "Example 3" spells this out).
    """
    return sign(secret, query + body)


def format_value(value: str | int | Decimal | bool) -> str:
    """Render one parameter value as the exchange expects to read it."""
    if isinstance(value, bool):  # before int: bool is an int subclass
        return "true" if value else "false"
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot send a non-finite decimal: {value}")
        return format(value, "f")
    if isinstance(value, float):
        raise TypeError("floats are not accepted for exchange parameters; use Decimal")
    return str(value)


def encode_params(params: Params) -> str:
    """Encode ``params`` as ``k=v&k=v`` in insertion order, skipping ``None`` values.

    Percent-encodes everything outside the RFC 3986 unreserved set, so the result
    survives any HTTP stack unchanged (httpx, proxies, the simulator) and the
    signature computed over it stays valid.
    """
    items = params.items() if isinstance(params, Mapping) else params
    parts = []
    for key, value in items:
        if value is None:
            continue
        parts.append(f"{quote(key, safe='')}={quote(format_value(value), safe='')}")
    return "&".join(parts)


def signed_query(secret: str, params: Params, *, timestamp_ms: int,
                 recv_window_ms: int | None) -> str:
    """Return the full signed query string for a SIGNED endpoint.

    Appends ``recvWindow`` and ``timestamp`` after the caller's parameters and
    ``signature`` last (the signature covers everything before it).
    """
    items = list(params.items() if isinstance(params, Mapping) else params)
    if recv_window_ms is not None:
        items.append(("recvWindow", recv_window_ms))
    items.append(("timestamp", timestamp_ms))
    query = encode_params(items)
    return f"{query}&signature={sign(secret, query)}"
