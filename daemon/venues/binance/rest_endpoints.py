"""The ``/api/v3`` endpoints of ``BinanceRest`` beyond the core order and account calls.

Why a mixin in its own module: ``rest.py`` holds the request plumbing (governor,
signing, clock resync, error mapping) and should stay small enough to read in one
sitting; the endpoint catalogue only says, per endpoint, which method and path,
which security type, which parameters, whether it is an *order call* and what
type the answer decodes to.  ``BinanceRest`` inherits this class, so callers see
one client and never need its private ``_request``.

Weights are not declared here: every call goes through ``_request``, which
reserves ``request_weights.request_cost(method, path, params)`` with the rate
governor before sending (historicalTrades 5, myTrades 10, orderList 2,
openOrderList 3, the others 1; an OCO adds 2 to the ORDERS counts).

*Order calls* (an OCO placement, list and bulk cancels) turn a 5xx or a lost
answer into ``OutcomeUnknown``, because the exchange may have acted on them;
``order/test`` executes nothing, so it is an ordinary read.

Parameter combinations the exchange refuses (e.g. ``fromId`` with a time range)
raise ``ValueError`` before anything is sent: they are programming errors of the
caller, like a cancel without an order id, and would only cost weight to learn.
"""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import msgspec

from daemon.errors import DecodeError, OutcomeUnknown
from daemon.venues.binance.models import (
    AvgPrice,
    RestAggTrade,
    RestOrder,
    RestOrderList,
    RestPublicTrade,
    RestTrade,
    decode_canceled_entry,
)

if TYPE_CHECKING:
    from daemon.venues.binance.signing import Params

#: "Use the rate governor's ``max_wait_s``" (an explicit ``None`` means wait forever).
USE_DEFAULT_WAIT: Any = object()

#: ``code`` of an ``OutcomeUnknown`` without an exchange code (as ``rest.TRANSPORT_FAILURE_CODE``).
NO_EXCHANGE_CODE = 0
#: ``limit`` bounds of the trade lists (seed: default 500, max 1000).
MAX_TRADES_LIMIT = 1000
#: ``myTrades``: ``startTime``..``endTime`` at most 24 hours apart (today's rest-api.md).
MY_TRADES_WINDOW_MS = 24 * 3_600_000
#: ``aggTrades``: ``startTime``..``endTime`` less than one hour apart (seed).
AGG_TRADES_WINDOW_MS = 3_600_000


class Security(enum.Enum):
    """The seed's endpoint security types, reduced to what the client must do."""

    NONE = "none"          # public market data
    API_KEY = "api_key"    # USER_STREAM / MARKET_DATA: X-MBX-APIKEY header only
    SIGNED = "signed"      # TRADE / USER_DATA: header + timestamp + recvWindow + signature


class EmptyAnswer(msgspec.Struct):
    """``{}`` answers (ping, listenKey keepalive/close, order/test)."""


