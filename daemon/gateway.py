"""The one path an order takes from a strategy to the exchange.

Why a gateway: every order must pass the same checks in the same order
before it costs a request (filters and parameter rules from
``daemon.filters``, then the free balance), and every order that leaves must
be journalled *before* it leaves, so that a crash or a lost answer can never
produce an order nobody knows about.  The sequence for one ``submit``::

    validate -> balance (counting unacknowledged intents) -> store.record_intent
        -> rest.new_order -> store.record_ack -> Accepted

A refusal is a ``Rejection`` value, persisted with ``store.record_rejection``
and counted per code; nothing reaches the network.  When the exchange's answer
is lost (``OutcomeUnknown``, a transport error, an unreadable body) the order
may exist: the gateway never re-sends, it asks the exchange for the order by
its client id a few times and reports what it finds.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable, Sequence
from decimal import Decimal, localcontext
from typing import Protocol

import msgspec
import trio

from daemon.errors import DecodeError, ExchangeError, OutcomeUnknown, TransportError, UnknownOrder
from daemon.filters import ALGO_TYPES, reject, show, validate
from daemon.orders import (
    Accepted,
    OrderRequest,
    OrderType,
    RejectCode,
    Rejection,
    Side,
    TimeInForce,
    new_client_order_id,
)
from daemon.venues.binance.models import ExchangeInfo, RestOrder, SymbolInfo

__all__ = ["Gateway", "GatewayStats", "OrderRest", "OrderStore", "order_params"]

log = logging.getLogger(__name__)

# Binance's pattern for newClientOrderId.
_CLIENT_ORDER_ID = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")

# Failures after which the order may or may not exist on the exchange.
_OUTCOME_UNKNOWN = (OutcomeUnknown, TransportError, DecodeError)


class OrderRest(Protocol):
    """What the gateway needs of ``daemon.venues.binance.rest.BinanceRest``."""

    async def new_order(self, params: dict[str, str]) -> RestOrder: ...

    async def cancel_order(self, symbol: str, *, order_id: int | None = None,
                           orig_client_order_id: str | None = None) -> RestOrder: ...

    async def get_order(self, symbol: str, *, order_id: int | None = None,
                        orig_client_order_id: str | None = None) -> RestOrder: ...


class OrderStore(Protocol):
    """What the gateway needs of ``state.Store`` (synchronous, one transaction per call)."""

    def record_intent(self, client_order_id: str, strategy: str, symbol: str,
                      request: dict[str, str]) -> object: ...

    def record_ack(self, client_order_id: str, order: RestOrder) -> object: ...

    def record_send_error(self, client_order_id: str, error: str, outcome_unknown: bool) -> object: ...

    def record_rejection(self, strategy: str, client_order_id: str, symbol: str, code: str,
                         reason: str, detail: dict[str, str]) -> object: ...

    def upsert_rest_order(self, order: RestOrder, source: str = ...) -> object: ...


class GatewayStats(msgspec.Struct, frozen=True, kw_only=True):
    """Counters since start: orders acknowledged, refusals per RejectCode value, intents in flight."""

    accepted: int
    rejected: dict[str, int]
    in_flight: int


def order_params(request: OrderRequest) -> dict[str, str]:
    """The ``POST /api/v3/order`` parameters in Binance's names.

    Decimals are written normalised (no exponent, no trailing zeros), which
    keeps the value, and so keeps it on the tick or step grid validated.
    """
    params = {"symbol": request.symbol, "side": Side(request.side).value,
              "type": OrderType(request.type).value}
    if request.time_in_force is not None:
        params["timeInForce"] = TimeInForce(request.time_in_force).value
    for wire, value in (("quantity", request.quantity), ("price", request.price),
                        ("quoteOrderQty", request.quote_order_qty), ("stopPrice", request.stop_price),
                        ("icebergQty", request.iceberg_qty)):
        if value is not None:
            params[wire] = show(value)
    if request.client_order_id:
        params["newClientOrderId"] = request.client_order_id
    params["newOrderRespType"] = "RESULT"
    return params


class Gateway:
    """Validates, journals and sends orders; see the module docstring for the sequence."""

    def __init__(self, rest: OrderRest, store: OrderStore, exchange_info: ExchangeInfo, *,
                 balances: Callable[[], dict[str, tuple[Decimal, Decimal]]],
                 reference_price: Callable[[str], Decimal | None],
                 resolve_delays: Sequence[float] = (0.5, 1.0, 2.0)) -> None:
        self._rest = rest
        self._store = store
        self._balances = balances
        self._reference_price = reference_price
        # Seconds to wait before each query that resolves an unknown outcome: the
        # first wait lets a request still queued in the matching engine land, so
        # "no such order" is believable.
        self._resolve_delays = tuple(resolve_delays)
        self._symbols: dict[str, SymbolInfo] = {}
        self._in_flight: dict[str, tuple[str, Decimal]] = {}  # client id -> (asset, amount held)
        self._accepted = 0
        self._rejected: Counter[str] = Counter()
        self.update_exchange_info(exchange_info)

    # ------------------------------------------------------------ public API

    def symbol_info(self, symbol: str) -> SymbolInfo | None:
        return self._symbols.get(symbol)

    def update_exchange_info(self, info: ExchangeInfo) -> None:
        """Use new trading rules from now on (exchangeInfo is refreshed on reconnect)."""
        self._symbols = {s.symbol: s for s in info.symbols}

    def stats(self) -> GatewayStats:
        return GatewayStats(accepted=self._accepted, rejected=dict(self._rejected),
                            in_flight=len(self._in_flight))

    async def submit(self, request: OrderRequest, *, strategy: str) -> Accepted | Rejection:
        """Validate and send one order; a refusal comes back as a Rejection, never raised."""
        if not request.client_order_id:
            request = msgspec.structs.replace(request, client_order_id=new_client_order_id(strategy))
        cid = request.client_order_id
        refused = self._precheck(request)
        if refused is not None:
            return self._refuse(strategy, refused, exchange=False)
        params = order_params(request)
        # Hold the amount before the first await, so that concurrent submits see it.
        self._in_flight[cid] = self._requirement(self._symbols[request.symbol], request)
        try:
            self._store.record_intent(cid, strategy, request.symbol, params)
            return await self._send(request, params, strategy)
        finally:
            del self._in_flight[cid]

    async def cancel(self, symbol: str, client_order_id: str, *, strategy: str) -> bool:
        """Ask the exchange to cancel; False when it no longer knows the order (already gone).

        The authoritative order state arrives through the user stream; the REST
        answer is stored too so the store is right even if the stream lags.
        """
        try:
            order = await self._rest.cancel_order(symbol, orig_client_order_id=client_order_id)
        except UnknownOrder as exc:
            log.info("order.cancel_unknown symbol=%s client_order_id=%s strategy=%s code=%s",
                     symbol, client_order_id, strategy, exc.code)
            await self._refresh_order(symbol, client_order_id)
            return False
        except (ExchangeError, TransportError) as exc:
            # Not knowing whether a cancel worked is not the strategy's problem to
            # solve: the user stream or the next reconciliation settles the state.
            log.warning("order.cancel_failed symbol=%s client_order_id=%s strategy=%s error=%s",
                        symbol, client_order_id, strategy, exc)
            return False
        # A cancel answer's clientOrderId is the *cancel request's* id (the order's
        # own is origClientOrderId); store it under the order's id.
        order = msgspec.structs.replace(order, client_order_id=client_order_id)
        self._store.upsert_rest_order(order, source="cancel")
        log.info("order.canceled symbol=%s client_order_id=%s strategy=%s status=%s",
                 symbol, client_order_id, strategy, order.status)
        return True

    async def _refresh_order(self, symbol: str, client_order_id: str) -> None:
        """The exchange refused to cancel an order we think open: learn its real state.

        It usually filled (or expired) while the cancel was on its way; without
        this the store would keep listing it as open until the next reconcile.
        """
        try:
            order = await self._rest.get_order(symbol, orig_client_order_id=client_order_id)
        except (ExchangeError, TransportError) as exc:
            log.warning("order.refresh_failed symbol=%s client_order_id=%s error=%s",
                        symbol, client_order_id, exc)
            return
        self._store.upsert_rest_order(order, source="cancel")

    # ------------------------------------------------------------ checks

    def _precheck(self, request: OrderRequest) -> Rejection | None:
        info = self._symbols.get(request.symbol)
        if info is None:
            return reject(RejectCode.UNKNOWN_SYMBOL, request,
                          f"UNKNOWN_SYMBOL: {request.symbol} is not in exchangeInfo",
                          {"symbol": request.symbol})
        cid = request.client_order_id or ""
        if not _CLIENT_ORDER_ID.match(cid):
            return reject(RejectCode.INVALID_PARAMETERS, request,
                          f"INVALID_PARAMETERS: client_order_id {cid!r} does not match "
                          f"{_CLIENT_ORDER_ID.pattern}",
                          {"parameter": "newClientOrderId", "newClientOrderId": cid})
        if cid in self._in_flight:
            return reject(RejectCode.INVALID_PARAMETERS, request,
                          f"INVALID_PARAMETERS: client_order_id {cid} is already in flight",
                          {"parameter": "newClientOrderId", "newClientOrderId": cid})
        found = validate(info, request, reference_price=self._reference_price(request.symbol))
        return found if found is not None else self._check_balance(info, request)

    def _requirement(self, info: SymbolInfo, request: OrderRequest) -> tuple[str, Decimal]:
        """(asset, amount) the order locks; amount is -1 when it cannot be estimated."""
        reference = self._reference_price(request.symbol)
        qty = request.quantity
        with localcontext() as ctx:
            ctx.prec = 60
            if Side(request.side) is Side.BUY:
                if request.quote_order_qty is not None:
                    return info.quote_asset, request.quote_order_qty
                if request.price is not None:
                    return info.quote_asset, request.price * qty
                if request.type in ALGO_TYPES:  # stop-market: priced at its trigger
                    return info.quote_asset, request.stop_price * qty
                return info.quote_asset, reference * qty if reference else Decimal(-1)
            if qty is not None:
                return info.base_asset, qty
            return info.base_asset, request.quote_order_qty / reference if reference else Decimal(-1)

    def _check_balance(self, info: SymbolInfo, request: OrderRequest) -> Rejection | None:
        asset, needed = self._requirement(info, request)
        if needed < 0:
            return reject(RejectCode.INSUFFICIENT_BALANCE, request,
                          f"INSUFFICIENT_BALANCE: no reference price for {request.symbol} to "
                          f"estimate the {asset} a MARKET {Side(request.side).value} needs",
                          {"asset": asset})
        free = self._balances().get(asset, (Decimal(0), Decimal(0)))[0]
        held = [amount for a, amount in self._in_flight.values() if a == asset]
        pending = sum(held, Decimal(0))
        if free - pending >= needed:
            return None
        return reject(RejectCode.INSUFFICIENT_BALANCE, request,
                      f"INSUFFICIENT_BALANCE: needs {show(needed)} {asset}, free {show(free)} "
                      f"minus {show(pending)} held by {len(held)} unacknowledged orders "
                      f"leaves {show(free - pending)}",
                      {"asset": asset, "required": needed, "free": free, "pending": pending})

    # ------------------------------------------------------------ sending

    async def _send(self, request: OrderRequest, params: dict[str, str],
                    strategy: str) -> Accepted | Rejection:
        cid = request.client_order_id
        try:
            order = await self._rest.new_order(params)
        except trio.Cancelled:
            self._store.record_send_error(cid, "cancelled while sending", outcome_unknown=True)
            raise
        except _OUTCOME_UNKNOWN as exc:
            self._store.record_send_error(cid, _describe(exc), outcome_unknown=True)
            log.warning("order.outcome_unknown symbol=%s client_order_id=%s error=%s",
                        request.symbol, cid, _describe(exc))
            return await self._resolve(request, strategy, exc)
        except ExchangeError as exc:
            # Every other exchange answer means the order was not placed.
            self._store.record_send_error(cid, _describe(exc), outcome_unknown=False)
            refused = reject(RejectCode.EXCHANGE_REJECTED, request,
                             f"EXCHANGE_REJECTED: [{exc.code}] {exc.exchange_message}",
                             {"exchange_code": str(exc.code), "exchange_message": exc.exchange_message,
                              "error": type(exc).__name__, "retryable": str(exc.retryable)})
            return self._refuse(strategy, refused, exchange=True)
        return self._accept(request, order, strategy)

    async def _resolve(self, request: OrderRequest, strategy: str,
                       cause: Exception) -> Accepted | Rejection:
        """Find out whether an order with an unknown outcome exists; never re-send it."""
        cid = request.client_order_id
        last_error = _describe(cause)
        for delay in self._resolve_delays:
            await trio.sleep(delay)
            try:
                order = await self._rest.get_order(request.symbol, orig_client_order_id=cid)
            except UnknownOrder:
                refused = reject(RejectCode.EXCHANGE_REJECTED, request,
                                 "EXCHANGE_REJECTED: outcome unknown; exchange has no such order",
                                 {"error": type(cause).__name__, "cause": _describe(cause)})
                return self._refuse(strategy, refused, exchange=True)
            except (*_OUTCOME_UNKNOWN, ExchangeError) as exc:
                last_error = _describe(exc)
                log.warning("order.resolve_failed symbol=%s client_order_id=%s error=%s",
                            request.symbol, cid, last_error)
                continue
            log.info("order.resolved symbol=%s client_order_id=%s order_id=%s",
                     request.symbol, cid, order.order_id)
            return self._accept(request, order, strategy)
        # Still unknown: the intent stays "unknown" in the store for reconciliation.
        # Not recorded as a rejection, because that would close the intent.
        self._rejected[RejectCode.OUTCOME_UNKNOWN.value] += 1
        log.error("order.rejected code=OUTCOME_UNKNOWN symbol=%s client_order_id=%s strategy=%s "
                  "attempts=%d error=%s", request.symbol, cid, strategy,
                  len(self._resolve_delays), last_error)
        return reject(RejectCode.OUTCOME_UNKNOWN, request,
                      f"OUTCOME_UNKNOWN: order state not known after {len(self._resolve_delays)} "
                      f"queries; left to reconciliation (last error: {last_error})",
                      {"attempts": str(len(self._resolve_delays)), "error": last_error})

    def _accept(self, request: OrderRequest, order: RestOrder, strategy: str) -> Accepted:
        cid = request.client_order_id
        self._store.record_ack(cid, order)
        self._accepted += 1
        log.info("order.accepted symbol=%s client_order_id=%s strategy=%s order_id=%s status=%s",
                 request.symbol, cid, strategy, order.order_id, order.status)
        return Accepted(symbol=order.symbol, client_order_id=cid, order_id=order.order_id,
                        status=order.status)

    def _refuse(self, strategy: str, rejection: Rejection, *, exchange: bool) -> Rejection:
        self._store.record_rejection(strategy, rejection.client_order_id, rejection.symbol,
                                     rejection.code.value, rejection.reason, rejection.detail)
        self._rejected[rejection.code.value] += 1
        log.log(logging.WARNING if exchange else logging.INFO,
                "order.rejected code=%s symbol=%s client_order_id=%s strategy=%s reason=%s",
                rejection.code.value, rejection.symbol, rejection.client_order_id, strategy,
                rejection.reason)
        return rejection


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
