"""What a strategy asks for, and what it gets back.

A strategy never builds REST parameters: it describes an ``OrderRequest``
and hands it to ``ctx.submit``.  The gateway answers with either an
``Accepted`` (the exchange acknowledged the order) or a ``Rejection``.
Rejections are values, not exceptions, because a refused order is a normal
outcome that a strategy must handle, and because they are persisted and
counted like any other event.
"""

from __future__ import annotations

import enum
import secrets
from decimal import Decimal

import msgspec


class Side(str, enum.Enum):
    BUY = "BUY"
    SELL = "SELL"


class OrderType(str, enum.Enum):
    LIMIT = "LIMIT"
    MARKET = "MARKET"
    STOP_LOSS = "STOP_LOSS"
    STOP_LOSS_LIMIT = "STOP_LOSS_LIMIT"
    TAKE_PROFIT = "TAKE_PROFIT"
    TAKE_PROFIT_LIMIT = "TAKE_PROFIT_LIMIT"
    LIMIT_MAKER = "LIMIT_MAKER"


class TimeInForce(str, enum.Enum):
    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"


class RejectCode(str, enum.Enum):
    """Why the gateway (or the exchange) refused an order.

    Filter codes carry the exchange's filter name so a log line maps
    straight to ``exchangeInfo``.
    """

    UNKNOWN_SYMBOL = "UNKNOWN_SYMBOL"
    SYMBOL_NOT_TRADING = "SYMBOL_NOT_TRADING"
    ORDER_TYPE_NOT_ALLOWED = "ORDER_TYPE_NOT_ALLOWED"
    INVALID_PARAMETERS = "INVALID_PARAMETERS"
    PRICE_FILTER = "PRICE_FILTER"
    LOT_SIZE = "LOT_SIZE"
    MIN_NOTIONAL = "MIN_NOTIONAL"
    NOTIONAL = "NOTIONAL"  # today's min/max notional filter (replaces MIN_NOTIONAL)
    INSUFFICIENT_BALANCE = "INSUFFICIENT_BALANCE"
    EXCHANGE_REJECTED = "EXCHANGE_REJECTED"
    # The order call failed in a way that leaves its fate open and querying the
    # exchange did not settle it: the intent stays journalled for reconciliation.
    OUTCOME_UNKNOWN = "OUTCOME_UNKNOWN"
    GATEWAY_CLOSED = "GATEWAY_CLOSED"
    # The remaining exchange filters, by their exchangeInfo names.
    PERCENT_PRICE = "PERCENT_PRICE"
    PERCENT_PRICE_BY_SIDE = "PERCENT_PRICE_BY_SIDE"
    ICEBERG_PARTS = "ICEBERG_PARTS"
    MARKET_LOT_SIZE = "MARKET_LOT_SIZE"
    MAX_NUM_ORDERS = "MAX_NUM_ORDERS"
    MAX_NUM_ALGO_ORDERS = "MAX_NUM_ALGO_ORDERS"
    MAX_NUM_ICEBERG_ORDERS = "MAX_NUM_ICEBERG_ORDERS"
    MAX_POSITION = "MAX_POSITION"
    TRAILING_DELTA = "TRAILING_DELTA"
    MAX_NUM_ORDER_LISTS = "MAX_NUM_ORDER_LISTS"
    EXCHANGE_MAX_NUM_ORDERS = "EXCHANGE_MAX_NUM_ORDERS"
    EXCHANGE_MAX_NUM_ALGO_ORDERS = "EXCHANGE_MAX_NUM_ALGO_ORDERS"
    EXCHANGE_MAX_NUM_ICEBERG_ORDERS = "EXCHANGE_MAX_NUM_ICEBERG_ORDERS"
    EXCHANGE_MAX_NUM_ORDER_LISTS = "EXCHANGE_MAX_NUM_ORDER_LISTS"
    MAX_ASSET = "MAX_ASSET"
    # exchangeInfo carries a filter type this build does not know: fail closed.
    UNKNOWN_FILTER = "UNKNOWN_FILTER"
    # Order rules that depend on the market, checked locally before sending.
    STOP_PRICE_DIRECTION = "STOP_PRICE_DIRECTION"  # stop on the wrong side of the last price
    LIMIT_MAKER_WOULD_TAKE = "LIMIT_MAKER_WOULD_TAKE"  # would match the best bid/ask
    OCO_PRICES = "OCO_PRICES"  # SELL: limit > last > stop; BUY: limit < last < stop
    RATE_LIMIT = "RATE_LIMIT"  # the exchange's ORDERS rate limit would be exceeded
    # Risk limits (plugins/risk.py and other check_order plugins).
    KILL_SWITCH = "KILL_SWITCH"
    MAX_ORDER_NOTIONAL = "MAX_ORDER_NOTIONAL"
    MAX_OPEN_ORDERS = "MAX_OPEN_ORDERS"
    PRICE_BAND = "PRICE_BAND"
    STALE_MARKET_DATA = "STALE_MARKET_DATA"
    MAX_DAILY_NOTIONAL = "MAX_DAILY_NOTIONAL"
    RISK_CHECK_FAILED = "RISK_CHECK_FAILED"  # a check_order plugin raised or answered nonsense


