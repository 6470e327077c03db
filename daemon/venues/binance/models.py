"""Typed Binance payloads, decoded with msgspec.

Why msgspec: it decodes straight from bytes into Structs with ``Decimal``
fields (prices never pass through float) and is several times faster than
``json.loads`` plus dict access.  Wire names are single letters; each field
maps one to a readable attribute name, so the rest of the daemon never sees
``"z"`` or ``"Z"``.

User-data and most market events carry their type in ``"e"`` and decode as a
tagged union.  ``bookTicker`` and partial-depth payloads have no ``"e"``, so
they are decoded by the stream name they arrive on (see ``decode_market``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Union

import msgspec
from msgspec import field

from daemon.errors import DecodeError


class _Event(msgspec.Struct, tag_field="e", frozen=True, kw_only=True):
    """Base of every tagged event; ``event_time`` is exchange milliseconds."""

    event_time: int = field(name="E")


# --------------------------------------------------------------------- user data


class ExecutionReport(_Event, tag="executionReport", frozen=True, kw_only=True):
    """An order update: new, canceled, trade (fill), expired, rejected."""

    symbol: str = field(name="s")
    client_order_id: str = field(name="c")
    side: str = field(name="S")
    order_type: str = field(name="o")
    time_in_force: str = field(name="f")
    quantity: Decimal = field(name="q")
    price: Decimal = field(name="p")
    stop_price: Decimal = field(name="P", default=Decimal(0))
    iceberg_qty: Decimal = field(name="F", default=Decimal(0))
    order_list_id: int = field(name="g", default=-1)
    orig_client_order_id: str = field(name="C", default="")
    execution_type: str = field(name="x")
    status: str = field(name="X")
    reject_reason: str = field(name="r", default="NONE")
    order_id: int = field(name="i")
    last_qty: Decimal = field(name="l")
    cum_qty: Decimal = field(name="z")
    last_price: Decimal = field(name="L")
    commission: Decimal = field(name="n", default=Decimal(0))
    commission_asset: str | None = field(name="N", default=None)
    transaction_time: int = field(name="T")
    trade_id: int = field(name="t", default=-1)
    is_working: bool = field(name="w", default=False)
    is_maker: bool = field(name="m", default=False)
    order_time: int = field(name="O", default=0)
    cum_quote_qty: Decimal = field(name="Z", default=Decimal(0))
    last_quote_qty: Decimal = field(name="Y", default=Decimal(0))
    quote_order_qty: Decimal = field(name="Q", default=Decimal(0))


class AssetBalance(msgspec.Struct, frozen=True, kw_only=True):
    asset: str = field(name="a")
    free: Decimal = field(name="f")
    locked: Decimal = field(name="l")


class AccountPosition(_Event, tag="outboundAccountPosition", frozen=True, kw_only=True):
    """Authoritative free/locked of the assets an account change touched."""

    last_update_time: int = field(name="u")
    balances: tuple[AssetBalance, ...] = field(name="B")


class BalanceUpdate(_Event, tag="balanceUpdate", frozen=True, kw_only=True):
    """A delta outside trading: deposit, withdrawal, transfer, dust, savings."""

    asset: str = field(name="a")
    delta: Decimal = field(name="d")
    clear_time: int = field(name="T")


class ListOrderRef(msgspec.Struct, frozen=True, kw_only=True):
    symbol: str = field(name="s")
    order_id: int = field(name="i")
    client_order_id: str = field(name="c")


class ListStatus(_Event, tag="listStatus", frozen=True, kw_only=True):
    """An update of an order list (OCO)."""

    symbol: str = field(name="s")
    order_list_id: int = field(name="g")
    contingency_type: str = field(name="c")
    list_status_type: str = field(name="l")
    list_order_status: str = field(name="L")
    reject_reason: str = field(name="r", default="NONE")
    list_client_order_id: str = field(name="C")
    transaction_time: int = field(name="T")
    orders: tuple[ListOrderRef, ...] = field(name="O", default=())


class ListenKeyExpired(_Event, tag="listenKeyExpired", frozen=True, kw_only=True):
    """The seed-era listenKey expired; the stream must be recreated."""

    listen_key: str = field(name="listenKey", default="")


class EventStreamTerminated(_Event, tag="eventStreamTerminated", frozen=True, kw_only=True):
    """Today's WebSocket API: the user-data subscription ended; resubscribe."""


class ExternalLockUpdate(_Event, tag="externalLockUpdate", frozen=True, kw_only=True):
    """Today's API: balance locked or unlocked by something outside spot trading."""

    asset: str = field(name="a")
    delta: Decimal = field(name="d")
    transaction_time: int = field(name="T")


