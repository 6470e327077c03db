"""Wire payloads: REST order answers and stream events in the seed's exact shapes.

Why one module: the same order appears in five REST shapes and in every
executionReport, with the same field letters and 8-decimal strings each time;
keeping the renderers together keeps them consistent with each other and with
the seed ("New Order", "Query Order", "Payload: Order Update" ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sim.accounts import Account, TradeRecord
from sim.engine import Order
from sim.numbers import ZERO, fmt8
from sim.symbols import SELF_TRADE_PREVENTION_MODE


@dataclass(frozen=True)
class Fill:
    """One execution of an order, from that order's point of view."""

    trade_id: int
    price: Decimal
    qty: Decimal
    quote_qty: Decimal
    commission: Decimal
    commission_asset: str
    is_maker: bool
    time: int


def order_ack(order: Order, transact_time: int) -> dict[str, object]:
    return {
        "symbol": order.symbol,
        "orderId": order.order_id,
        "orderListId": order.order_list_id,
        "clientOrderId": order.client_order_id,
        "transactTime": transact_time,
    }


def order_result(order: Order, transact_time: int) -> dict[str, object]:
    """RESULT: the seed's fields, then today's ``origQuoteOrderQty``, ``workingTime``, STP mode."""
    body = order_ack(order, transact_time)
    body.update(_order_core(order))
    body.update(_contingent_fields(order))
    body["origQuoteOrderQty"] = fmt8(order.quote_order_qty)
    body.update(_working_fields(order))
    return body


def _working_fields(order: Order) -> dict[str, object]:
    """``workingTime`` (when the order went on the book; -1 while a stop waits for its
    trigger) and ``selfTradePreventionMode``, which today's docs add to every order shape."""
    return {"workingTime": order.working_time,
            "selfTradePreventionMode": SELF_TRADE_PREVENTION_MODE}


def _contingent_fields(order: Order) -> dict[str, object]:
    """``stopPrice``/``icebergQty``/``trailingDelta``, shown only where the order has them
    (the seed's OCO and cancel examples; plain orders' RESULT has neither)."""
    extra: dict[str, object] = {}
    if order.stop_price or order.trailing_delta:
        extra["stopPrice"] = fmt8(order.stop_price)
    if order.iceberg_qty:
        extra["icebergQty"] = fmt8(order.iceberg_qty)
    if order.trailing_delta:
        extra["trailingDelta"] = order.trailing_delta
    return extra


def order_full(order: Order, transact_time: int, fills: list[Fill]) -> dict[str, object]:
    body = order_result(order, transact_time)
    body["fills"] = [
        {
            "price": fmt8(fill.price),
            "qty": fmt8(fill.qty),
            "commission": fmt8(fill.commission),
            "commissionAsset": fill.commission_asset,
            "tradeId": fill.trade_id,
        }
        for fill in fills
    ]
    return body


def order_query(order: Order) -> dict[str, object]:
    """``GET /api/v3/order`` and ``openOrders`` entries."""
    body: dict[str, object] = {
        "symbol": order.symbol,
        "orderId": order.order_id,
        "orderListId": order.order_list_id,
        "clientOrderId": order.client_order_id,
    }
    body.update(_order_core(order))
    body.update(
        {
            "stopPrice": fmt8(order.stop_price),
            "icebergQty": fmt8(order.iceberg_qty),
            "time": order.time,
            "updateTime": order.update_time,
            "isWorking": order.working,
            "origQuoteOrderQty": fmt8(order.quote_order_qty),
        }
    )
    body.update(_working_fields(order))
    if order.trailing_delta:
        body["trailingDelta"] = order.trailing_delta
    return body


def order_canceled(order: Order, cancel_client_order_id: str) -> dict[str, object]:
    """``DELETE /api/v3/order``: ``clientOrderId`` is the cancel's own id.

    ``transactTime`` is the cancel's time, which is the order's last update (the
    cancel is what updated it); today's cancel shape has no ``workingTime``.
    """
    body: dict[str, object] = {
        "symbol": order.symbol,
        "origClientOrderId": order.client_order_id,
        "orderId": order.order_id,
        "orderListId": order.order_list_id,
        "clientOrderId": cancel_client_order_id,
        "transactTime": order.update_time,
    }
    body.update(_order_core(order))
    body.update(_contingent_fields(order))
    body["origQuoteOrderQty"] = fmt8(order.quote_order_qty)
    body["selfTradePreventionMode"] = SELF_TRADE_PREVENTION_MODE
    return body


def _order_core(order: Order) -> dict[str, object]:
    return {
        "price": fmt8(order.price),
        "origQty": fmt8(order.orig_qty),
        "executedQty": fmt8(order.executed_qty),
        "cummulativeQuoteQty": fmt8(order.cum_quote),
        "status": order.status,
        "timeInForce": order.time_in_force,
        "type": order.order_type,
        "side": order.side,
    }


