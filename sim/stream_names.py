"""Market stream names: which ones exist, and what each one asks the feed to produce.

Why a parser of its own: the router, the market feed and the replay all need to
agree on what ``btcusdt@depth10@100ms`` means (symbol, kind, levels, cadence),
and a stream name is also the hub topic it is published on, so that one rendered
frame serves every subscriber of that name.

The names of the seed's "Websocket Market Streams" section (lower-case symbol)::

    <symbol>@trade  <symbol>@aggTrade  <symbol>@kline_<interval>
    <symbol>@miniTicker  <symbol>@ticker  <symbol>@bookTicker
    <symbol>@depth<5|10|20>[@100ms]  <symbol>@depth[@100ms]
    !miniTicker@arr  !ticker@arr  !bookTicker
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Kline intervals of today's docs (the seed's list plus 1s), in milliseconds.
# 1M is a calendar month: its length here is only used to bound catch-up loops.
KLINE_INTERVALS_MS: dict[str, int] = {
    "1s": 1_000,
    "1m": 60_000,
    "3m": 180_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "1h": 3_600_000,
    "2h": 7_200_000,
    "4h": 14_400_000,
    "6h": 21_600_000,
    "8h": 28_800_000,
    "12h": 43_200_000,
    "1d": 86_400_000,
    "3d": 259_200_000,
    "1w": 604_800_000,
    "1M": 2_678_400_000,
}
PARTIAL_DEPTH_LEVELS = (5, 10, 20)
ALL_MARKET_STREAMS = ("!ticker@arr", "!miniTicker@arr", "!bookTicker")

_SYMBOL_STREAM_RE = re.compile(
    r"^(?P<symbol>[a-z0-9]+)@(?:"
    r"(?P<simple>trade|aggTrade|miniTicker|ticker|bookTicker)"
    r"|kline_(?P<interval>[0-9]+[smhdwM])"
    r"|depth(?P<levels>[0-9]+)?(?:@(?P<speed>100ms))?"
    r")$"
)


@dataclass(frozen=True)
class StreamName:
    """One parsed market stream name.

    ``kind`` is one of trade, aggTrade, kline, miniTicker, ticker, bookTicker,
    depth (diff), partialDepth, or for the all-market streams the name itself.
    ``interval_ms`` is the push cadence of depth streams (100 or 1000).
    """

    name: str
    kind: str
    symbol: str | None = None  # upper case, as in payloads; None for all-market streams
    interval: str | None = None  # kline interval
    levels: int | None = None  # partial depth levels
    interval_ms: int | None = None  # depth cadence


def parse_stream_name(name: str) -> StreamName | None:
    """The meaning of ``name``, or None when it is no market stream the simulator knows."""
    if name in ALL_MARKET_STREAMS:
        return StreamName(name=name, kind=name)
    match = _SYMBOL_STREAM_RE.match(name)
    if match is None:
        return None
    symbol = match.group("symbol").upper()
    if match.group("simple"):
        return StreamName(name=name, kind=match.group("simple"), symbol=symbol)
    interval = match.group("interval")
    if interval is not None:
        if interval not in KLINE_INTERVALS_MS:
            return None
        return StreamName(name=name, kind="kline", symbol=symbol, interval=interval)
    cadence = 100 if match.group("speed") == "100ms" else 1000
    levels = match.group("levels")
    if levels is None:
        return StreamName(name=name, kind="depth", symbol=symbol, interval_ms=cadence)
    if int(levels) not in PARTIAL_DEPTH_LEVELS or levels.startswith("0"):
        return None
    return StreamName(name=name, kind="partialDepth", symbol=symbol, levels=int(levels),
                      interval_ms=cadence)


def depth_topic(symbol: str, interval_ms: int) -> str:
    """The diff-depth stream name of ``symbol`` at a cadence (1000 ms is the bare name)."""
    base = f"{symbol.lower()}@depth"
    return base if interval_ms == 1000 else f"{base}@{interval_ms}ms"


def partial_depth_topic(symbol: str, levels: int, interval_ms: int) -> str:
    base = f"{symbol.lower()}@depth{levels}"
    return base if interval_ms == 1000 else f"{base}@{interval_ms}ms"