class OrderRequest(msgspec.Struct, frozen=True, kw_only=True):
    """An order as a strategy describes it.  Money fields are ``Decimal``."""

    symbol: str
    side: Side
    type: OrderType = OrderType.LIMIT
    quantity: Decimal | None = None
    price: Decimal | None = None
    time_in_force: TimeInForce | None = None
    quote_order_qty: Decimal | None = None
    stop_price: Decimal | None = None
    iceberg_qty: Decimal | None = None
    client_order_id: str | None = None
    # Basis points (Binance's trailingDelta) for trailing stops of the four stop types.
    trailing_delta: int | None = None


class OcoRequest(msgspec.Struct, frozen=True, kw_only=True):
    """A one-cancels-the-other pair (``POST /api/v3/order/oco``).

    The limit leg is a LIMIT_MAKER at ``price``; the stop leg is a STOP_LOSS at
    ``stop_price``, or a STOP_LOSS_LIMIT when ``stop_limit_price`` is given
    (then ``stop_limit_time_in_force`` is required).  One ``quantity`` for both
    legs, because the exchange requires them equal.  The prices must straddle
    the last price: SELL ``price > last > stop_price``, BUY ``price < last < stop_price``.
    """

    symbol: str
    side: Side
    quantity: Decimal
    price: Decimal
    stop_price: Decimal
    stop_limit_price: Decimal | None = None
    stop_limit_time_in_force: TimeInForce | None = None
    limit_iceberg_qty: Decimal | None = None
    stop_iceberg_qty: Decimal | None = None
    trailing_delta: int | None = None
    list_client_order_id: str | None = None
    limit_client_order_id: str | None = None
    stop_client_order_id: str | None = None


class Rejection(msgspec.Struct, frozen=True, kw_only=True):
    """A refused order: ``code`` for programs, ``reason`` for people.

    ``detail`` names the filter, the limit and the offending value, e.g.
    ``{"filter": "LOT_SIZE", "stepSize": "0.001", "quantity": "0.0105"}``.
    """

    code: RejectCode
    reason: str
    symbol: str = ""
    client_order_id: str = ""
    detail: dict[str, str] = {}

    accepted = False

    def __str__(self) -> str:
        # Filter reasons already start with the filter's name (= the code).
        if self.reason.startswith(self.code.value):
            return self.reason
        return f"{self.code.value}: {self.reason}"


class Accepted(msgspec.Struct, frozen=True, kw_only=True):
    """The exchange acknowledged the order (it may already be filled)."""

    symbol: str
    client_order_id: str
    order_id: int
    status: str
    # What ``submit(..., adjust=True)`` changed to make the order valid,
    # e.g. ``{"price": "100.004 -> 100"}``; empty when nothing was changed.
    adjustments: dict[str, str] = {}

    accepted = True


class ListAccepted(msgspec.Struct, frozen=True, kw_only=True):
    """The exchange acknowledged an order list (an OCO); ``legs`` as acknowledged."""

    symbol: str
    list_client_order_id: str
    order_list_id: int
    list_order_status: str
    legs: tuple[Accepted, ...]

    accepted = True


SubmitResult = Accepted | Rejection


def new_client_order_id(strategy: str) -> str:
    """A unique ``newClientOrderId`` (<= 36 chars, ``^[.A-Z:/a-z0-9_-]{1,36}$``).

    The strategy name prefix lets an operator see who placed an order on the
    exchange's own UI; the random tail keeps it unique across restarts.
    """
    prefix = "".join(ch for ch in strategy if ch.isalnum())[:12] or "td"
    return f"{prefix}-{secrets.token_hex(10)}"