UserEvent = Union[
    ExecutionReport,
    AccountPosition,
    BalanceUpdate,
    ListStatus,
    ListenKeyExpired,
    EventStreamTerminated,
    ExternalLockUpdate,
]

# ------------------------------------------------------------------- market data


class Trade(_Event, tag="trade", frozen=True, kw_only=True):
    symbol: str = field(name="s")
    trade_id: int = field(name="t")
    price: Decimal = field(name="p")
    quantity: Decimal = field(name="q")
    buyer_order_id: int = field(name="b", default=0)
    seller_order_id: int = field(name="a", default=0)
    trade_time: int = field(name="T")
    buyer_is_maker: bool = field(name="m")


class AggTrade(_Event, tag="aggTrade", frozen=True, kw_only=True):
    symbol: str = field(name="s")
    agg_trade_id: int = field(name="a")
    price: Decimal = field(name="p")
    quantity: Decimal = field(name="q")
    first_trade_id: int = field(name="f")
    last_trade_id: int = field(name="l")
    trade_time: int = field(name="T")
    buyer_is_maker: bool = field(name="m")


class KlineBar(msgspec.Struct, frozen=True, kw_only=True):
    start_time: int = field(name="t")
    close_time: int = field(name="T")
    symbol: str = field(name="s")
    interval: str = field(name="i")
    first_trade_id: int = field(name="f")
    last_trade_id: int = field(name="L")
    open: Decimal = field(name="o")
    close: Decimal = field(name="c")
    high: Decimal = field(name="h")
    low: Decimal = field(name="l")
    volume: Decimal = field(name="v")
    trades: int = field(name="n")
    closed: bool = field(name="x")
    quote_volume: Decimal = field(name="q")
    taker_buy_volume: Decimal = field(name="V")
    taker_buy_quote_volume: Decimal = field(name="Q")


class Kline(_Event, tag="kline", frozen=True, kw_only=True):
    symbol: str = field(name="s")
    bar: KlineBar = field(name="k")


PriceLevel = tuple[Decimal, Decimal]


class DepthUpdate(_Event, tag="depthUpdate", frozen=True, kw_only=True):
    symbol: str = field(name="s")
    first_update_id: int = field(name="U")
    final_update_id: int = field(name="u")
    bids: tuple[PriceLevel, ...] = field(name="b")
    asks: tuple[PriceLevel, ...] = field(name="a")


class BookTicker(msgspec.Struct, frozen=True, kw_only=True):
    """Best bid/ask.  No ``"e"`` on the wire; ``update_id`` shares the depth sequence."""

    update_id: int = field(name="u")
    symbol: str = field(name="s")
    bid_price: Decimal = field(name="b")
    bid_qty: Decimal = field(name="B")
    ask_price: Decimal = field(name="a")
    ask_qty: Decimal = field(name="A")


class PartialDepth(msgspec.Struct, frozen=True, kw_only=True):
    """``<symbol>@depth<N>`` snapshot; the symbol comes from the stream name."""

    last_update_id: int = field(name="lastUpdateId")
    bids: tuple[PriceLevel, ...]
    asks: tuple[PriceLevel, ...]
    symbol: str = ""


class MiniTicker(_Event, tag="24hrMiniTicker", frozen=True, kw_only=True):
    """``<symbol>@miniTicker`` (and items of ``!miniTicker@arr``): rolling 24 h figures."""

    symbol: str = field(name="s")
    close: Decimal = field(name="c")
    open: Decimal = field(name="o")
    high: Decimal = field(name="h")
    low: Decimal = field(name="l")
    volume: Decimal = field(name="v")
    quote_volume: Decimal = field(name="q")


class Ticker(_Event, tag="24hrTicker", frozen=True, kw_only=True):
    """``<symbol>@ticker`` (and items of ``!ticker@arr``): rolling 24 h statistics."""

    symbol: str = field(name="s")
    price_change: Decimal = field(name="p")
    price_change_percent: Decimal = field(name="P")
    weighted_avg_price: Decimal = field(name="w")
    prev_close: Decimal = field(name="x", default=Decimal(0))
    last_price: Decimal = field(name="c")
    last_qty: Decimal = field(name="Q")
    bid_price: Decimal = field(name="b")
    bid_qty: Decimal = field(name="B")
    ask_price: Decimal = field(name="a")
    ask_qty: Decimal = field(name="A")
    open: Decimal = field(name="o")
    high: Decimal = field(name="h")
    low: Decimal = field(name="l")
    volume: Decimal = field(name="v")
    quote_volume: Decimal = field(name="q")
    open_time: int = field(name="O")
    close_time: int = field(name="C")
    first_trade_id: int = field(name="F")
    last_trade_id: int = field(name="L")
    trades: int = field(name="n")


