"""The gateway's rules against the simulator's, order by order (``test_gateway_differential``).

Why two implementations are compared at all: ``daemon/filters`` decides what the
gateway sends, ``sim/`` stands in for the exchange and shares no rule code with
it (``DESIGN.md``).  Both were written from the same seed and ``filters.md``, so
an order on which they disagree is a misreading on one side.

The pieces (the random markets and orders are ``differential_markets``'):

* ``Twin``: a simulator ``Exchange`` in a drawn market's state, and the daemon's
  compiled rules for its symbol.  ``daemon_verdict`` runs ``validate_all`` with the
  ``MarketInputs`` the gateway would gather from what the exchange reports
  (its average and last price, ``openOrders`` and ``account`` answers, through
  the daemon's own decoders and ``LiveMarketInputs``); ``sim_verdict`` sends
  the very parameters the gateway would send (``daemon.order_params``) to the
  simulator's new-order validation (what ``POST /api/v3/order/test`` runs).
* ``REJECTIONS`` / ``codes_for``: the exchange's answers and the RejectCodes
  they correspond to, spelled out.  ``agree`` is the comparison.

Dimensions left out, and why:

* balances (-2010 "Account has insufficient balance"): ``order/test`` does not
  check them (the matching engine does), and the gateway checks them outside
  ``daemon.filters``;
* LIMIT_MAKER "would immediately match and take": the book's answer, not a rule
  of ``order/test``; the daemon is given no book (``best_bid``/``best_ask`` None)
  so it does not judge it either;
* duplicate client order ids and a trading-disabled account: neither side's
  filters are about them (the gateway's in-flight check, the account's flag);
* every filter of one symbol uses the same ``avgPriceMins`` (as on Binance): the
  simulator keeps one average price per symbol;
* OCO lists (``validate_oco`` against ``POST order/oco``): single orders only;
* exchangeInfo fields left out (absent ``applyMaxToMarket``, ``maxNotional`` ...):
  the two sides default them differently, and Binance always sends them;
* icebergs already open: the store's rows carry no icebergQty, so the gateway
  counts as icebergs only those it sent itself (``LiveMarketInputs.note_iceberg``);
  the Twin notes the resting ones the same way, as if this daemon had sent them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal

import msgspec

from daemon.filters import SymbolRules, compile_rules, normalized, validate_all
from daemon.in_flight import InFlight
from daemon.market_inputs import LiveMarketInputs
from daemon.order_params import order_params
from daemon.orders import OrderRequest, OrderType, RejectCode, Side
from daemon.venues.binance.models import AccountInfo, RestOrder, SymbolInfo
from sim.config import SimConfig
from sim.errors import SimApiError
from sim.exchange import Exchange
from sim.filters import AveragePrice
from sim.requests import parse_new_order
from state import OrderRecord
from tests.integration.differential_markets import BASE, OTHER_BASE, SYMBOL, T0, TYPES, Market

# ------------------------------------------------------------------ the exchange's answers

_INVALID = frozenset({RejectCode.INVALID_PARAMETERS})
_TYPE = frozenset({RejectCode.ORDER_TYPE_NOT_ALLOWED})
_CLOSED = frozenset({RejectCode.SYMBOL_NOT_TRADING})

#: Every refusal a new order can get from the exchange here, and the RejectCodes that
#: name the same problem.  Codes of the seed's "Error Codes"; -2010 texts of its "Order
#: Rejection Issues", with today's two additions (errors.md: trailing stops, permissions).
#: Left out on purpose: balance, "Duplicate order sent.", "This action is disabled on this
#: account." and "Order would immediately match and take." (see the module docstring).
REJECTIONS: dict[tuple[int, str], frozenset[RejectCode]] = {
    (-1013, "Invalid quantity."): _INVALID,        # quantity / quoteOrderQty of 0
    (-1013, "Invalid price."): _INVALID,
    (-1013, "Invalid stop price."): _INVALID,
    (-1121, "Invalid symbol."): frozenset({RejectCode.UNKNOWN_SYMBOL}),
    (-2010, "Market is closed."): _CLOSED,
    (-2010, "This symbol is not permitted for this account."): _CLOSED,
    (-2010, "Market orders are not supported for this symbol."): _TYPE,
    (-2010, "Stop loss orders are not supported for this symbol."): _TYPE,
    (-2010, "Stop loss limit orders are not supported for this symbol."): _TYPE,
    (-2010, "Take profit orders are not supported for this symbol."): _TYPE,
    (-2010, "Take profit limit orders are not supported for this symbol."): _TYPE,
    (-2010, "Iceberg orders are not supported for this symbol."): _TYPE,
    (-2010, "Quote order qty market orders are not support for this symbol."): _TYPE,
    (-2010, "Trailing stop orders are not supported for this symbol."): _TYPE,
    # A LIMIT or LIMIT_MAKER the symbol does not list, or an iceberg that is not GTC.
    (-2010, "Unsupported order combination"): _TYPE | _INVALID,
    (-2010, "IcebergQty exceeds QTY."): _INVALID,
    (-2010, "Price * QTY is zero or less."): _INVALID,
    (-2010, "Order would trigger immediately."): frozenset({RejectCode.STOP_PRICE_DIRECTION}),
}
#: Request grammar: -1100 illegal characters, -1102 mandatory missing, -1106 not required,
#: -1111 precision, -1115 timeInForce, -1116 type, -1117 side, -1130 invalid value.
GRAMMAR_CODES = frozenset({-1100, -1102, -1106, -1111, -1115, -1116, -1117, -1130})
FILTER_FAILURE = "Filter failure: "


def codes_for(code: int, msg: str) -> frozenset[RejectCode]:
    """The RejectCodes that correspond to the exchange's ``{"code": code, "msg": msg}``.

    An answer not listed raises ``KeyError``: the test must then say what it means.
    """
    if code == -1013 and msg.startswith(FILTER_FAILURE):
        return frozenset({RejectCode(msg[len(FILTER_FAILURE):])})
    if code in GRAMMAR_CODES:
        return _INVALID
    return REJECTIONS[(code, msg)]


# ------------------------------------------------------------------ both sides


class Twin:
    """The simulated exchange in ``market``'s state, and the daemon's rules for its symbol.

    The account's resting orders are placed through the simulator's own order
    entry while the symbol has no filters yet; then the drawn rules take effect
    (as when Binance changes a filter under open orders), so the count and
    position filters of both sides start from the same real open orders.
    ``exchange``: a running simulator's (``run_simulator`` with
    ``market.sim_config()``) instead of a fresh in-process one.

    The daemon sees the exchange the way the gateway does: the symbol through
    ``exchangeInfo`` decoded into ``SymbolInfo``, the open orders through
    ``openOrders`` as the store keeps them, balances through ``account``, the
    average and last price as the exchange reports them; ``LiveMarketInputs``
    turns that into ``MarketInputs``.  ``order/test`` changes nothing, so it is
    read once.
    """

    def __init__(self, market: Market, *, exchange: Exchange | None = None) -> None:
        self.market = market
        if exchange is None:
            loose = SimConfig(symbols=[_permissive(market.entry), market.other],
                              balances=dict(market.sim_config().balances),
                              participant_interval_ms=3_600_000)
            exchange = Exchange(loose, clock=lambda: T0, seed_liquidity=False)
            self._place_resting(exchange)
            _apply_rules(exchange, market.sim_config())
        else:
            rules, specs = exchange.rules, dict(exchange.specs)
            _apply_rules(exchange, SimConfig(symbols=[_permissive(market.entry), market.other],
                                             participant_interval_ms=3_600_000), averages=False)
            try:
                self._place_resting(exchange)
            finally:
                exchange.rules = rules
                exchange.specs.update(specs)
        self.exchange = exchange
        self.account = exchange.default_account
        for price, qty in market.trades:
            exchange.avg_prices[SYMBOL].add(exchange.now_ms(), price, qty)
        info = msgspec.json.decode(json.dumps(exchange.spec(SYMBOL).info()), type=SymbolInfo)
        self.rules: SymbolRules = compile_rules(info, exchange_filters=market.exchange_filters,
                                                asset_filters=market.asset_filters)
        self.inputs = LiveMarketInputs(average_price=exchange.avg_price, last_price=exchange.last_price,
                                       best_bid_ask=None, open_orders=lambda: self.open_orders,
                                       balances=lambda: self.balances, in_flight=InFlight())
        self.open_orders = self._read_open_orders()
        self.balances = self._read_balances()

    def _place_resting(self, exchange: Exchange) -> None:
        account = exchange.default_account
        account.balance(BASE).free += self.market.base_held
        for order in self.market.resting:
            if order.side == "SELL":
                account.balance(BASE if order.symbol == SYMBOL else OTHER_BASE).free += order.quantity
            exchange.place_order(account, parse_new_order(order.params()))

    def _read_open_orders(self) -> list[OrderRecord]:
        """``GET openOrders`` as the store keeps it (``state.OrderRecord``).

        The store's rows carry no icebergQty; the gateway knows its icebergs by
        the client ids it sent them with (``note_iceberg``), and so does this one.
        """
        raw = json.dumps(self.exchange.open_orders(self.account, None))
        records = []
        for order in msgspec.json.decode(raw, type=list[RestOrder]):
            if order.iceberg_qty > 0:
                self.inputs.note_iceberg(order.client_order_id)
            records.append(OrderRecord(
                symbol=order.symbol, order_id=order.order_id, client_order_id=order.client_order_id,
                strategy=None, side=order.side, type=order.type, time_in_force=order.time_in_force,
                price=order.price, quantity=order.orig_qty, stop_price=order.stop_price,
                executed_qty=order.executed_qty, cum_quote_qty=order.cummulative_quote_qty,
                status=order.status, order_list_id=order.order_list_id, created_time=order.time,
                update_time=order.update_time, last_event_time=order.update_time, source="reconcile"))
        return records

    def _read_balances(self) -> dict[str, tuple[Decimal, Decimal]]:
        raw = json.dumps(self.exchange.account_info(self.account))
        return {b.asset: (b.free, b.locked) for b in msgspec.json.decode(raw, type=AccountInfo).balances}

    # -------------------------------------------------------------- verdicts

    def daemon_verdict(self, request: OrderRequest) -> list[RejectCode]:
        """Every RejectCode ``validate_all`` finds, in its order; [] = the gateway sends it."""
        market = self.inputs.gather(self.rules, request.side)
        return [found.code for found in validate_all(self.rules, request, market)]

    def sim_verdict(self, params: dict[str, str]) -> tuple[int, str] | None:
        """What ``POST /api/v3/order/test`` answers, in process: None (``{}``) or (code, msg).

        The body of ``sim.trading_rest.TradingApi.test_order`` after authentication.
        """
        exchange = self.exchange
        try:
            new_order = parse_new_order(params)
            spec = exchange.spec(new_order.symbol)
            if spec.status != "TRADING":
                return -2010, "Market is closed."
            exchange.check_user_order(self.account, spec, new_order, exchange.now_ms())
        except SimApiError as exc:
            return exc.code, exc.msg
        return None


def _permissive(entry: dict) -> dict:
    """``entry`` without filters or restrictions: the symbol before its drawn rules apply."""
    return {**entry, "status": "TRADING", "orderTypes": list(TYPES), "filters": [],
            "icebergAllowed": True, "allowTrailingStop": True, "isSpotTradingAllowed": True,
            "permissions": ["SPOT"], "baseAssetPrecision": 8, "quotePrecision": 8,
            "quoteAssetPrecision": 8}


def _apply_rules(exchange: Exchange, config: SimConfig, *, averages: bool = True) -> None:
    """Give ``exchange`` the symbols and exchange/asset filters of ``config`` (it has no API for it)."""
    rules = config.trading_rules()
    exchange.rules = rules
    for spec in rules.symbols:
        exchange.specs[spec.symbol] = spec
        if averages:
            exchange.avg_prices[spec.symbol] = AveragePrice(spec.avg_price_mins, spec.initial_price)


def wire(request: OrderRequest) -> dict[str, str]:
    """The parameters the gateway would send for ``request`` (``daemon.order_params``).

    A side, type or timeInForce that names no enum member cannot be rendered by
    ``order_params`` (the gateway refuses such a request before rendering it);
    it goes out as the strategy spelled it, the rest as ``order_params`` writes it.
    """
    request = normalized(request)  # as ``Gateway.submit`` does before rendering
    try:
        return order_params(request)
    except ValueError:
        pass
    spelled = {"side": _spelling(request.side), "type": _spelling(request.type),
               "timeInForce": _spelling(request.time_in_force)}
    valid = msgspec.structs.replace(request, side=Side.BUY, type=OrderType.LIMIT, time_in_force=None)
    params = order_params(valid)
    params.update({k: v for k, v in spelled.items() if v is not None})
    return {"symbol": params.pop("symbol"), "side": params.pop("side"), "type": params.pop("type"),
            **params}


def _spelling(value: object) -> str | None:
    return None if value is None else str(getattr(value, "value", value))


@dataclass
class Tally:
    """Orders compared, how each side answered, and every disagreement (with what repeats it)."""

    compared: int = 0
    accepted: int = 0
    exact: int = 0  # refused, and the daemon's first reason is the exchange's
    by_answer: dict[str, int] = field(default_factory=dict)
    disagreements: list[str] = field(default_factory=list)

    def record(self, market: Market, request: OrderRequest, params: dict[str, str],
               daemon: list[RejectCode], sim: tuple[int, str] | None) -> bool:
        self.compared += 1
        answer = "accepted" if sim is None else f"{sim[0]} {sim[1]}"
        self.by_answer[answer] = self.by_answer.get(answer, 0) + 1
        ok, why = agree(daemon, sim)
        if ok:
            if sim is None:
                self.accepted += 1
            elif daemon and daemon[0] in codes_for(*sim):
                self.exact += 1
        else:
            self.disagreements.append(
                f"{why}\n  params: {params}\n  daemon: {[c.value for c in daemon]}\n  sim: {sim}\n"
                f"  market: {market.describe()}")
        return ok


def agree(daemon: list[RejectCode], sim: tuple[int, str] | None) -> tuple[bool, str]:
    """Both accept, or both refuse and the exchange's reason is one the daemon found.

    The two sides report the *first* rule broken, in orders that differ by design
    (the daemon's ``EVALUATION_ORDER`` is fixed, the exchange goes through the
    symbol's filters in the order it lists them), so a refused order agrees when
    the exchange's reason is among every reason ``validate_all`` gives.
    """
    if sim is None:
        return (not daemon, "the exchange accepts, the daemon refuses" if daemon else "")
    if not daemon:
        return False, "the daemon accepts, the exchange refuses"
    try:
        expected = codes_for(*sim)
    except KeyError:
        return False, f"an exchange answer the test does not map: {sim}"
    if expected & set(daemon):
        return True, ""
    return False, "both refuse, for different reasons"

