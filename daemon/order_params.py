"""Requests in Binance's wire names: ``POST /api/v3/order`` and ``POST /api/v3/order/oco``.

Why one place: the parameters sent are also the intent journalled before
sending, so a reconciliation reads exactly what left.  Decimals are written
normalised (no exponent, no trailing zeros), which keeps the value, and so
keeps it on the tick or step grid that was validated.
"""

from __future__ import annotations

from daemon.filters import oco_legs, show
from daemon.orders import OcoRequest, OrderRequest, OrderType, Side, TimeInForce

__all__ = ["oco_leg_params", "oco_params", "order_params"]


def order_params(request: OrderRequest) -> dict[str, str]:
    """The ``POST /api/v3/order`` parameters (RESULT response: status and fills totals)."""
    params = {"symbol": request.symbol, "side": Side(request.side)._value_,
              "type": OrderType(request.type)._value_}
    if request.time_in_force is not None:
        params["timeInForce"] = TimeInForce(request.time_in_force)._value_
    for wire, value in (("quantity", request.quantity), ("price", request.price),
                        ("quoteOrderQty", request.quote_order_qty), ("stopPrice", request.stop_price),
                        ("icebergQty", request.iceberg_qty)):
        if value is not None:
            params[wire] = show(value)
    if request.trailing_delta is not None:
        params["trailingDelta"] = str(request.trailing_delta)
    if request.client_order_id:
        params["newClientOrderId"] = request.client_order_id
    params["newOrderRespType"] = "RESULT"
    return params


def oco_params(oco: OcoRequest) -> dict[str, str]:
    """The ``POST /api/v3/order/oco`` parameters (the seed's names; RESULT order reports)."""
    params = {"symbol": oco.symbol, "side": Side(oco.side).value, "quantity": show(oco.quantity),
              "price": show(oco.price), "stopPrice": show(oco.stop_price)}
    for wire, value in (("stopLimitPrice", oco.stop_limit_price),
                        ("limitIcebergQty", oco.limit_iceberg_qty),
                        ("stopIcebergQty", oco.stop_iceberg_qty)):
        if value is not None:
            params[wire] = show(value)
    if oco.stop_limit_time_in_force is not None:
        params["stopLimitTimeInForce"] = TimeInForce(oco.stop_limit_time_in_force).value
    if oco.trailing_delta is not None:
        params["trailingDelta"] = str(oco.trailing_delta)
    for wire, value in (("listClientOrderId", oco.list_client_order_id),
                        ("limitClientOrderId", oco.limit_client_order_id),
                        ("stopClientOrderId", oco.stop_client_order_id)):
        if value:
            params[wire] = value
    params["newOrderRespType"] = "RESULT"
    return params


def oco_leg_params(oco: OcoRequest) -> tuple[dict[str, str], dict[str, str]]:
    """Each leg as the intent journal records it: the leg's own order, tagged with its list."""
    tag = {"contingencyType": "OCO", "listClientOrderId": oco.list_client_order_id or ""}
    limit_leg, stop_leg = oco_legs(oco)
    return {**order_params(limit_leg), **tag}, {**order_params(stop_leg), **tag}