def execution_report(
    order: Order,
    execution_type: str,
    event_time: int,
    *,
    fill: Fill | None = None,
    client_order_id: str | None = None,
    orig_client_order_id: str = "",
    reject_reason: str = "NONE",
) -> dict[str, object]:
    """The ``executionReport`` event, every field of the seed's payload, in its order.

    For CANCELED, ``client_order_id`` is the cancel request's id and
    ``orig_client_order_id`` the order's own, as on Binance.  A trailing stop
    also carries ``d`` (trailingDelta, 2022-04 changelog).
    """
    report: dict[str, object] = {
        "e": "executionReport",
        "E": event_time,
        "s": order.symbol,
        "c": client_order_id if client_order_id is not None else order.client_order_id,
        "S": order.side,
        "o": order.order_type,
        "f": order.time_in_force,
        "q": fmt8(order.orig_qty),
        "p": fmt8(order.price),
        "P": fmt8(order.stop_price),
        "F": fmt8(order.iceberg_qty),
        "g": order.order_list_id,
        "C": orig_client_order_id,
        "x": execution_type,
        "X": order.status,
        "r": reject_reason,
        "i": order.order_id,
        "l": fmt8(fill.qty) if fill else fmt8(ZERO),
        "z": fmt8(order.executed_qty),
        "L": fmt8(fill.price) if fill else fmt8(ZERO),
        "n": fmt8(fill.commission) if fill else "0",
        "N": fill.commission_asset if fill else None,
        "T": fill.time if fill else order.update_time,
        "t": fill.trade_id if fill else -1,
        "I": event_time,
        "w": order.on_book,
        "m": fill.is_maker if fill else False,
        "M": False,
        "O": order.time,
        "Z": fmt8(order.cum_quote),
        "Y": fmt8(fill.quote_qty) if fill else fmt8(ZERO),
        "Q": fmt8(order.quote_order_qty),
    }
    if order.trailing_delta:
        report["d"] = order.trailing_delta
    return report


def account_position(account: Account, assets: list[str], event_time: int) -> dict[str, object]:
    return {
        "e": "outboundAccountPosition",
        "E": event_time,
        "u": account.update_time,
        "B": [
            {
                "a": asset,
                "f": fmt8(account.balance(asset).free),
                "l": fmt8(account.balance(asset).locked),
            }
            for asset in assets
        ],
    }


def account_info(account: Account, uid: int) -> dict[str, object]:
    """``GET /api/v3/account``; commissions in basis points as the seed shows them.

    Today's additions: ``commissionRates`` (the same rates as exact fractions; the
    sim has no buyer/seller surcharge, hence zeros), ``brokered``,
    ``requireSelfTradePrevention`` and ``preventSor`` false (no broker, no STP
    requirement, no SOR in the sim), and ``uid``: the account's UID of the
    wallet endpoints (``sim.wallet``), so both views name the same user.
    """
    return {
        "makerCommission": int(account.maker_rate * 10000),
        "takerCommission": int(account.taker_rate * 10000),
        "buyerCommission": 0,
        "sellerCommission": 0,
        "commissionRates": {"maker": fmt8(account.maker_rate), "taker": fmt8(account.taker_rate),
                            "buyer": fmt8(ZERO), "seller": fmt8(ZERO)},
        "canTrade": account.can_trade,
        "canWithdraw": True,
        "canDeposit": True,
        "brokered": False,
        "requireSelfTradePrevention": False,
        "preventSor": False,
        "updateTime": account.update_time,
        "accountType": "SPOT",
        "balances": [
            {"asset": asset, "free": fmt8(held.free), "locked": fmt8(held.locked)}
            for asset, held in sorted(account.balances.items())
        ],
        "permissions": ["SPOT"],
        "uid": uid,
    }


def my_trade(record: TradeRecord) -> dict[str, object]:
    return {
        "symbol": record.symbol,
        "id": record.trade_id,
        "orderId": record.order_id,
        "orderListId": record.order_list_id,
        "price": fmt8(record.price),
        "qty": fmt8(record.qty),
        "quoteQty": fmt8(record.quote_qty),
        "commission": fmt8(record.commission),
        "commissionAsset": record.commission_asset,
        "time": record.time,
        "isBuyer": record.is_buyer,
        "isMaker": record.is_maker,
        "isBestMatch": True,
    }


def trade_event(
    symbol: str, trade_id: int, price: Decimal, qty: Decimal,
    buyer_order_id: int, seller_order_id: int, time: int, buyer_is_maker: bool,
) -> dict[str, object]:
    return {
        "e": "trade",
        "E": time,
        "s": symbol,
        "t": trade_id,
        "p": fmt8(price),
        "q": fmt8(qty),
        "b": buyer_order_id,
        "a": seller_order_id,
        "T": time,
        "m": buyer_is_maker,
        "M": True,
    }


def book_ticker(
    symbol: str, update_id: int,
    bid: tuple[Decimal, Decimal] | None, ask: tuple[Decimal, Decimal] | None,
) -> dict[str, object]:
    """An empty side renders as zeros, which is what Binance sends for it."""
    bid_price, bid_qty = bid if bid else (ZERO, ZERO)
    ask_price, ask_qty = ask if ask else (ZERO, ZERO)
    return {
        "u": update_id,
        "s": symbol,
        "b": fmt8(bid_price),
        "B": fmt8(bid_qty),
        "a": fmt8(ask_price),
        "A": fmt8(ask_qty),
    }


def depth_snapshot(
    update_id: int, bids: list[tuple[Decimal, Decimal]], asks: list[tuple[Decimal, Decimal]]
) -> dict[str, object]:
    return {
        "lastUpdateId": update_id,
        "bids": [[fmt8(price), fmt8(qty)] for price, qty in bids],
        "asks": [[fmt8(price), fmt8(qty)] for price, qty in asks],
    }