class RestEndpoints:
    """Trade history, market trades, average price, test orders and order lists (OCO)."""

    if TYPE_CHECKING:
        async def _request(self, method: str, path: str, type_: Any, *,
                           params: Params | None = None, security: Security = Security.NONE,
                           order_call: bool = False,
                           max_wait_s: float | None = USE_DEFAULT_WAIT) -> Any: ...

    # ------------------------------------------------------------ own trades

    async def my_trades(self, symbol: str, *, order_id: int | None = None,
                        from_id: int | None = None, start_time: int | None = None,
                        end_time: int | None = None, limit: int = 500) -> list[RestTrade]:
        """``GET /api/v3/myTrades``: the account's fills of ``symbol``, oldest first.

        ``from_id``: trades with id >= it; ``order_id``: one order's fills (may be
        paged with ``from_id``).  A time range excludes both ids, as the exchange's
        supported combinations do, and spans at most 24 hours.
        """
        _check_limit(limit)
        if start_time is not None or end_time is not None:
            if order_id is not None or from_id is not None:
                raise ValueError("myTrades: startTime/endTime cannot be combined with "
                                 "orderId or fromId")
            _check_window(start_time, end_time, MY_TRADES_WINDOW_MS, "myTrades")
        params = {"symbol": symbol, "orderId": order_id, "fromId": from_id,
                  "startTime": start_time, "endTime": end_time, "limit": limit}
        return await self._request("GET", "/api/v3/myTrades", list[RestTrade],
                                   params=params, security=Security.SIGNED)

    # ------------------------------------------------------------ market trades

    async def recent_trades(self, symbol: str, limit: int = 500) -> list[RestPublicTrade]:
        """``GET /api/v3/trades``: the newest ``limit`` market trades (public, no key)."""
        _check_limit(limit)
        return await self._request("GET", "/api/v3/trades", list[RestPublicTrade],
                                   params={"symbol": symbol, "limit": limit})

    async def historical_trades(self, symbol: str, *, from_id: int | None = None,
                                limit: int = 500) -> list[RestPublicTrade]:
        """``GET /api/v3/historicalTrades`` (MARKET_DATA: needs the API key, no signature).

        With ``from_id``: trades with id >= it, which is what a stream backfill
        needs; without: the newest.  No credentials -> ``ConfigError``.
        """
        _check_limit(limit)
        return await self._request("GET", "/api/v3/historicalTrades", list[RestPublicTrade],
                                   params={"symbol": symbol, "fromId": from_id, "limit": limit},
                                   security=Security.API_KEY)

    async def agg_trades(self, symbol: str, *, from_id: int | None = None,
                         start_time: int | None = None, end_time: int | None = None,
                         limit: int = 500) -> list[RestAggTrade]:
        """``GET /api/v3/aggTrades`` (public): by ``from_id`` (inclusive), by time, or newest.

        ``from_id`` excludes a time range; a range with both ends spans under an hour.
        """
        _check_limit(limit)
        if start_time is not None or end_time is not None:
            if from_id is not None:
                raise ValueError("aggTrades: fromId cannot be combined with startTime/endTime")
            _check_window(start_time, end_time, AGG_TRADES_WINDOW_MS, "aggTrades")
        params = {"symbol": symbol, "fromId": from_id, "startTime": start_time,
                  "endTime": end_time, "limit": limit}
        return await self._request("GET", "/api/v3/aggTrades", list[RestAggTrade], params=params)

    async def avg_price(self, symbol: str) -> Decimal:
        """``GET /api/v3/avgPrice``: the price PERCENT_PRICE and notional filters compare to."""
        answer = await self._request("GET", "/api/v3/avgPrice", AvgPrice,
                                     params={"symbol": symbol})
        return answer.price

    # ------------------------------------------------------------ orders

    async def test_order(self, params: dict[str, str]) -> None:
        """``POST /api/v3/order/test``: every check of ``new_order(params)``, nothing executed.

        Returns on ``{}``; a refusal raises the same ``ExchangeError`` class the
        real placement would (``OrderRejected`` for -1013/-2010, ...).
        """
        await self._request("POST", "/api/v3/order/test", EmptyAnswer, params=dict(params),
                            security=Security.SIGNED)

    async def cancel_open_orders(self, symbol: str, *, max_wait_s: float | None = USE_DEFAULT_WAIT,
                                 ) -> list[RestOrder | RestOrderList]:
        """``DELETE /api/v3/openOrders``: cancel every open order of ``symbol``.

        OCO legs come back as their whole list (``RestOrderList``), plain orders as
        ``RestOrder``.  No open order -> ``UnknownOrder`` (-2011).
        """
        entries = await self._request("DELETE", "/api/v3/openOrders", list[msgspec.Raw],
                                      params={"symbol": symbol}, security=Security.SIGNED,
                                      order_call=True, max_wait_s=max_wait_s)
        try:
            return [decode_canceled_entry(entry) for entry in entries]
        except DecodeError as exc:
            # The cancels happened (2xx); what they canceled cannot be read.
            raise OutcomeUnknown(NO_EXCHANGE_CODE,
                                 f"undecodable DELETE /api/v3/openOrders entry: {exc}") from exc

    # ------------------------------------------------------------ order lists (OCO)

    async def new_oco(self, params: dict[str, str], *,
                      max_wait_s: float | None = USE_DEFAULT_WAIT) -> RestOrderList:
        """``POST /api/v3/order/oco``; ``params`` are the wire parameters, in the caller's order.

        ``newOrderRespType`` defaults to ``RESULT`` so that each leg's report
        carries its status (the gateway acks the legs from them).  It counts 2
        against the ORDERS limits.
        """
        wire = dict(params)
        wire.setdefault("newOrderRespType", "RESULT")
        return await self._request("POST", "/api/v3/order/oco", RestOrderList, params=wire,
                                   security=Security.SIGNED, order_call=True,
                                   max_wait_s=max_wait_s)

    async def cancel_order_list(self, symbol: str, *, order_list_id: int | None = None,
                                list_client_order_id: str | None = None,
                                max_wait_s: float | None = USE_DEFAULT_WAIT) -> RestOrderList:
        """``DELETE /api/v3/orderList``: cancel a whole OCO (canceling one leg does too)."""
        if order_list_id is None and not list_client_order_id:
            raise ValueError("either order_list_id or list_client_order_id is required")
        params = {"symbol": symbol, "orderListId": order_list_id,
                  "listClientOrderId": list_client_order_id}
        return await self._request("DELETE", "/api/v3/orderList", RestOrderList, params=params,
                                   security=Security.SIGNED, order_call=True,
                                   max_wait_s=max_wait_s)

    async def get_order_list(self, *, order_list_id: int | None = None,
                             orig_client_order_id: str | None = None) -> RestOrderList:
        """``GET /api/v3/orderList`` by id or by list client id (no symbol: ids are account-wide).

        The answer has no ``order_reports``; query the legs with ``get_order``.
        """
        if order_list_id is None and not orig_client_order_id:
            raise ValueError("either order_list_id or orig_client_order_id is required")
        params = {"orderListId": order_list_id, "origClientOrderId": orig_client_order_id}
        return await self._request("GET", "/api/v3/orderList", RestOrderList, params=params,
                                   security=Security.SIGNED)

    async def open_order_lists(self) -> list[RestOrderList]:
        """``GET /api/v3/openOrderList``: every open OCO of the account (list headers only)."""
        return await self._request("GET", "/api/v3/openOrderList", list[RestOrderList],
                                   security=Security.SIGNED)


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_TRADES_LIMIT:
        raise ValueError(f"limit must be in [1, {MAX_TRADES_LIMIT}], got {limit}")


def _check_window(start_time: int | None, end_time: int | None, span_ms: int, what: str) -> None:
    if start_time is not None and end_time is not None:
        if end_time < start_time:
            raise ValueError(f"{what}: endTime {end_time} is before startTime {start_time}")
        if end_time - start_time > span_ms:
            raise ValueError(f"{what}: startTime..endTime spans more than {span_ms} ms")
