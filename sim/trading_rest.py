"""Trading REST endpoints beyond the single-order ones of ``sim.rest``, per the seed.

``POST order/test`` (every check of a new order, nothing executed, ``{}``),
``DELETE openOrders`` (a symbol's orders, OCOs as lists), ``GET allOrders``,
``POST order/oco``, ``DELETE``/``GET orderList``, ``GET allOrderList``,
``GET openOrderList`` and ``GET rateLimit/order``.  Each is SIGNED: the key,
the HMAC over the raw query and body, and the timestamp window (``sim.auth``).

``rateLimit/order`` reports the counts of the rate limiter when the simulator
runs one (``set_order_usage``, wired by ``sim.app`` to ``sim.limits``); without
it, it counts the account's orders created in each ORDERS window
(``sim.account_queries.orders_placed``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sim import account_queries, errors
from sim.auth import SignedRequest, authenticate_signed
from sim.exchange import Exchange
from sim.market_data import MAX_LIMIT
from sim.numbers import parse_int
from sim.oco_requests import parse_list_ref, parse_new_oco
from sim.order_lists import list_query
from sim.requests import optional, parse_new_order, required

log = logging.getLogger(__name__)

API_KEY_HEADER = "x-mbx-apikey"
OrderUsage = Callable[[int], list[dict[str, object]]]


class TradingApi:
    def __init__(self, exchange: Exchange, order_usage: OrderUsage | None = None) -> None:
        self.exchange = exchange
        self.order_usage = order_usage

    def set_order_usage(self, order_usage: OrderUsage) -> None:
        """Report the rate limiter's ORDERS counts (``account_id -> [limit + count]``)."""
        self.order_usage = order_usage

    def routes(self) -> list[Route]:
        return [
            Route("/api/v3/order/test", self.test_order, methods=["POST"]),
            Route("/api/v3/openOrders", self.cancel_open_orders, methods=["DELETE"]),
            Route("/api/v3/allOrders", self.all_orders, methods=["GET"]),
            Route("/api/v3/order/oco", self.new_oco, methods=["POST"]),
            Route("/api/v3/orderList", self.order_list, methods=["GET", "DELETE"]),
            Route("/api/v3/allOrderList", self.all_order_lists, methods=["GET"]),
            Route("/api/v3/openOrderList", self.open_order_lists, methods=["GET"]),
            Route("/api/v3/rateLimit/order", self.rate_limit_order, methods=["GET"]),
        ]

    async def test_order(self, request: Request) -> Response:
        """Validates like ``POST order`` up to the matching engine; executes nothing."""
        signed = await self._signed(request)
        new_order = parse_new_order(signed.params)
        spec = self.exchange.spec(new_order.symbol)
        if spec.status != "TRADING":
            raise errors.order_rejected(errors.MARKET_CLOSED)
        self.exchange.check_user_order(signed.account, spec, new_order, self.exchange.now_ms())
        return JSONResponse({})

    async def cancel_open_orders(self, request: Request) -> Response:
        signed = await self._signed(request)
        symbol = required(signed.params, "symbol")
        return JSONResponse(self.exchange.cancel_open_orders(signed.account, symbol))

    async def all_orders(self, request: Request) -> Response:
        signed = await self._signed(request)
        params = signed.params
        spec = self.exchange.spec(required(params, "symbol"))
        return JSONResponse(account_queries.all_orders(
            signed.account, spec.symbol, order_id=_opt_int(params, "orderId"),
            start=_opt_int(params, "startTime"), end=_opt_int(params, "endTime"),
            limit=_limit(params)))

    async def new_oco(self, request: Request) -> Response:
        signed = await self._signed(request)
        return JSONResponse(self.exchange.place_oco(signed.account, parse_new_oco(signed.params)))

    async def order_list(self, request: Request) -> Response:
        signed = await self._signed(request)
        if request.method == "DELETE":
            ref = parse_list_ref(signed.params, for_cancel=True)
            return JSONResponse(self.exchange.cancel_order_list(signed.account, ref))
        ref = parse_list_ref(signed.params, for_cancel=False)
        found = self.exchange.find_order_list(signed.account, ref)
        if found is None:
            raise errors.SimApiError(-2013, "Order list does not exist.")
        return JSONResponse(list_query(found))

    async def all_order_lists(self, request: Request) -> Response:
        signed = await self._signed(request)
        params = signed.params
        return JSONResponse(account_queries.all_order_lists(
            signed.account, from_id=_opt_int(params, "fromId"),
            start=_opt_int(params, "startTime"), end=_opt_int(params, "endTime"),
            limit=_limit(params)))

    async def open_order_lists(self, request: Request) -> Response:
        signed = await self._signed(request)
        return JSONResponse(account_queries.open_order_lists(signed.account))

    async def rate_limit_order(self, request: Request) -> Response:
        signed = await self._signed(request)
        account_id = signed.account.account_id
        if self.order_usage is not None:
            return JSONResponse(self.order_usage(account_id))
        limits = [limit.describe() for limit in self.exchange.config.limits.rate_limits()]
        return JSONResponse(account_queries.orders_placed(signed.account, limits,
                                                          self.exchange.now_ms()))

    async def _signed(self, request: Request) -> SignedRequest:
        query = request.scope.get("query_string", b"").decode("latin-1")
        body = (await request.body()).decode("latin-1")
        return authenticate_signed(self.exchange.accounts, request.headers.get(API_KEY_HEADER),
                                   query, body, self.exchange.now_ms())


def limiter_order_usage(limits) -> OrderUsage:
    """``rateLimit/order`` from ``sim.limits.Limits``: each ORDERS limit with its count."""
    def usage(account_id: int) -> list[dict[str, object]]:
        counts = limits.order_count(account_id)
        return [limit.status(counts[limit.suffix]) for limit in limits.order_limits]
    return usage


def _opt_int(params: dict[str, str], name: str) -> int | None:
    raw = optional(params, name)
    return None if raw is None else parse_int(name, raw)


def _limit(params: dict[str, str]) -> int:
    limit = _opt_int(params, "limit")
    if limit is None:
        return 500
    if not 1 <= limit <= MAX_LIMIT:
        raise errors.invalid_parameter("limit")
    return limit
