"""Parameters of the order-list endpoints (``POST order/oco``, ``orderList``), per the seed.

Why apart from ``sim.requests``: an OCO request describes two orders at once
(``price`` for the LIMIT_MAKER leg, ``stopPrice``/``stopLimitPrice`` for the
contingent leg) plus list-level ids; once parsed, each leg is an ordinary
``NewOrder`` that the same filters and checks see.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sim import errors
from sim.numbers import parse_int
from sim.requests import (
    trailing_delta,
    RESPONSE_TYPES,
    SIDES,
    TIME_IN_FORCE,
    NewOrder,
    check_client_id,
    optional,
    order_decimal,
    required,
)


@dataclass(frozen=True)
class NewOco:
    symbol: str
    side: str
    quantity: Decimal
    price: Decimal  # the LIMIT_MAKER leg
    stop_price: Decimal
    stop_limit_price: Decimal | None
    stop_limit_tif: str | None
    limit_iceberg_qty: Decimal | None
    stop_iceberg_qty: Decimal | None
    list_client_order_id: str | None
    limit_client_order_id: str | None
    stop_client_order_id: str | None
    trailing_delta: int | None
    response_type: str

    def stop_leg(self) -> NewOrder:
        limit = self.stop_limit_price is not None
        return NewOrder(
            symbol=self.symbol, side=self.side,
            order_type="STOP_LOSS_LIMIT" if limit else "STOP_LOSS",
            time_in_force=self.stop_limit_tif or "GTC", quantity=self.quantity,
            quote_order_qty=None, price=self.stop_limit_price,
            client_order_id=self.stop_client_order_id, response_type=self.response_type,
            stop_price=self.stop_price, iceberg_qty=self.stop_iceberg_qty,
            trailing_delta=self.trailing_delta,
        )

    def limit_leg(self) -> NewOrder:
        return NewOrder(
            symbol=self.symbol, side=self.side, order_type="LIMIT_MAKER", time_in_force="GTC",
            quantity=self.quantity, quote_order_qty=None, price=self.price,
            client_order_id=self.limit_client_order_id, response_type=self.response_type,
            iceberg_qty=self.limit_iceberg_qty,
        )


@dataclass(frozen=True)
class ListRef:
    """Which order list a cancel or query is about."""

    symbol: str | None
    order_list_id: int | None
    list_client_order_id: str | None
    new_client_order_id: str | None = None


def _iceberg(params: dict[str, str], name: str) -> Decimal | None:
    raw = optional(params, name)
    if raw is None:
        return None
    value = order_decimal(name, raw)
    return value if value > 0 else None


def parse_new_oco(params: dict[str, str]) -> NewOco:
    symbol = required(params, "symbol")
    side = required(params, "side")
    if side not in SIDES:
        raise errors.invalid_side()
    quantity = order_decimal("quantity", required(params, "quantity"))
    price = order_decimal("price", required(params, "price"))
    stop_price = order_decimal("stopPrice", required(params, "stopPrice"))
    raw_limit = optional(params, "stopLimitPrice")
    raw_tif = optional(params, "stopLimitTimeInForce")
    stop_limit_price = order_decimal("price", raw_limit) if raw_limit is not None else None
    if stop_limit_price is not None and raw_tif is None:
        raise errors.bad_combination("'stopLimitTimeInForce' should also be sent.")
    if stop_limit_price is None:
        for name in ("stopLimitTimeInForce", "stopIcebergQty"):
            if optional(params, name) is not None:
                raise errors.parameter_not_required(name)
    if raw_tif is not None and raw_tif not in TIME_IN_FORCE:
        raise errors.invalid_tif()
    trailing = trailing_delta(params)
    ids = {}
    for name in ("listClientOrderId", "limitClientOrderId", "stopClientOrderId"):
        value = params.get(name)
        if value is not None:
            check_client_id(value, name)
        ids[name] = value
    response_type = params.get("newOrderRespType") or "ACK"
    if response_type not in RESPONSE_TYPES:
        raise errors.invalid_parameter("newOrderRespType")
    return NewOco(
        symbol=symbol, side=side, quantity=quantity, price=price, stop_price=stop_price,
        stop_limit_price=stop_limit_price, stop_limit_tif=raw_tif,
        limit_iceberg_qty=_iceberg(params, "limitIcebergQty"),
        stop_iceberg_qty=_iceberg(params, "stopIcebergQty"),
        list_client_order_id=ids["listClientOrderId"],
        limit_client_order_id=ids["limitClientOrderId"],
        stop_client_order_id=ids["stopClientOrderId"],
        trailing_delta=trailing, response_type=response_type,
    )


def parse_list_ref(params: dict[str, str], *, for_cancel: bool) -> ListRef:
    """DELETE: ``symbol`` + ``orderListId`` or ``listClientOrderId``;
    GET: ``orderListId`` or ``origClientOrderId`` (no symbol: list ids are exchange-wide)."""
    client_key = "listClientOrderId" if for_cancel else "origClientOrderId"
    symbol = required(params, "symbol") if for_cancel else optional(params, "symbol")
    raw_id = optional(params, "orderListId")
    client_id = optional(params, client_key)
    if raw_id is None and client_id is None:
        raise errors.one_of_missing("orderListId", client_key)
    new_id = None
    if for_cancel and (new_id := params.get("newClientOrderId")) is not None:
        check_client_id(new_id, "newClientOrderId")
    list_id = parse_int("orderListId", raw_id) if raw_id is not None else None
    return ListRef(symbol, list_id, client_id, new_id)
