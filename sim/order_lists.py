"""Order lists (OCO): the list itself, and its REST and ``listStatus`` shapes.

An OCO is two orders of one account on one symbol, sharing ``orderListId``: a
contingent leg (STOP_LOSS, or STOP_LOSS_LIMIT with ``stopLimitPrice``) and a
LIMIT_MAKER leg, in that order (the seed's examples list the stop leg first,
with the lower orderId).  The list is EXECUTING until one leg is touched (a
fill of the limit leg, or the trigger of the stop leg) or the list is
canceled; then the other leg expires (or both are canceled) and the list is
ALL_DONE.  The lifecycle itself runs in ``sim.contingent``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sim.engine import Order
from sim.numbers import fmt8
from sim.symbols import SELF_TRADE_PREVENTION_MODE

if TYPE_CHECKING:
    from sim.accounts import Account


@dataclass(eq=False)
class OrderList:
    order_list_id: int
    list_client_order_id: str
    symbol: str
    owner: Account
    transaction_time: int
    orders: list[Order] = field(default_factory=list)  # [contingent leg, limit maker leg]
    list_status_type: str = "EXEC_STARTED"
    list_order_status: str = "EXECUTING"

    @property
    def is_open(self) -> bool:
        return self.list_order_status == "EXECUTING"

    def other_leg(self, order: Order) -> Order:
        return self.orders[1] if order is self.orders[0] else self.orders[0]

    def finish(self, time: int) -> None:
        self.list_status_type = self.list_order_status = "ALL_DONE"
        self.transaction_time = time


# ------------------------------------------------------------------ rendering


def _header(order_list: OrderList) -> dict[str, object]:
    return {
        "orderListId": order_list.order_list_id,
        "contingencyType": "OCO",
        "listStatusType": order_list.list_status_type,
        "listOrderStatus": order_list.list_order_status,
        "listClientOrderId": order_list.list_client_order_id,
        "transactionTime": order_list.transaction_time,
        "symbol": order_list.symbol,
        "orders": [
            {"symbol": order.symbol, "orderId": order.order_id,
             "clientOrderId": order.client_order_id}
            for order in order_list.orders
        ],
    }


def list_query(order_list: OrderList) -> dict[str, object]:
    """``GET /api/v3/orderList``, ``allOrderList`` and ``openOrderList`` entries."""
    return _header(order_list)


def _leg_core(order: Order) -> dict[str, object]:
    body: dict[str, object] = {
        "price": fmt8(order.price),
        "origQty": fmt8(order.orig_qty),
        "executedQty": fmt8(order.executed_qty),
        "cummulativeQuoteQty": fmt8(order.cum_quote),
        "status": order.status,
        "timeInForce": order.time_in_force,
        "type": order.order_type,
        "side": order.side,
    }
    if order.stop_price or order.trailing_delta:
        body["stopPrice"] = fmt8(order.stop_price)
    if order.is_iceberg:
        body["icebergQty"] = fmt8(order.iceberg_qty)
    if order.trailing_delta:
        body["trailingDelta"] = order.trailing_delta
    return body


def list_placed(order_list: OrderList, transact_time: int) -> dict[str, object]:
    """``POST /api/v3/order/oco``: the list and a report of each leg."""
    body = _header(order_list)
    body["orderReports"] = [
        {"symbol": order.symbol, "orderId": order.order_id, "orderListId": order.order_list_id,
         "clientOrderId": order.client_order_id, "transactTime": transact_time, **_leg_core(order),
         "workingTime": order.working_time, "selfTradePreventionMode": SELF_TRADE_PREVENTION_MODE}
        for order in order_list.orders
    ]
    return body


def list_canceled(order_list: OrderList, cancel_client_order_id: str) -> dict[str, object]:
    """``DELETE /api/v3/orderList`` (and an OCO's entry of ``DELETE openOrders``)."""
    body = _header(order_list)
    body["orderReports"] = [
        {"symbol": order.symbol, "origClientOrderId": order.client_order_id,
         "orderId": order.order_id, "orderListId": order.order_list_id,
         "clientOrderId": cancel_client_order_id, "transactTime": order.update_time,
         **_leg_core(order), "selfTradePreventionMode": SELF_TRADE_PREVENTION_MODE}
        for order in order_list.orders
    ]
    return body


def list_status_event(order_list: OrderList, event_time: int,
                      reject_reason: str = "NONE") -> dict[str, object]:
    """The user stream's ``listStatus`` event (listenKey-era user-data-stream.md)."""
    return {
        "e": "listStatus",
        "E": event_time,
        "s": order_list.symbol,
        "g": order_list.order_list_id,
        "c": "OCO",
        "l": order_list.list_status_type,
        "L": order_list.list_order_status,
        "r": reject_reason,
        "C": order_list.list_client_order_id,
        "T": order_list.transaction_time,
        "O": [{"s": order.symbol, "i": order.order_id, "c": order.client_order_id}
              for order in order_list.orders],
    }
