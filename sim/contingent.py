"""Contingent orders on the exchange: stop/take-profit parking and triggering, and OCO lists.

Why a mixin of ``Exchange``: these orders reuse the exchange's own steps
(reserve, create, match, settle, report) at other moments of their life; as
methods of the same object they share them without widening the exchange's
public API.  ``sim.exchange`` keeps the plain order path; this module adds:

* parking: a new STOP_LOSS(_LIMIT)/TAKE_PROFIT(_LIMIT) order reserves its funds
  (a limit leg as a LIMIT order would; a market BUY at its stop price, or at the
  last price for a trailing stop without one), is reported NEW with
  ``isWorking`` false, and waits in the symbol's ``StopBook``;
* triggering: every trade shows its price to the stop book; orders it triggers
  fire once the order that traded has finished (never inside another order's
  matching), in trigger order, until none is left (a fired order may trigger
  more).  A fired order is reported NEW again, now working, and then matches
  as a MARKET (STOP_LOSS, TAKE_PROFIT) or LIMIT order with its timeInForce.  A
  market BUY may spend more than its reservation when the price ran past its
  stop: it locks the difference from free balance, and buys less if that does
  not reach (the rest expires);
* OCO: both legs created together, one reservation held by the leg that can
  still execute; ``executionReport`` per leg and ``listStatus`` EXEC_STARTED /
  EXECUTING; when the limit leg trades, the stop leg expires, when the stop leg
  triggers, the limit leg expires first; the list is then ALL_DONE.  Canceling a
  leg cancels the list.
"""

from __future__ import annotations

import logging
from collections import deque
from decimal import Decimal
from typing import TYPE_CHECKING

from sim import errors, render
from sim.accounts import Account
from sim.engine import Match, Order, OrderBook
from sim.filters import NewOrders, check_account_limits, check_asset_limits, check_order_values
from sim.hub import user_topic
from sim.numbers import ZERO, up8
from sim.oco_requests import ListRef, NewOco
from sim.order_checks import (
    account_state,
    check_duplicate,
    check_order_form,
    check_permissions,
    check_price_qty,
)
from sim.order_lists import OrderList, list_canceled, list_placed, list_status_event
from sim.requests import NewOrder
from sim.symbols import SymbolSpec
from sim.triggers import StopBook

if TYPE_CHECKING:
    from sim.exchange import Exchange as _Base
else:
    _Base = object

log = logging.getLogger(__name__)

AT_MARKET = frozenset({"MARKET", "STOP_LOSS", "TAKE_PROFIT"})


