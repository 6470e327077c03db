"""The one exception hierarchy of tradingd.

Every module raises from this tree; foreign exceptions (httpx, trio-websocket,
sqlite3, msgspec) are translated at the boundary module with ``raise ... from``
so that callers never need to know which library sits underneath.

::

    TradingdError
    ├── ConfigError                 bad or missing configuration (names the key path)
    ├── SecretError                 a secret reference that cannot be resolved
    ├── StateError                  the SQLite store refused or is unusable
    │   └── SchemaError             database newer than this build, or corrupt
    ├── PluginError                 a plugin or strategy could not be loaded
    ├── DecodeError                 an exchange payload that does not parse
    ├── TransportError              network trouble (connect, read, websocket close)
    │   └── StreamStalled           a subscribed stream went silent too long
    └── ExchangeError               the exchange answered with an error code
        ├── RequestRejected         -1xxx request problems (never retry as is)
        │   ├── InvalidSignature    -1022
        │   ├── InvalidTimestamp    -1021 (retryable after a clock resync)
        │   ├── Unauthorized        -1002 / -2014 / -2015: key, IP or permission refused
        │   ├── InvalidListenKey    -1125 / -3038: recreate the listenKey
        │   └── UnknownOrder        -2011 / -2013
        ├── OrderRejected           -2010 / -1013 matching-engine or filter refusal
        ├── OperationRefused        -3xxx..-13xxx wallet/savings/margin refusals (SAPI)
        │   └── InsufficientBalance not enough of the asset for the operation
        ├── RateLimited             429 (retryable after Retry-After)
        │   └── IpBanned            418
        ├── ExchangeUnavailable     5xx on a non-order call (retryable)
        └── OutcomeUnknown          5xx / -1007 / dropped connection on an order call

Gateway rejections are *values* (``daemon.orders.Rejection``), not exceptions:
a refused order is a normal outcome a strategy must handle.
"""

from __future__ import annotations


class TradingdError(Exception):
    """Root of every error tradingd raises on purpose."""


class ConfigError(TradingdError):
    """Invalid configuration; ``path`` names the offending key (``strategies.grid.levels``)."""

    def __init__(self, message: str, path: str | None = None) -> None:
        self.path = path
        super().__init__(f"{path}: {message}" if path else message)


class SecretError(ConfigError):
    """A secret reference (environment variable or file) that cannot be resolved.

    The message names the *reference*, never the secret value.
    """


class StateError(TradingdError):
    """The state database refused an operation or cannot be used."""


class SchemaError(StateError):
    """The database schema is newer than this build understands, or the file is corrupt."""


class PluginError(TradingdError):
    """A plugin or strategy could not be loaded or configured."""


class DecodeError(TradingdError):
    """An exchange payload that does not match the expected shape."""


class TransportError(TradingdError):
    """A connection-level failure: connect refused, read error, websocket closed."""


class StreamStalled(TransportError):
    """A subscribed stream produced nothing for longer than its expected interval."""


class ExchangeError(TradingdError):
    """The exchange answered with an error.

    ``code`` is the exchange's numeric code (or the HTTP status when the body
    carried none), ``exchange_message`` its text verbatim, and ``retryable``
    says whether sending the same request again later can succeed.
    """

    retryable: bool = False

    def __init__(self, code: int, exchange_message: str, *, http_status: int | None = None) -> None:
        self.code = code
        self.exchange_message = exchange_message
        self.http_status = http_status
        super().__init__(f"[{code}] {exchange_message}")


class RequestRejected(ExchangeError):
    """A malformed or unauthorised request (-1xxx, -2014, -2015)."""


class InvalidSignature(RequestRejected):
    """-1022: the HMAC did not verify (wrong secret or altered parameters)."""


class InvalidTimestamp(RequestRejected):
    """-1021: timestamp outside recvWindow; retryable once the clock offset is resynced."""

    retryable = True


class UnknownOrder(ExchangeError):
    """-2011 / -2013: the exchange does not know this order (or it is already closed)."""


class OrderRejected(ExchangeError):
    """-2010 / -1013: the matching engine or a filter refused the order."""


class RateLimited(ExchangeError):
    """429: a rate limit was hit; ``retry_after`` seconds must pass before retrying."""

    retryable = True

    def __init__(self, code: int, exchange_message: str, *, http_status: int | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(code, exchange_message, http_status=http_status)
        self.retry_after = retry_after


class IpBanned(RateLimited):
    """418: the IP is banned until ``retry_after`` seconds have passed."""


class ExchangeUnavailable(ExchangeError):
    """5xx or -1001/-1003 on a call whose outcome does not matter (retry later)."""

    retryable = True


class OutcomeUnknown(ExchangeError):
    """An order call whose result is unknown (5xx, -1007, dropped connection).

    Never treat as failed: the order may exist.  Resolve by querying it by
    ``origClientOrderId`` before sending anything else for the same intent.
    """


# --- additions for the Binance error-code map (daemon/venues/binance/error_codes.py)


class Unauthorized(RequestRejected):
    """The API key, its IP whitelist or its permissions refuse this request.

    Never retryable: an operator must fix the key or its settings.
    """


class InvalidListenKey(RequestRejected):
    """-1125 / -3038: the listenKey does not exist (expired or closed); create a new one."""


class OperationRefused(ExchangeError):
    """A well-formed wallet, savings, margin or transfer request the exchange refused
    because of the account's or the product's state (SAPI codes -3xxx to -13xxx)."""


class InsufficientBalance(OperationRefused):
    """The account does not hold enough of the asset for the requested operation."""