MarketEvent = Union[Trade, AggTrade, Kline, DepthUpdate, MiniTicker, Ticker]

# ------------------------------------------------------------------ REST answers


class SymbolInfo(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """One entry of ``exchangeInfo.symbols``; filters stay raw dicts keyed by filterType."""

    symbol: str
    status: str
    base_asset: str
    quote_asset: str
    base_asset_precision: int = 8
    quote_asset_precision: int = 8
    order_types: tuple[str, ...] = ()
    iceberg_allowed: bool = False
    oco_allowed: bool = False
    # MARKET orders by quoteOrderQty and trailing stops may be disabled per symbol; an
    # answer without allowTrailingStop (the seed's) leaves it None: the gateway then
    # allows trailing stops where a TRAILING_DELTA filter bounds them.
    quote_order_qty_market_allowed: bool = True
    allow_trailing_stop: bool | None = None
    is_spot_trading_allowed: bool = True
    permissions: tuple[str, ...] = ()
    filters: tuple[dict, ...] = ()

    def filter(self, filter_type: str) -> dict | None:
        for item in self.filters:
            if item.get("filterType") == filter_type:
                return item
        return None


class RateLimit(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    rate_limit_type: str
    interval: str
    interval_num: int
    limit: int


class ExchangeInfo(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    timezone: str = "UTC"
    server_time: int = 0
    rate_limits: tuple[RateLimit, ...] = ()
    exchange_filters: tuple[dict, ...] = ()
    symbols: tuple[SymbolInfo, ...] = ()

    def symbol(self, name: str) -> SymbolInfo | None:
        for info in self.symbols:
            if info.symbol == name:
                return info
        return None


class RestBalance(msgspec.Struct, frozen=True):
    asset: str
    free: Decimal
    locked: Decimal


class AccountInfo(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    maker_commission: int = 0
    taker_commission: int = 0
    can_trade: bool = True
    update_time: int = 0
    account_type: str = "SPOT"
    balances: tuple[RestBalance, ...] = ()


class RestOrder(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """``GET /api/v3/order`` / ``openOrders`` / the RESULT and FULL order responses."""

    symbol: str
    order_id: int
    client_order_id: str
    price: Decimal = Decimal(0)
    orig_qty: Decimal = Decimal(0)
    executed_qty: Decimal = Decimal(0)
    cummulative_quote_qty: Decimal = Decimal(0)
    status: str = "NEW"
    time_in_force: str = "GTC"
    type: str = "LIMIT"
    side: str = "BUY"
    stop_price: Decimal = Decimal(0)
    iceberg_qty: Decimal = Decimal(0)
    order_list_id: int = -1
    time: int = 0
    transact_time: int = 0
    update_time: int = 0
    is_working: bool = True
    orig_quote_order_qty: Decimal = Decimal(0)


class RestTrade(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """``GET /api/v3/myTrades`` entry."""

    symbol: str
    id: int
    order_id: int
    price: Decimal
    qty: Decimal
    quote_qty: Decimal
    commission: Decimal
    commission_asset: str
    time: int
    is_buyer: bool
    is_maker: bool
    order_list_id: int = -1


class DepthSnapshot(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    last_update_id: int
    bids: tuple[PriceLevel, ...]
    asks: tuple[PriceLevel, ...]


class RestPublicTrade(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """``GET /api/v3/trades`` / ``historicalTrades`` entry (a market trade, not ours)."""

    id: int
    price: Decimal
    qty: Decimal
    quote_qty: Decimal = Decimal(0)
    time: int
    is_buyer_maker: bool
    is_best_match: bool = True


class RestAggTrade(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /api/v3/aggTrades`` entry; single-letter wire names as on the stream."""

    agg_trade_id: int = field(name="a")
    price: Decimal = field(name="p")
    quantity: Decimal = field(name="q")
    first_trade_id: int = field(name="f")
    last_trade_id: int = field(name="l")
    trade_time: int = field(name="T")
    buyer_is_maker: bool = field(name="m")
    best_match: bool = field(name="M", default=True)


class AvgPrice(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /api/v3/avgPrice``: the average over the last ``mins`` minutes."""

    mins: int
    price: Decimal


class RestListOrder(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """One member of an order list's ``orders`` (REST spelling of ``ListOrderRef``)."""

    symbol: str
    order_id: int
    client_order_id: str


class RestOrderList(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """An order list (OCO): ``POST order/oco``, ``DELETE``/``GET orderList``, ``openOrderList``.

    ``order_reports`` is empty for the queries (they answer the list header only);
    placement and cancel answers carry one ``RestOrder`` per leg.  A cancel report's
    ``client_order_id`` is the cancel's own id; ``orders`` keeps the legs' ids.
    """

    symbol: str
    order_list_id: int
    contingency_type: str = "OCO"
    list_status_type: str
    list_order_status: str
    list_client_order_id: str
    transaction_time: int = 0
    orders: tuple[RestListOrder, ...] = ()
    order_reports: tuple[RestOrder, ...] = ()


# -------------------------------------------------------------------- decoding

_user_decoder = msgspec.json.Decoder(UserEvent)
_market_decoder = msgspec.json.Decoder(MarketEvent)
_book_ticker_decoder = msgspec.json.Decoder(BookTicker)
_partial_depth_decoder = msgspec.json.Decoder(PartialDepth)
_ticker_array_decoder = msgspec.json.Decoder(tuple[Union[MiniTicker, Ticker], ...])


class _Envelope(msgspec.Struct):
    """Combined-stream wrapper ``{"stream": ..., "data": ...}``."""

    stream: str
    data: msgspec.Raw


class _WsApiEvent(msgspec.Struct):
    """WebSocket-API wrapper ``{"subscriptionId": N, "event": ...}``."""

    event: msgspec.Raw
    subscriptionId: int | None = None


_envelope_decoder = msgspec.json.Decoder(_Envelope)
_wsapi_decoder = msgspec.json.Decoder(_WsApiEvent)


def decode_user_event(raw: bytes | str) -> UserEvent:
    """Decode one user-data payload (raw, or wrapped by the WebSocket API).

    The wrapper is ``{"subscriptionId": N, "event": {...}}`` today and was
    ``{"event": {...}}`` (no subscriptionId) before multiple subscriptions existed,
    so the ``"event"`` key is what marks it.
    """
    data = raw.encode() if isinstance(raw, str) else raw
    try:
        if b'"event"' in data:
            try:
                data = _wsapi_decoder.decode(data).event
            except msgspec.DecodeError:
                pass  # "event" was a value inside a raw payload, not the wrapper key
        return _user_decoder.decode(data)
    except msgspec.DecodeError as exc:  # ValidationError is a subclass
        raise DecodeError(f"user-data payload: {exc}") from exc


def decode_market(stream: str, raw: bytes | str
                  ) -> MarketEvent | BookTicker | PartialDepth | tuple[MiniTicker | Ticker, ...]:
    """Decode a market payload that arrived on ``stream`` (``btcusdt@bookTicker`` ...).

    The all-market ticker streams (``!miniTicker@arr``, ``!ticker@arr``) carry a JSON
    array and decode to a tuple of tickers.
    """
    try:
        kind = stream.split("@", 1)[1] if "@" in stream else ""
        if kind == "bookTicker" or stream == "!bookTicker":
            return _book_ticker_decoder.decode(raw)
        if stream in ("!miniTicker@arr", "!ticker@arr"):
            return _ticker_array_decoder.decode(raw)
        if kind.startswith("depth") and kind[5:6].isdigit():
            depth = _partial_depth_decoder.decode(raw)
            return msgspec.structs.replace(depth, symbol=stream.split("@", 1)[0].upper())
        return _market_decoder.decode(raw)
    except msgspec.DecodeError as exc:
        raise DecodeError(f"{stream} payload: {exc}") from exc


def decode_combined(raw: bytes | str
                    ) -> tuple[str, MarketEvent | BookTicker | PartialDepth
                               | tuple[MiniTicker | Ticker, ...]]:
    """Decode a ``/stream?streams=`` envelope into (stream name, event)."""
    try:
        envelope = _envelope_decoder.decode(raw)
    except msgspec.DecodeError as exc:
        raise DecodeError(f"combined-stream envelope: {exc}") from exc
    return envelope.stream, decode_market(envelope.stream, envelope.data)


def decode_rest(raw: bytes | str, type_: type):
    """Decode a REST body into ``type_`` (e.g. ``AccountInfo``, ``list[RestOrder]``)."""
    try:
        return msgspec.json.decode(raw, type=type_)
    except msgspec.DecodeError as exc:
        raise DecodeError(f"REST body as {type_}: {exc}") from exc


def decode_canceled_entry(raw: bytes | msgspec.Raw) -> RestOrder | RestOrderList:
    """One entry of ``DELETE /api/v3/openOrders``: a plain order, or an OCO as a whole list.

    The answer mixes both shapes untagged, so the list's ``contingencyType`` key is
    what tells them apart (an order never has it).
    """
    data = bytes(raw)
    return decode_rest(data, RestOrderList if b'"contingencyType"' in data else RestOrder)
