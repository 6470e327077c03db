"""Parsing and checking the parameters of the order endpoints, per the seed's tables.

Why separate from the exchange: "which parameters are mandatory for which order
type" is pure request grammar (the seed's "Additional mandatory parameters
based on type"), answered with -11xx codes before the matching engine is
involved; the exchange then works on typed values only.  Checks that need the
symbol (precision, what the symbol allows) are ``sim.order_checks``'.

Order of the answers, as a request is read: symbol, side, type; then each
mandatory parameter of the type (-1102), then each parameter the type does not
take (-1106), then the values: the decimal grammar (-1100), zero amounts
(-1013 "Invalid quantity." ...), timeInForce (-1115), trailingDelta.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from sim import errors
from sim.numbers import parse_int

SIDES = frozenset({"BUY", "SELL"})
TIME_IN_FORCE = frozenset({"GTC", "IOC", "FOK"})
RESPONSE_TYPES = frozenset({"ACK", "RESULT", "FULL"})
ALGO_TYPES = frozenset({"STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"})
LIMIT_PRICED = frozenset({"LIMIT", "LIMIT_MAKER", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"})
SUPPORTED_TYPES = frozenset({"LIMIT", "LIMIT_MAKER", "MARKET"}) | ALGO_TYPES

# The seed's table: parameters each type must send, and those it may send.
_MANDATORY: dict[str, tuple[str, ...]] = {
    "LIMIT": ("timeInForce", "quantity", "price"),
    "MARKET": (),
    "STOP_LOSS": ("quantity",),
    "STOP_LOSS_LIMIT": ("timeInForce", "quantity", "price"),
    "TAKE_PROFIT": ("quantity",),
    "TAKE_PROFIT_LIMIT": ("timeInForce", "quantity", "price"),
    "LIMIT_MAKER": ("quantity", "price"),
}
_OPTIONAL: dict[str, frozenset[str]] = {
    "LIMIT": frozenset({"icebergQty"}),
    "MARKET": frozenset({"quantity", "quoteOrderQty"}),
    "STOP_LOSS": frozenset({"stopPrice", "trailingDelta"}),
    "STOP_LOSS_LIMIT": frozenset({"stopPrice", "trailingDelta", "icebergQty"}),
    "TAKE_PROFIT": frozenset({"stopPrice", "trailingDelta"}),
    "TAKE_PROFIT_LIMIT": frozenset({"stopPrice", "trailingDelta", "icebergQty"}),
    "LIMIT_MAKER": frozenset({"icebergQty"}),
}
# Order-shaping parameters; any of them outside a type's two sets is -1106.
_SHAPING = ("timeInForce", "quantity", "quoteOrderQty", "price", "stopPrice", "icebergQty",
            "trailingDelta")
# -1013 answers for a zero amount (an icebergQty of 0 just means "not an iceberg").
_ZERO_MESSAGES = {
    "quantity": "Invalid quantity.",
    "quoteOrderQty": "Invalid quantity.",
    "price": "Invalid price.",
    "stopPrice": "Invalid stop price.",
}
_DECIMAL_RE = re.compile(r"^([0-9]{1,20})(\.[0-9]{1,20})?$")
# The live exchange's rule for client order ids.
CLIENT_ID_RANGE = "^[\\.A-Z\\:/a-z0-9_-]{1,36}$"
_CLIENT_ID_RE = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")


def trailing_delta(params: dict[str, str]) -> int | None:
    """``trailingDelta`` (basis points, a positive integer) when sent."""
    raw = optional(params, "trailingDelta")
    if raw is None:
        return None
    value = parse_int("trailingDelta", raw)
    if value <= 0:
        raise errors.invalid_parameter("trailingDelta")
    return value


@dataclass(frozen=True)
class NewOrder:
    symbol: str
    side: str
    order_type: str
    time_in_force: str
    quantity: Decimal | None
    quote_order_qty: Decimal | None
    price: Decimal | None
    client_order_id: str | None
    response_type: str
    stop_price: Decimal | None = None
    iceberg_qty: Decimal | None = None
    trailing_delta: int | None = None

    @property
    def is_algo(self) -> bool:
        """STOP_LOSS(_LIMIT) / TAKE_PROFIT(_LIMIT): contingent until their trigger."""
        return self.order_type in ALGO_TYPES

    @property
    def is_iceberg(self) -> bool:
        return self.iceberg_qty is not None and self.iceberg_qty > 0

    @property
    def trades_at_market(self) -> bool:
        """MARKET, and STOP_LOSS / TAKE_PROFIT (a MARKET order once triggered)."""
        return self.price is None


@dataclass(frozen=True)
class OrderRef:
    """Which order a cancel or query is about."""

    symbol: str
    order_id: int | None
    orig_client_order_id: str | None
    new_client_order_id: str | None = None


def required(params: dict[str, str], name: str) -> str:
    value = params.get(name)
    if value is None or value == "":
        raise errors.mandatory_missing(name)
    return value


def optional(params: dict[str, str], name: str) -> str | None:
    value = params.get(name)
    return None if value is None or value == "" else value


def order_decimal(name: str, raw: str) -> Decimal:
    """An amount of an order: the live grammar (-1100), and zero refused (-1013)."""
    if not _DECIMAL_RE.match(raw):
        raise errors.illegal_characters(name)
    value = Decimal(raw)
    if value == 0 and name in _ZERO_MESSAGES:
        raise errors.invalid_message(_ZERO_MESSAGES[name])
    return value


def parse_new_order(params: dict[str, str]) -> NewOrder:
    symbol = required(params, "symbol")
    side = required(params, "side")
    if side not in SIDES:
        raise errors.invalid_side()
    order_type = required(params, "type")
    if order_type not in SUPPORTED_TYPES:
        raise errors.invalid_order_type()
    for name in _MANDATORY[order_type]:
        required(params, name)
    if order_type == "MARKET" and optional(params, "quantity") is None \
            and optional(params, "quoteOrderQty") is None:
        raise errors.one_of_missing("quantity", "quoteOrderQty")
    if order_type in ALGO_TYPES and optional(params, "stopPrice") is None \
            and optional(params, "trailingDelta") is None:
        raise errors.one_of_missing("stopPrice", "trailingDelta")
    allowed = set(_MANDATORY[order_type]) | _OPTIONAL[order_type]
    for name in _SHAPING:
        if name not in allowed and optional(params, name) is not None:
            raise errors.parameter_not_required(name)
    if order_type == "MARKET" and optional(params, "quantity") is not None \
            and optional(params, "quoteOrderQty") is not None:
        raise errors.parameter_not_required("quoteOrderQty")

    values = {name: order_decimal(name, raw) for name in
              ("quantity", "quoteOrderQty", "price", "stopPrice", "icebergQty")
              if (raw := optional(params, name)) is not None}
    tif = "GTC"  # what MARKET, LIMIT_MAKER, STOP_LOSS and TAKE_PROFIT orders report
    if "timeInForce" in _MANDATORY[order_type]:
        tif = params["timeInForce"]
        if tif not in TIME_IN_FORCE:
            raise errors.invalid_tif()
    trailing = trailing_delta(params)
    iceberg = values.get("icebergQty")

    client_id = params.get("newClientOrderId")
    if client_id is not None:
        check_client_id(client_id, "newClientOrderId")
    response_type = params.get("newOrderRespType") or (
        "FULL" if order_type in ("MARKET", "LIMIT") else "ACK")  # the seed's defaults
    if response_type not in RESPONSE_TYPES:
        raise errors.invalid_parameter("newOrderRespType")
    return NewOrder(
        symbol=symbol, side=side, order_type=order_type, time_in_force=tif,
        quantity=values.get("quantity"), quote_order_qty=values.get("quoteOrderQty"),
        price=values.get("price"), client_order_id=client_id, response_type=response_type,
        stop_price=values.get("stopPrice"), iceberg_qty=iceberg if iceberg else None,
        trailing_delta=trailing,
    )


def parse_order_ref(params: dict[str, str], *, for_cancel: bool) -> OrderRef:
    symbol = required(params, "symbol")
    raw_id = optional(params, "orderId")
    if "origClientOrderId" in params and params["origClientOrderId"] == "" and raw_id is None:
        raise errors.empty_orig_client_order_id()
    orig = optional(params, "origClientOrderId")
    if raw_id is None and orig is None:
        if for_cancel:
            raise errors.cancel_rejected(errors.CANCEL_INVALID)
        raise errors.one_of_missing("orderId", "origClientOrderId")
    new_id = None
    if for_cancel:
        new_id = params.get("newClientOrderId")
        if new_id is not None:
            check_client_id(new_id, "newClientOrderId")
    order_id = parse_int("orderId", raw_id) if raw_id is not None else None
    return OrderRef(symbol, order_id, orig, new_id)


def check_client_id(client_id: str, name: str) -> None:
    if client_id == "":
        raise errors.SimApiError(-1118, "New client order ID was empty.")
    if not _CLIENT_ID_RE.match(client_id):
        raise errors.illegal_characters(name, CLIENT_ID_RANGE)
