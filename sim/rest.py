"""REST endpoints of the seed's ``/api/v3``, as starlette routes over the ``Exchange``.

Why thin: each endpoint authenticates (``sim.auth``), parses its parameters
(``sim.requests``) and calls one synchronous ``Exchange`` method; every refusal
is a ``SimApiError`` rendered by one handler as ``{"code": .., "msg": ..}``.
"""

from __future__ import annotations

import json
import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sim import errors, symbols
from sim.auth import SignedRequest, authenticate_key, authenticate_signed, parse_params
from sim.exchange import Exchange
from sim.numbers import parse_int
from sim.requests import optional, parse_new_order, parse_order_ref, required
from sim.userdata import ListenKeys

log = logging.getLogger(__name__)

API_KEY_HEADER = "x-mbx-apikey"
DEPTH_LIMITS = (5, 10, 20, 50, 100, 500, 1000, 5000)
MY_TRADES_WINDOW_MS = 24 * 3_600_000
MAX_TRADES = 1000


class RestApi:
    def __init__(self, exchange: Exchange, listen_keys: ListenKeys) -> None:
        self.exchange = exchange
        self.listen_keys = listen_keys

    def routes(self) -> list[Route]:
        return [
            Route("/api/v3/ping", self.ping, methods=["GET"]),
            Route("/api/v3/time", self.time, methods=["GET"]),
            Route("/api/v3/exchangeInfo", self.exchange_info, methods=["GET"]),
            Route("/api/v3/depth", self.depth, methods=["GET"]),
            Route("/api/v3/account", self.account, methods=["GET"]),
            Route("/api/v3/order", self.order, methods=["GET", "POST", "DELETE"]),
            Route("/api/v3/openOrders", self.open_orders, methods=["GET"]),
            Route("/api/v3/myTrades", self.my_trades, methods=["GET"]),
            Route("/api/v3/userDataStream", self.user_data_stream, methods=["POST", "PUT", "DELETE"]),
        ]

    # ------------------------------------------------------------------ public

    async def ping(self, request: Request) -> Response:
        return JSONResponse({})

    async def time(self, request: Request) -> Response:
        return JSONResponse({"serverTime": self.exchange.now_ms()})

    async def exchange_info(self, request: Request) -> Response:
        params = await _params(request)
        specs = list(self.exchange.specs.values())
        if "symbol" in params and "symbols" in params:
            raise errors.SimApiError(-1128, "Combination of optional parameters invalid.")
        if "symbol" in params:
            specs = [self.exchange.spec(required(params, "symbol"))]
        elif "symbols" in params:
            specs = [self.exchange.spec(name) for name in _json_list(params["symbols"])]
        body = symbols.exchange_info(specs, self.exchange.now_ms(),
                                     self.exchange.rules.exchange_filters.raw)
        # The limits this simulator enforces (SimConfig.limits), not only the seed's defaults.
        body["rateLimits"] = [limit.describe() for limit in self.exchange.config.limits.rate_limits()]
        return JSONResponse(body)

    async def depth(self, request: Request) -> Response:
        params = await _params(request)
        symbol = required(params, "symbol")
        limit = 100
        if optional(params, "limit") is not None:
            limit = parse_int("limit", params["limit"])
            if limit not in DEPTH_LIMITS:  # the seed: "Valid limits:[5, 10, ... 5000]"
                raise errors.illegal_characters(
                    "limit", ", ".join(str(valid) for valid in DEPTH_LIMITS))
        return JSONResponse(self.exchange.depth(symbol, limit))

    # ------------------------------------------------------------------ signed

    async def account(self, request: Request) -> Response:
        signed = await self._signed(request)
        return JSONResponse(self.exchange.account_info(signed.account))

    async def order(self, request: Request) -> Response:
        signed = await self._signed(request)
        if request.method == "POST":
            new_order = parse_new_order(signed.params)
            return JSONResponse(self.exchange.place_order(signed.account, new_order))
        ref = parse_order_ref(signed.params, for_cancel=request.method == "DELETE")
        if request.method == "DELETE":
            return JSONResponse(self.exchange.cancel_order(signed.account, ref))
        return JSONResponse(self.exchange.query_order(signed.account, ref))

    async def open_orders(self, request: Request) -> Response:
        signed = await self._signed(request)
        symbol = optional(signed.params, "symbol")
        return JSONResponse(self.exchange.open_orders(signed.account, symbol))

    async def my_trades(self, request: Request) -> Response:
        signed = await self._signed(request)
        params = signed.params
        limit = 500
        if optional(params, "limit") is not None:
            limit = parse_int("limit", params["limit"])
            if not 1 <= limit <= MAX_TRADES:
                raise errors.invalid_parameter("limit")
        order_id, from_id = _opt_int(params, "orderId"), _opt_int(params, "fromId")
        start, end = _opt_int(params, "startTime"), _opt_int(params, "endTime")
        # rest-api.md's supported combinations: symbol alone, + orderId, + fromId,
        # + orderId + fromId, + startTime and/or endTime (at most 24 hours apart).
        timed = start is not None or end is not None
        if timed and (order_id is not None or from_id is not None):
            raise errors.bad_combination()
        if start is not None and end is not None and end - start > MY_TRADES_WINDOW_MS:
            raise errors.lookup_interval_too_big(24)
        return JSONResponse(self.exchange.my_trades(
            signed.account, required(params, "symbol"), order_id=order_id,
            start_time=start, end_time=end, from_id=from_id, limit=limit,
        ))

    # ------------------------------------------------------------- user stream

    async def user_data_stream(self, request: Request) -> Response:
        account = authenticate_key(self.exchange.accounts, request.headers.get(API_KEY_HEADER))
        params = await _params(request)
        if request.method == "POST":
            return JSONResponse({"listenKey": self.listen_keys.create(account)})
        key = required(params, "listenKey")
        if request.method == "PUT":
            self.listen_keys.keepalive(account, key)
        else:
            self.listen_keys.close(account, key)
        return JSONResponse({})

    async def _signed(self, request: Request) -> SignedRequest:
        query = request.scope.get("query_string", b"").decode("latin-1")
        body = (await request.body()).decode("latin-1")
        return authenticate_signed(
            self.exchange.accounts, request.headers.get(API_KEY_HEADER), query, body,
            self.exchange.now_ms(),
        )


async def _params(request: Request) -> dict[str, str]:
    query = request.scope.get("query_string", b"").decode("latin-1")
    body = "" if request.method == "GET" else (await request.body()).decode("latin-1")
    return parse_params(query, body)


def _opt_int(params: dict[str, str], name: str) -> int | None:
    raw = optional(params, name)
    return None if raw is None else parse_int(name, raw)


def _json_list(raw: str) -> list[str]:
    """``symbols=["BTCUSDT","BNBBTC"]`` (the seed's form)."""
    try:
        names = json.loads(raw)
    except ValueError as exc:
        raise errors.invalid_parameter("symbols") from exc
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise errors.invalid_parameter("symbols")
    return names


async def api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.SimApiError)
    log.info("rest.error path=%s code=%d", request.url.path, exc.code)
    return JSONResponse(exc.payload(), status_code=exc.http_status)


async def internal_error(request: Request, exc: Exception) -> Response:
    """A simulator bug: answer like Binance's 5xx (-1000, outcome unknown) and log it loudly."""
    log.error("rest.internal_error path=%s error=%r", request.url.path, exc)
    failure = errors.unknown_error()
    return JSONResponse(failure.payload(), status_code=failure.http_status)
