"""What each REST call costs against the exchange's limits, declared *before* sending.

Why declare weights instead of only reading the ``X-MBX-USED-WEIGHT-1M`` header:
the header arrives after the request was counted, so a client that waits for it
learns it crossed the limit one request too late, and with ten calls in flight
ten requests too late.  The rate governor (``ratelimit.py``) reserves the weight
below first and uses the headers only to correct its estimate.

The numbers are the seed's "Weight(IP)" of each endpoint (early 2022), with the
parameter-dependent ones as documented: depth by ``limit`` (5-100: 1, 500: 5,
1000: 10, 5000: 50; a limit between two documented steps costs the next step's
weight), openOrders 3 with ``symbol`` and 40 without.  Order placements also add
to the account's ORDERS counts ("Weight(UID)"): 1 per order, 2 for an OCO.

Today's exchange charges more for several reads (exchangeInfo 20, account 20,
openOrders 6/80, depth 5..250); the governor's header feed absorbs the
difference: the server's count always wins over our estimate when it is higher.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

ParamsView = Mapping[str, object]

#: Weight of an endpoint no table knows (most simple endpoints weigh 1).
DEFAULT_WEIGHT = 1

_DEPTH_STEPS = ((100, 1), (500, 5), (1000, 10), (5000, 50))


def depth_weight(params: ParamsView) -> int:
    """The seed's table: 1 up to limit 100, then 5, 10, 50."""
    raw = params.get("limit")
    try:
        limit = int(raw) if raw is not None else 100  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return _DEPTH_STEPS[-1][1]  # unknown: assume the heaviest, never the lightest
    for ceiling, weight in _DEPTH_STEPS:
        if limit <= ceiling:
            return weight
    return _DEPTH_STEPS[-1][1]


def _one_symbol_or_all(single: int, every: int) -> Callable[[ParamsView], int]:
    def weight(params: ParamsView) -> int:
        return single if params.get("symbol") else every

    return weight


Weight = int | Callable[[ParamsView], int]

#: ``"METHOD /path"`` -> weight (an int, or a function of the request parameters).
REQUEST_WEIGHTS: Mapping[str, Weight] = {
    "GET /api/v3/ping": 1,
    "GET /api/v3/time": 1,
    "GET /api/v3/exchangeInfo": 10,
    "GET /api/v3/depth": depth_weight,
    "GET /api/v3/trades": 1,
    "GET /api/v3/historicalTrades": 5,
    "GET /api/v3/aggTrades": 1,
    "GET /api/v3/klines": 1,
    "GET /api/v3/avgPrice": 1,
    "GET /api/v3/ticker/24hr": _one_symbol_or_all(1, 40),
    "GET /api/v3/ticker/price": _one_symbol_or_all(1, 2),
    "GET /api/v3/ticker/bookTicker": _one_symbol_or_all(1, 2),
    "POST /api/v3/order/test": 1,
    "POST /api/v3/order": 1,
    "DELETE /api/v3/order": 1,
    "GET /api/v3/order": 2,
    "DELETE /api/v3/openOrders": 1,
    "GET /api/v3/openOrders": _one_symbol_or_all(3, 40),
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

#: ``"METHOD /path"`` -> units added to the account's ORDERS counts when accepted.
ORDER_UNITS: Mapping[str, int] = {
    "POST /api/v3/order": 1,
    "POST /api/v3/order/oco": 2,
    "POST /api/v3/orderList/oco": 2,
}

#: The WebSocket API's ``userDataStream.subscribe.signature`` (today's docs: weight 2).
WS_API_SUBSCRIBE_WEIGHT = 2


@dataclass(frozen=True)
class RequestCost:
    """What one request reserves: IP weight, one raw request, and account order units."""

    weight: int
    orders: int = 0
    raw: int = 1


def request_cost(method: str, path: str, params: ParamsView | None = None) -> RequestCost:
    """The declared cost of ``method path`` with ``params`` (``None`` values are unsent)."""
    key = f"{method.upper()} {path}"
    sent = {k: v for k, v in (params or {}).items() if v is not None}
    entry = REQUEST_WEIGHTS.get(key, DEFAULT_WEIGHT)
    weight = entry if isinstance(entry, int) else entry(sent)
    return RequestCost(weight=weight, orders=ORDER_UNITS.get(key, 0))