class ContingentOrders(_Base):
    """Mixed into ``sim.exchange.Exchange``; see the module docstring."""

    stops: dict[str, StopBook]
    _pending: deque[Order]
    _firing: bool
    _list_ids: int

    def _init_contingent(self) -> None:
        self.stops = {name: StopBook() for name in self.specs}
        self._pending = deque()
        self._firing = False
        self._list_ids = 0

    # ------------------------------------------------------------- stop orders

    def last_price(self, symbol: str) -> Decimal:
        """The last trade price (the initial price before the first trade)."""
        return self.avg_prices[symbol].last_price

    def _park(self, owner: Account, spec: SymbolSpec, req: NewOrder, now: int, *,
              reserve: Decimal | None = None, order_list_id: int = -1) -> Order:
        if reserve is None:
            reserve = self._algo_reservation(spec, req)
            owner.lock(self._lock_asset(spec, req.side), reserve)
        order = self._new_order(owner, spec, req, [], reserve, now)
        order.working = False
        order.working_time = -1  # workingTime -1 until the trigger (today's docs)
        order.order_list_id = order_list_id
        self.stops[spec.symbol].add(order, self.last_price(spec.symbol))
        self._report(order, "NEW", now)
        return order

    def _algo_reservation(self, spec: SymbolSpec, req: NewOrder) -> Decimal:
        assert req.quantity is not None
        if req.side == "SELL":
            return req.quantity
        price = req.price if req.price is not None else (
            req.stop_price or self.last_price(spec.symbol))
        return up8(price * req.quantity)

    def _note_trade(self, symbol: str, price: Decimal) -> None:
        stops = self.stops[symbol]
        if len(stops):
            self._pending.extend(stops.on_trade(price))

    def run_triggers(self) -> None:
        """Fire every triggered order, and those their trades trigger, until none is left."""
        if self._firing:
            return
        self._firing = True
        try:
            while self._pending:
                order = self._pending.popleft()
                if order.is_open and not order.working:
                    self._fire(order)
        finally:
            self._firing = False

    def _fire(self, order: Order) -> None:
        spec = self.specs[order.symbol]
        book = self.books[order.symbol]
        now = self.now_ms()
        owner = order.owner
        assert owner is not None
        log.debug("order.triggered symbol=%s id=%d type=%s", order.symbol, order.order_id,
                  order.order_type)
        if order.order_list_id != -1:
            order_list = owner.order_lists[order.order_list_id]
            other = order_list.other_leg(order)
            order.reserved, other.reserved = other.reserved + order.reserved, ZERO
            self._expire_leg(other, now)
            self._finish_list(order_list, now)
        order.working = True
        order.working_time = now
        if order.order_type in AT_MARKET:
            budget = None
            if order.side == "BUY":
                budget = order.reserved + owner.balance(spec.quote).free
            matches = book.plan(order.side, limit_price=None, quantity=order.remaining,
                                quote_budget=budget, step=spec.step_size)
            cost = sum((m.quote_qty for m in matches), ZERO)
            if order.side == "BUY" and cost > order.reserved:
                owner.lock(spec.quote, cost - order.reserved)
                order.reserved = cost
        else:
            matches = book.plan(order.side, limit_price=order.price, quantity=order.remaining,
                                step=spec.step_size)
        self._match(spec, book, order, matches, now)

    def _match(self, spec: SymbolSpec, book: OrderBook, order: Order, matches: list[Match],
               now: int) -> list[render.Fill]:
        """An order meets the book now: all-or-nothing, rest, report, execute, finish."""
        if order.time_in_force == "FOK" and sum((m.qty for m in matches), ZERO) < order.remaining:
            matches = []
        planned = sum((m.qty for m in matches), ZERO)
        if order.order_type not in AT_MARKET and order.time_in_force == "GTC" \
                and planned < order.remaining:
            # It will rest: put it on its own side now (the plan takes from the other side
            # only), so that its NEW and TRADE reports say it is working ("w": true).
            book.add(order)
        self._report(order, "NEW", now)
        fills = [self._execute(spec, book, order, match, now) for match in matches]
        self._finish_taker(spec, book, order, now)
        return fills

    # --------------------------------------------------------------------- OCO

    def place_oco(self, account: Account, request: NewOco) -> dict[str, object]:
        spec = self.spec(request.symbol)
        now = self.now_ms()
        if spec.status != "TRADING":
            raise errors.order_rejected(errors.MARKET_CLOSED)
        stop_req, limit_req = request.stop_leg(), request.limit_leg()
        self._check_oco(account, spec, request, stop_req, limit_req)
        book = self.books[spec.symbol]
        if book.would_cross(limit_req.side, request.price):
            raise errors.order_rejected(errors.WOULD_TAKE)
        if request.side == "SELL":
            reserve = request.quantity
        else:
            stop_at = request.stop_limit_price or request.stop_price
            reserve = max(up8(request.price * request.quantity),
                          up8(stop_at * request.quantity))
        account.lock(self._lock_asset(spec, request.side), reserve)
        self._list_ids += 1
        order_list = OrderList(
            order_list_id=self._list_ids,
            list_client_order_id=request.list_client_order_id or self._new_client_id(),
            symbol=spec.symbol, owner=account, transaction_time=now)
        stop_leg = self._park(account, spec, stop_req, now, reserve=ZERO,
                              order_list_id=order_list.order_list_id)
        limit_leg = self._new_order(account, spec, limit_req, [], reserve, now)
        limit_leg.order_list_id = order_list.order_list_id
        book.add(limit_leg)
        self._report(limit_leg, "NEW", now)
        order_list.orders = [stop_leg, limit_leg]
        account.order_lists[order_list.order_list_id] = order_list
        self._publish_list(order_list, now)
        self._publish_changes([spec.symbol])
        log.debug("order_list.new symbol=%s id=%d", spec.symbol, order_list.order_list_id)
        return list_placed(order_list, now)

    def _check_oco(self, account: Account, spec: SymbolSpec, request: NewOco,
                   stop_req: NewOrder, limit_req: NewOrder) -> None:
        check_permissions(account, spec)
        if not spec.oco_allowed:
            raise errors.order_rejected(errors.OCO_NOT_SUPPORTED)
        for leg in (stop_req, limit_req):
            check_order_form(spec, leg)
        for client_id in (request.limit_client_order_id, request.stop_client_order_id):
            check_duplicate(account, spec.symbol, client_id)
        if request.list_client_order_id is not None and any(
                lst.list_client_order_id == request.list_client_order_id
                for lst in account.open_order_lists()):
            raise errors.order_rejected(errors.DUPLICATE_ORDER)
        avg = self.avg_price(spec.symbol)
        for leg in (stop_req, limit_req):
            check_order_values(spec, leg, avg)
        icebergs = sum(1 for leg in (stop_req, limit_req) if leg.is_iceberg)
        adds = NewOrders(orders=2, algo=1, iceberg=icebergs, lists=1,
                         buy_qty=request.quantity if request.side == "BUY" else None)
        check_account_limits(spec, account_state(account, spec), adds,
                             exchange_filters=self.rules.exchange_filters)
        for leg in (stop_req, limit_req):
            check_asset_limits(spec, leg, avg, dict(self.rules.asset_limits))
            check_price_qty(leg)
        last = self.last_price(spec.symbol)
        if request.side == "SELL":
            straddles = request.price > last > request.stop_price
        else:
            straddles = request.price < last < request.stop_price
        if not straddles:
            raise errors.order_rejected(errors.OCO_BAD_PRICES)

    def cancel_order_list(self, account: Account, ref: ListRef) -> dict[str, object]:
        assert ref.symbol is not None
        self.spec(ref.symbol)
        order_list = self.find_order_list(account, ref)
        if order_list is None or order_list.symbol != ref.symbol or not order_list.is_open:
            raise errors.cancel_rejected("Unknown order list sent.")
        cancel_id = ref.new_client_order_id or self._new_client_id()
        self._cancel_list(order_list, cancel_id)
        self._publish_changes([order_list.symbol])
        return list_canceled(order_list, cancel_id)

    @staticmethod
    def find_order_list(account: Account, ref: ListRef) -> OrderList | None:
        if ref.order_list_id is not None:
            found = account.order_lists.get(ref.order_list_id)
            if found is not None and ref.list_client_order_id is not None \
                    and found.list_client_order_id != ref.list_client_order_id:
                return None
            return found
        newest = None
        for order_list in account.order_lists.values():
            if order_list.list_client_order_id == ref.list_client_order_id:
                newest = order_list
        return newest

    def _cancel_list(self, order_list: OrderList, cancel_id: str) -> None:
        for leg in order_list.orders:
            if leg.is_open:
                self._cancel(leg, "CANCELED", client_order_id=cancel_id)
        self._finish_list(order_list, self.now_ms())

    def _leg_touched(self, order: Order, now: int) -> None:
        """The limit leg traded: the contingent leg expires and the list is done."""
        owner = order.owner
        assert owner is not None
        order_list = owner.order_lists[order.order_list_id]
        if not order_list.is_open:
            return
        other = order_list.other_leg(order)
        if other.is_open:
            self._expire_leg(other, now)
        self._finish_list(order_list, now)

    def _expire_leg(self, order: Order, now: int) -> None:
        self.stops[order.symbol].remove(order)
        self.books[order.symbol].remove(order)
        order.status = "EXPIRED"
        order.update_time = now
        self._release(self.specs[order.symbol], order)
        self._report(order, "EXPIRED", now)

    def _finish_list(self, order_list: OrderList, now: int) -> None:
        if order_list.is_open:
            order_list.finish(now)
            self._publish_list(order_list, now)

    def _publish_list(self, order_list: OrderList, now: int) -> None:
        self.hub.publish(user_topic(order_list.owner.account_id),
                         list_status_event(order_list, now))

    # --------------------------------------------------------- cancel them all

    def cancel_open_orders(self, account: Account, symbol: str) -> list[dict[str, object]]:
        """``DELETE /api/v3/openOrders``: every open order of the symbol, OCOs as lists."""
        self.spec(symbol)
        open_orders = account.open_orders(symbol)
        if not open_orders:
            raise errors.cancel_rejected(errors.UNKNOWN_ORDER)
        cancel_id = self._new_client_id()
        answers: list[dict[str, object]] = []
        seen_lists: set[int] = set()
        for order in open_orders:
            if order.order_list_id != -1:
                if order.order_list_id in seen_lists:
                    continue
                seen_lists.add(order.order_list_id)
                order_list = account.order_lists[order.order_list_id]
                self._cancel_list(order_list, cancel_id)
                answers.append(list_canceled(order_list, cancel_id))
                continue
            if order.is_open:
                self._cancel(order, "CANCELED", client_order_id=cancel_id)
                answers.append(render.order_canceled(order, cancel_id))
        self._publish_changes([symbol])
        return answers
