"""Request weights of every ``/api/v3`` endpoint, as the seed documents them.

Why a table apart from the routes: the rate limiter (``sim.limits`` through
``sim.weighing``) adds up weights without knowing the endpoints, and the
endpoints do not know about limits.  Keys are ``"METHOD /path"``; a value is an
``int`` or a function of the request's query parameters (depth's weight depends
on ``limit``, the tickers' and openOrders' on whether ``symbol`` was sent).

The numbers are the seed's (early 2022): "Weight(IP)" of each endpoint, depth by
limit (5-100: 1, 500: 5, 1000: 10, 5000: 50), ``ticker/24hr`` 1 for a symbol and
40 for all, ``openOrders`` 3 / 40.  ``symbols=`` on the tickers came a few
months later (2022-05 changelog): price and bookTicker 2, 24hr 1 for 1-20
symbols, 20 for 21-100, 40 beyond.  Order endpoints also count against the
ORDERS limits (``ORDER_COUNTS``: an OCO counts 2), which is not request weight.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

Weight = int | Callable[[Mapping[str, str]], int]

# Depth: the seed's table (limits in between take the next documented step's weight).
_DEPTH_STEPS = ((100, 1), (500, 5), (1000, 10), (5000, 50))


def depth_weight(params: Mapping[str, str]) -> int:
    try:
        limit = int(params.get("limit") or 100)
    except ValueError:
        return 1  # refused with -1100/-1130 anyway; the cheapest weight
    for ceiling, weight in _DEPTH_STEPS:
        if limit <= ceiling:
            return weight
    return _DEPTH_STEPS[-1][1]


def _symbol_count(params: Mapping[str, str]) -> int | None:
    """How many symbols ``symbols=[...]`` names (None when not sent or malformed)."""
    raw = params.get("symbols")
    if not raw:
        return None
    try:
        names = json.loads(raw)
    except ValueError:
        return None
    return len(names) if isinstance(names, list) else None


def ticker_24hr_weight(params: Mapping[str, str]) -> int:
    if params.get("symbol"):
        return 1
    count = _symbol_count(params)
    if count is None:
        return 40
    if count <= 20:
        return 1
    return 20 if count <= 100 else 40


def _single_or_all(single: int, every: int) -> Callable[[Mapping[str, str]], int]:
    def weight(params: Mapping[str, str]) -> int:
        return single if params.get("symbol") else every

    weight.__doc__ = f"{single} with symbol, {every} without (or with symbols=)"
    return weight


WEIGHTS: dict[str, Weight] = {
    "GET /api/v3/ping": 1,
    "GET /api/v3/time": 1,
    "GET /api/v3/exchangeInfo": 10,
    "GET /api/v3/depth": depth_weight,
    "GET /api/v3/trades": 1,
    "GET /api/v3/historicalTrades": 5,
    "GET /api/v3/aggTrades": 1,
    "GET /api/v3/klines": 1,
    "GET /api/v3/avgPrice": 1,
    "GET /api/v3/ticker/24hr": ticker_24hr_weight,
    "GET /api/v3/ticker/price": _single_or_all(1, 2),
    "GET /api/v3/ticker/bookTicker": _single_or_all(1, 2),
    "POST /api/v3/order/test": 1,
    "POST /api/v3/order": 1,
    "DELETE /api/v3/order": 1,
    "GET /api/v3/order": 2,
    "DELETE /api/v3/openOrders": 1,
    "GET /api/v3/openOrders": _single_or_all(3, 40),
    "GET /api/v3/allOrders": 10,
    "POST /api/v3/order/oco": 1,
    "DELETE /api/v3/orderList": 1,
    "GET /api/v3/orderList": 2,
    "GET /api/v3/allOrderList": 10,
    "GET /api/v3/openOrderList": 3,
    "GET /api/v3/account": 10,
    "GET /api/v3/myTrades": 10,
    "GET /api/v3/rateLimit/order": 20,
    "POST /api/v3/userDataStream": 1,
    "PUT /api/v3/userDataStream": 1,
    "DELETE /api/v3/userDataStream": 1,
}

# Weight(UID): how many units a successful request adds to the account's ORDERS counts.
ORDER_COUNTS: dict[str, int] = {
    "POST /api/v3/order": 1,
    "POST /api/v3/order/oco": 2,
}


def weight_of(method: str, path: str, params: Mapping[str, str]) -> int | None:
    """The request weight of one ``/api/v3`` call; None for a path this table does not know."""
    entry = WEIGHTS.get(f"{method.upper()} {path}")
    if entry is None:
        return None
    return entry if isinstance(entry, int) else entry(params)
