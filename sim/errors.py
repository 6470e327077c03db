"""The seed's error codes, as one exception the app renders ``{"code": .., "msg": ..}``.

Why one exception type with a catalogue of constructors: every layer (auth,
parameter parsing, filters, the matching engine) refuses requests the same way
Binance does, and the HTTP layer renders them in one place.  The messages are
the seed's own wording ("Error Codes" and "Order Rejection Issues"), because
clients match on them.

HTTP status: 400 for request problems, 401 for API-key problems (-2014, -2015;
what the live exchange answers, which the seed leaves unstated).
"""

from __future__ import annotations


class SimApiError(Exception):
    """An error answer of the simulated exchange."""

    def __init__(self, code: int, msg: str, http_status: int = 400) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.http_status = http_status

    def payload(self) -> dict[str, object]:
        return {"code": self.code, "msg": self.msg}


# --- 10xx general -----------------------------------------------------------------


def unknown_error() -> SimApiError:
    return SimApiError(-1000, "An unknown error occurred while processing the request.", 500)


def timestamp_outside_window() -> SimApiError:
    return SimApiError(-1021, "Timestamp for this request is outside of the recvWindow.")


def timestamp_ahead() -> SimApiError:
    return SimApiError(-1021, "Timestamp for this request was 1000ms ahead of the server's time.")


def invalid_signature() -> SimApiError:
    return SimApiError(-1022, "Signature for this request is not valid.")


# --- 11xx request issues ----------------------------------------------------------


def duplicate_parameter() -> SimApiError:
    return SimApiError(-1101, "Duplicate values for a parameter detected.")


def mandatory_missing(name: str) -> SimApiError:
    return SimApiError(
        -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
    )


def one_of_missing(first: str, second: str) -> SimApiError:
    return SimApiError(-1102, f"Param '{first}' or '{second}' must be sent, but both were empty/null!")


def parameter_not_required(name: str) -> SimApiError:
    return SimApiError(-1106, f"Parameter '{name}' sent when not required.")


def invalid_tif() -> SimApiError:
    return SimApiError(-1115, "Invalid timeInForce.")


def invalid_order_type() -> SimApiError:
    return SimApiError(-1116, "Invalid orderType.")


def invalid_side() -> SimApiError:
    return SimApiError(-1117, "Invalid side.")


def invalid_symbol() -> SimApiError:
    return SimApiError(-1121, "Invalid symbol.")


def invalid_listen_key() -> SimApiError:
    return SimApiError(-1125, "This listenKey does not exist.")


def invalid_parameter(name: str) -> SimApiError:
    return SimApiError(-1130, f"Data sent for parameter '{name}' is not valid.")


def bad_recv_window() -> SimApiError:
    return SimApiError(-1131, "recvWindow must be less than 60000")


def filter_failure(filter_type: str) -> SimApiError:
    """-1013: the request broke a symbol filter (the seed's "-9xxx Filter failures")."""
    return SimApiError(-1013, f"Filter failure: {filter_type}")


def unsupported_combination() -> SimApiError:
    return SimApiError(-1014, "Unsupported order combination.")


# --- 20xx matching engine and keys ------------------------------------------------

INSUFFICIENT_BALANCE = "Account has insufficient balance for requested action."
DUPLICATE_ORDER = "Duplicate order sent."
WOULD_TAKE = "Order would immediately match and take."
UNKNOWN_ORDER = "Unknown order sent."
MARKET_CLOSED = "Market is closed."


def order_rejected(msg: str) -> SimApiError:
    return SimApiError(-2010, msg)


def cancel_rejected(msg: str = UNKNOWN_ORDER) -> SimApiError:
    return SimApiError(-2011, msg)


def no_such_order() -> SimApiError:
    return SimApiError(-2013, "Order does not exist.")


def bad_api_key_format() -> SimApiError:
    return SimApiError(-2014, "API-key format invalid.", 401)


def rejected_api_key() -> SimApiError:
    return SimApiError(-2015, "Invalid API-key, IP, or permissions for action.", 401)


# --- order entry (sim.requests, sim.filters, sim.order_checks) ----------------------

# The decimal grammar the live exchange answers -1100 with (seen in its messages).
DECIMAL_RANGE = "^([0-9]{1,20})(\\.[0-9]{1,20})?$"


def illegal_characters(name: str, legal_range: str = DECIMAL_RANGE) -> SimApiError:
    return SimApiError(
        -1100, f"Illegal characters found in parameter '{name}'; legal range is '{legal_range}'."
    )


def bad_precision() -> SimApiError:
    """-1111, the seed's wording (today: "Parameter '%s' has too much precision.")."""
    return SimApiError(-1111, "Precision is over the maximum defined for this asset.")


def invalid_message(msg: str) -> SimApiError:
    """-1013 INVALID_MESSAGE outside the filters: "Invalid quantity.", "Invalid price." ..."""
    return SimApiError(-1013, msg)


def empty_orig_client_order_id() -> SimApiError:
    return SimApiError(-1119, "Original client order ID was empty.")


def bad_interval() -> SimApiError:
    return SimApiError(-1120, "Invalid interval.")


def lookup_interval_too_big(hours: int) -> SimApiError:
    return SimApiError(-1127, f"More than {hours} hours between startTime and endTime.")


def bad_combination(recommendation: str | None = None) -> SimApiError:
    msg = "Combination of optional parameters invalid."
    if recommendation:
        msg += f" Recommendation: {recommendation}"
    return SimApiError(-1128, msg)


# The matching engine's refusals (-2010/-2011), the seed's "Order Rejection Issues"
# with today's spelling where the seed had a typo ("This action disabled is on ...").
MARKET_NOT_SUPPORTED = "Market orders are not supported for this symbol."
ICEBERG_NOT_SUPPORTED = "Iceberg orders are not supported for this symbol."
TYPE_NOT_SUPPORTED = {
    "MARKET": MARKET_NOT_SUPPORTED,
    "STOP_LOSS": "Stop loss orders are not supported for this symbol.",
    "STOP_LOSS_LIMIT": "Stop loss limit orders are not supported for this symbol.",
    "TAKE_PROFIT": "Take profit orders are not supported for this symbol.",
    "TAKE_PROFIT_LIMIT": "Take profit limit orders are not supported for this symbol.",
}
PRICE_QTY_ZERO = "Price * QTY is zero or less."
ICEBERG_EXCEEDS_QTY = "IcebergQty exceeds QTY."
ACTION_DISABLED = "This action is disabled on this account."
UNSUPPORTED_ORDER_COMBINATION = "Unsupported order combination"
WOULD_TRIGGER = "Order would trigger immediately."
CANCEL_INVALID = "Cancel order is invalid. Check origClOrdId and orderId."
OCO_BAD_PRICES = "The relationship of the prices for the orders is not correct."
OCO_NOT_SUPPORTED = "OCO orders are not supported for this symbol"
QUOTE_QTY_NOT_SUPPORTED = "Quote order qty market orders are not support for this symbol."
TRAILING_NOT_SUPPORTED = "Trailing stop orders are not supported for this symbol."
SYMBOL_NOT_PERMITTED = "This symbol is not permitted for this account."

# executionReport "r" for the refusals that have a reject-reason name.
REJECT_REASONS = {
    INSUFFICIENT_BALANCE: "INSUFFICIENT_BALANCES",
    WOULD_TRIGGER: "STOP_PRICE_WOULD_TRIGGER_IMMEDIATELY",
    WOULD_TAKE: "WOULD_MATCH_IMMEDIATELY",
    OCO_BAD_PRICES: "OCO_BAD_PRICES",
}
