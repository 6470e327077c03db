"""The one path an order takes from a strategy to the exchange.

Why a gateway: every order must pass the same checks in the same order
before it costs a request, and every order that leaves must be journalled
*before* it leaves, so that a crash or a lost answer can never produce an
order nobody knows about.  The sequence for one ``submit``::

    [adjust] -> filters and order rules (daemon.filters, with live MarketInputs)
      -> free balance (counting unacknowledged orders) -> risk checks (check_order plugins)
      -> ORDERS rate budget -> store.record_intent -> rest.new_order -> store.record_ack

``submit_oco`` runs the same sequence for a pair (both legs through every
rule, counted as two orders and one list, one intent per leg).

A refusal is a ``Rejection`` value, persisted with ``store.record_rejection``,
logged once (``order.rejected code=...``) and counted per code; nothing
reaches the network.  When the exchange's answer is lost (``OutcomeUnknown``,
a transport error, an unreadable body) the order may exist: the gateway never
re-sends, it asks the exchange for the order by its client id a few times
(``daemon.gateway_outcomes``) and reports what it finds.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Protocol

import msgspec

from daemon import filters
from daemon import order_checks as checks
from daemon.errors import ExchangeError, TransportError, UnknownOrder
from daemon.filters import SymbolRules, reject
from daemon.filters.base import CTX
from daemon.gateway_outcomes import Outcomes
from daemon.in_flight import Hold, InFlight, oco_requirement, requirement
from daemon.market_inputs import LiveMarketInputs
from daemon.order_params import oco_leg_params, oco_params, order_params
from daemon.order_rate import OrderRateBudget
from daemon.orders import (
    Accepted,
    ListAccepted,
    OcoRequest,
    OrderRequest,
    RejectCode,
    Rejection,
    Side,
    new_client_order_id,
)
from daemon.venues.binance.models import ExchangeInfo, RestOrder, SymbolInfo

__all__ = ["Gateway", "GatewayStats", "OrderListAnswer", "OrderRest", "OrderStore", "RiskCheck",
           "order_params"]

log = logging.getLogger(__name__)

#: ``risk_check(strategy, request) -> rejections``; see ``daemon.risk_hooks``.
RiskCheck = Callable[[str, OrderRequest], Sequence[Rejection]]


class OrderListAnswer(Protocol):
    """The ``POST /api/v3/order/oco`` answer (RESULT): the list and one report per leg."""

    symbol: str
    order_list_id: int
    list_client_order_id: str
    list_order_status: str
    order_reports: Sequence[RestOrder]


class OrderRest(Protocol):
    """What the gateway needs of ``daemon.venues.binance.rest.BinanceRest``."""

    async def new_order(self, params: dict[str, str]) -> RestOrder: ...

    async def new_oco(self, params: dict[str, str]) -> OrderListAnswer: ...

    async def cancel_order(self, symbol: str, *, order_id: int | None = None,
                           orig_client_order_id: str | None = None) -> RestOrder: ...

    async def get_order(self, symbol: str, *, order_id: int | None = None,
                        orig_client_order_id: str | None = None) -> RestOrder: ...


class OrderStore(Protocol):
    """What the gateway needs of ``state.Store`` (synchronous, one transaction per call).

    ``orders(open_only=True)`` (optional) feeds the open-order counts of the
    MAX_NUM_* filters and MAX_POSITION; without it those filters refuse.
    """

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


class Gateway:
    """Validates, journals and sends orders; see the module docstring for the sequence.

    Market inputs: ``average_price`` and ``last_price`` default to
    ``reference_price`` (the daemon passes ``MarketCache.last_price``);
    ``best_bid_ask`` enables the LIMIT_MAKER check; ``open_orders`` defaults to
    ``store.orders(open_only=True)`` when the store has it.  ``asset_filters``
    are ``GET /api/v3/myFilters`` ``assetFilters`` (MAX_ASSET).
    ``allow_unknown_filters`` names filter types that may pass unevaluated
    (config ``[gateway] allow_unknown_filters``); any other unknown type
    refuses every order on its symbol.  ``order_rate`` defaults to the ORDERS
    limits of ``exchange_info``; ``clock`` is wall-clock seconds for it.
    """

    def __init__(self, rest: OrderRest, store: OrderStore, exchange_info: ExchangeInfo, *,
                 balances: Callable[[], dict[str, tuple[Decimal, Decimal]]],
                 reference_price: Callable[[str], Decimal | None] | None = None,
                 average_price: Callable[[str], Decimal | None] | None = None,
                 last_price: Callable[[str], Decimal | None] | None = None,
                 best_bid_ask: Callable[[str], tuple[Decimal | None, Decimal | None]] | None = None,
                 open_orders: Callable[[], Iterable] | None = None,
                 asset_filters: Iterable[Mapping] = (),
                 allow_unknown_filters: Iterable[str] = frozenset(),
                 risk_check: RiskCheck | None = None,
                 order_rate: OrderRateBudget | None = None,
                 clock: Callable[[], float] = time.time,
                 resolve_delays: Sequence[float] = (0.5, 1.0, 2.0)) -> None:
        self._rest = rest
        self._store = store
        self._balances = balances
        nothing: Callable[[str], Decimal | None] = lambda symbol: None  # noqa: E731
        reference = reference_price or nothing
        self._reference_price = average_price or reference
        if open_orders is None and callable(getattr(store, "orders", None)):
            open_orders = lambda: store.orders(open_only=True)  # noqa: E731
        self._in_flight = InFlight()
        self._inputs = LiveMarketInputs(average_price=average_price or reference,
                                        last_price=last_price or reference, best_bid_ask=best_bid_ask,
                                        open_orders=open_orders, balances=balances,
                                        in_flight=self._in_flight)
        self._risk_check = risk_check
        self._clock = clock
        self._allow_unknown = frozenset(allow_unknown_filters)
        self._asset_filters = tuple(asset_filters)
        self._order_rate = order_rate or OrderRateBudget.from_rate_limits(exchange_info.rate_limits)
        self._outcomes = Outcomes(rest, store, tuple(resolve_delays))
        self._infos: dict[str, SymbolInfo] = {}
        self._rules: dict[str, SymbolRules] = {}
        self._reported_filters: set[tuple[str, str, str]] = set()
        self._closed: str | None = None
        self._accepted = 0
        self._rejected: Counter[str] = Counter()
        self._exchange_info = exchange_info
        self.update_exchange_info(exchange_info)

    # ------------------------------------------------------------ rules and state

    def symbol_info(self, symbol: str) -> SymbolInfo | None:
        return self._infos.get(symbol)

    def symbol_rules(self, symbol: str) -> SymbolRules | None:
        """The compiled rules of ``symbol`` (helpers such as ``filters.adjust`` take them).

        Compiled on first use after each exchangeInfo update and kept: Binance
        lists a few thousand symbols, and parsing all of them at every
        reconnect would stall the event loop for most of a second.
        """
        rules = self._rules.get(symbol)
        if rules is None:
            info = self._infos.get(symbol)
            if info is None:
                return None
            rules = self._rules[symbol] = filters.compile_rules(
                info, exchange_filters=self._exchange_info.exchange_filters,
                asset_filters=self._asset_filters, allow_unknown_filters=self._allow_unknown)
            self._report_filters(rules)
        return rules

    def update_exchange_info(self, info: ExchangeInfo, *,
                             asset_filters: Iterable[Mapping] | None = None) -> None:
        """Use new trading rules from now on (exchangeInfo is refreshed on reconnect).

        Each symbol's filters are parsed once (on its first order), so ``submit``
        only compares numbers.
        """
        if asset_filters is not None:
            self._asset_filters = tuple(asset_filters)
        self._exchange_info = info
        self._infos = {symbol.symbol: symbol for symbol in info.symbols}
        self._rules = {}
        self._order_rate.update_limits(info.rate_limits)

    def update_asset_filters(self, asset_filters: Iterable[Mapping]) -> None:
        """New MAX_ASSET filters (``GET /api/v3/myFilters``) for every symbol."""
        self.update_exchange_info(self._exchange_info, asset_filters=asset_filters)

    def _report_filters(self, rules: SymbolRules) -> None:
        """Log each unknown or malformed filter once per symbol and type (not per order)."""
        for event, action, names in (("filter.unknown", "refuse", rules.unknown_filters),
                                     ("filter.unknown", "allowed", rules.allowed_unknown),
                                     ("filter.malformed", "refuse", rules.malformed)):
            for name in names:
                key = (rules.symbol, name, f"{event}:{action}")
                if key in self._reported_filters:
                    continue
                self._reported_filters.add(key)
                log.log(logging.INFO if action == "allowed" else logging.WARNING,
                        "%s symbol=%s type=%s action=%s", event, rules.symbol, name, action)

    @property
    def order_rate(self) -> OrderRateBudget:
        return self._order_rate

    def observe_order_counts(self, order_count_10s: int | None, order_count_1d: int | None) -> None:
        """Fold in the X-MBX-ORDER-COUNT-10S / -1D headers of an order response."""
        self._order_rate.observe(order_count_10s, order_count_1d, self._clock())

    def stats(self) -> GatewayStats:
        return GatewayStats(accepted=self._accepted, rejected=dict(self._rejected),
                            in_flight=len(self._in_flight))

    def in_flight_count(self, strategy: str) -> int:
        """Orders of ``strategy`` sent but not yet answered (risk checks add them to open orders)."""
        return self._in_flight.count_for(strategy)

    def close(self, reason: str = "shutting down") -> None:
        """Refuse every new order from now on (cancels still go out): for an orderly shutdown."""
        self._closed = reason
        log.info("gateway.closed reason=%s", reason)

    def explain(self, request: OrderRequest) -> list[Rejection]:
        """Every filter and order rule ``request`` breaks now (no balance, risk or rate check)."""
        rules = self.symbol_rules(request.symbol)
        if rules is None:
            return [checks.unknown_symbol(request)]
        request = filters.normalized(request)
        return filters.validate_all(rules, request, self._inputs.gather(rules, request.side))

    # ------------------------------------------------------------ single orders

    async def submit(self, request: OrderRequest, *, strategy: str,
                     adjust: bool = False) -> Accepted | Rejection:
        """Validate and send one order; a refusal comes back as a Rejection, never raised.

        ``adjust=True`` first moves price, stopPrice, quantity and icebergQty
        onto the symbol's grids (``filters.adjust``) and reports the changes in
        ``Accepted.adjustments``.
        """
        if not request.client_order_id:
            request = msgspec.structs.replace(request, client_order_id=new_client_order_id(strategy))
        request = filters.normalized(request)
        rules = self.symbol_rules(request.symbol)
        adjustments: dict[str, str] = {}
        if adjust and rules is not None:
            request, adjustments = filters.adjust(rules, request)
            if adjustments:
                log.info("order.adjusted symbol=%s client_order_id=%s strategy=%s changes=%s",
                         request.symbol, request.client_order_id, strategy,
                         ",".join(f"{k}:{v}" for k, v in adjustments.items()))
        refused, hold = self._check(rules, request, strategy)
        if refused is not None:
            return self._refuse(strategy, refused, exchange=False)
        cid = request.client_order_id
        params = order_params(request)
        # Hold before the first await, so that concurrent submits see it.
        self._in_flight.add(hold)
        try:
            self._store.record_intent(cid, strategy, request.symbol, params)
            if request.iceberg_qty is not None:
                self._inputs.note_iceberg(cid)
            result = await self._outcomes.send(request, params, strategy)
        finally:
            self._in_flight.remove(cid)
        return self._settle(strategy, result, adjustments)

    def _check(self, rules: SymbolRules | None, request: OrderRequest,
               strategy: str) -> tuple[Rejection | None, Hold | None]:
        """Every check of ``submit`` in order: the first refusal, or the hold to place."""
        if self._closed is not None:
            return checks.gateway_closed(request, self._closed), None
        if rules is None:
            return checks.unknown_symbol(request), None
        refused = checks.check_client_ids(request, [request.client_order_id or ""], self._in_flight)
        if refused is None:
            adding = filters.additions(request)
            market = self._inputs.gather(rules, request.side, adding)
            refused = filters.validate(rules, request, market, adding=adding)
        if refused is not None:
            return refused, None
        asset, amount = requirement(rules, request, self._reference_price(request.symbol))
        refused = checks.check_balance(request, asset, amount, self._balances(), self._in_flight)
        if refused is None:
            refused = checks.check_risk(self._risk_check, strategy, request, request)
        if refused is None:
            refused = checks.check_rate(self._order_rate, self._clock(), request, 1)
        if refused is not None:
            return refused, None
        return None, Hold(key=request.client_order_id, strategy=strategy, symbol=request.symbol,
                          asset=asset, amount=amount, counts=filters.additions(request),
                          buy_quantity=self._bought(request))

    def _bought(self, request: OrderRequest) -> Decimal:
        """Base quantity a BUY adds to the MAX_POSITION position (estimated for quoteOrderQty)."""
        if request.side is not Side.BUY:
            return Decimal(0)
        if request.quantity is not None:
            return request.quantity
        reference = self._reference_price(request.symbol)
        return CTX.divide(request.quote_order_qty, reference) if reference else Decimal(0)

    # ------------------------------------------------------------ OCO

    async def submit_oco(self, oco: OcoRequest, *, strategy: str) -> ListAccepted | Rejection:
        """Validate and send an OCO pair; both legs pass every rule, one intent per leg."""
        oco = msgspec.structs.replace(
            filters.normalized_oco(oco),
            list_client_order_id=oco.list_client_order_id or new_client_order_id(strategy),
            limit_client_order_id=oco.limit_client_order_id or new_client_order_id(strategy),
            stop_client_order_id=oco.stop_client_order_id or new_client_order_id(strategy))
        refused, hold = self._check_oco(oco, strategy)
        if refused is not None:
            return self._refuse(strategy, refused, exchange=False)
        limit_params, stop_params = oco_leg_params(oco)
        self._in_flight.add(hold)
        try:
            self._store.record_intent(oco.limit_client_order_id, strategy, oco.symbol, limit_params)
            self._store.record_intent(oco.stop_client_order_id, strategy, oco.symbol, stop_params)
            for cid, iceberg in ((oco.limit_client_order_id, oco.limit_iceberg_qty),
                                 (oco.stop_client_order_id, oco.stop_iceberg_qty)):
                if iceberg is not None:
                    self._inputs.note_iceberg(cid)
            result = await self._outcomes.send_oco(oco, oco_params(oco), strategy)
        finally:
            self._in_flight.remove(oco.list_client_order_id)
        return self._settle(strategy, result, {})

    def _check_oco(self, oco: OcoRequest, strategy: str) -> tuple[Rejection | None, Hold | None]:
        if self._closed is not None:
            return checks.gateway_closed(oco, self._closed), None
        rules = self.symbol_rules(oco.symbol)
        if rules is None:
            return checks.unknown_symbol(oco), None
        ids = [oco.list_client_order_id, oco.limit_client_order_id, oco.stop_client_order_id]
        refused = checks.check_client_ids(oco, ids, self._in_flight)
        if refused is None and len(set(ids)) != 3:
            refused = reject(RejectCode.INVALID_PARAMETERS, oco,
                             "INVALID_PARAMETERS: the list, limit and stop client ids of an OCO must differ",
                             {"parameter": "listClientOrderId", "ids": ",".join(ids)})
        if refused is None:
            market = self._inputs.gather(rules, oco.side, filters.oco_additions(oco))
            refused = filters.validate_oco(rules, oco, market)
        if refused is not None:
            return refused, None
        asset, amount = oco_requirement(rules, oco)
        refused = checks.check_balance(oco, asset, amount, self._balances(), self._in_flight)
        for leg in filters.oco_legs(oco):
            if refused is None:
                refused = checks.check_risk(self._risk_check, strategy, leg, oco)
        if refused is None:
            refused = checks.check_rate(self._order_rate, self._clock(), oco, 2)
        if refused is not None:
            return refused, None
        buy = oco.quantity if oco.side is Side.BUY else Decimal(0)
        return None, Hold(key=oco.list_client_order_id, strategy=strategy, symbol=oco.symbol, asset=asset,
                          amount=amount, counts=filters.oco_additions(oco), buy_quantity=buy)

    # ------------------------------------------------------------ outcomes

    def _settle(self, strategy: str, result, adjustments: dict[str, str]):
        """Count and log what the exchange (or the resolution) said; refusals are recorded once."""
        if isinstance(result, Rejection):
            if result.code is RejectCode.OUTCOME_UNKNOWN:
                # Not recorded as a rejection: that would close the intent reconcile must resolve.
                self._rejected[result.code.value] += 1
                log.error("order.rejected code=OUTCOME_UNKNOWN symbol=%s client_order_id=%s "
                          "strategy=%s reason=%s", result.symbol, result.client_order_id, strategy,
                          result.reason)
                return result
            return self._refuse(strategy, result, exchange=True)
        self._accepted += 1
        if isinstance(result, ListAccepted):
            log.info("order.accepted symbol=%s list_client_order_id=%s strategy=%s order_list_id=%s "
                     "status=%s", result.symbol, result.list_client_order_id, strategy,
                     result.order_list_id, result.list_order_status)
            return result
        log.info("order.accepted symbol=%s client_order_id=%s strategy=%s order_id=%s status=%s",
                 result.symbol, result.client_order_id, strategy, result.order_id, result.status)
        return msgspec.structs.replace(result, adjustments=adjustments) if adjustments else result

    def _refuse(self, strategy: str, rejection: Rejection, *, exchange: bool) -> Rejection:
        self._store.record_rejection(strategy, rejection.client_order_id, rejection.symbol,
                                     rejection.code.value, rejection.reason, rejection.detail)
        self._rejected[rejection.code.value] += 1
        log.log(logging.WARNING if exchange else logging.INFO,
                "order.rejected code=%s symbol=%s client_order_id=%s strategy=%s reason=%s",
                rejection.code.value, rejection.symbol, rejection.client_order_id, strategy,
                rejection.reason)
        return rejection

    # ------------------------------------------------------------ cancel

    async def cancel(self, symbol: str, client_order_id: str, *, strategy: str) -> bool:
        """Ask the exchange to cancel; False when it no longer knows the order or the call failed.

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

