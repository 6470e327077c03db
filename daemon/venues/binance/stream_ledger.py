"""Exactly-once delivery of market events across reconnects and rotations.

Why a ledger: during a make-before-break rotation two connections carry the same
streams, and after a reconnect a REST backfill re-fetches what the socket missed;
both produce events the daemon has already delivered.  Every market event carries
an id that only grows within its stream, so "deliver only what is newer than the
last delivered id of that stream" drops every duplicate and never reorders:

=====================  ==========================================================
``trade``              trade id ``t``
``aggTrade``           aggregate trade id ``a``
``bookTicker``         update id ``u`` (the depth stream's sequence)
``depth`` (diff)       final update id ``u``
``depth<N>`` partial   ``lastUpdateId``
``kline_<i>``          (start time ``t``, last trade id ``L``, closed ``x``): a bar's
                       updates repeat while nothing trades; the closing push (``x``)
                       must pass even when its ``L`` equals the previous update's
tickers                event time ``E`` (arrays: the newest ``E`` in the array)
=====================  ==========================================================

What the ledger cannot do is fill a hole: an id that never arrived.  That is the
job of the connection hand-over (``streams``) and of the REST backfill
(``market_history``), which both feed their events through ``accept``.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from daemon.venues.binance import models

Key = Any  # int, or a tuple of ints for klines: compared with <=


def stream_kind(stream: str) -> str:
    """The kind of a stream name: ``btcusdt@depth@100ms`` -> ``depth``, ``!bookTicker`` -> ``bookTicker``.

    Partial book streams (``depth5``, ``depth20@100ms``) are ``partialDepth``;
    klines of any interval are ``kline``.
    """
    if stream.startswith("!"):
        return stream[1:].split("@", 1)[0]
    kind = stream.split("@", 2)[1] if "@" in stream else stream
    if kind.startswith("kline_"):
        return "kline"
    if kind.startswith("depth"):
        return "partialDepth" if kind[5:6].isdigit() else "depth"
    return kind


def event_key(event: object) -> Key | None:
    """The ordering key of a decoded market event, or None when it has none."""
    kind = type(event)
    if kind is models.Trade:
        return event.trade_id
    if kind is models.AggTrade:
        return event.agg_trade_id
    if kind is models.BookTicker:
        return event.update_id
    if kind is models.DepthUpdate:
        return event.final_update_id
    if kind is models.PartialDepth:
        return event.last_update_id
    if kind is models.Kline:
        bar = event.bar
        return (bar.start_time, bar.last_trade_id, bar.closed)
    if kind is models.MiniTicker or kind is models.Ticker:
        return event.event_time
    if kind is tuple and event:
        return max(item.event_time for item in event)
    return None


class StreamLedger:
    """The last delivered key per stream name, and what was refused as a duplicate."""

    def __init__(self) -> None:
        self._last: dict[str, Key] = {}
        self.duplicates: Counter[str] = Counter()

    def accept(self, stream: str, event: object) -> bool:
        """True (and remember it) when ``event`` is newer than anything delivered on ``stream``."""
        key = event_key(event)
        if key is None:
            return True
        last = self._last.get(stream)
        if last is not None and key <= last:
            self.duplicates[stream] += 1
            return False
        self._last[stream] = key
        return True

    def last(self, stream: str) -> Key | None:
        return self._last.get(stream)

    def forget(self, stream: str) -> None:
        """Drop a stream's history (unsubscribed: a later subscription starts afresh)."""
        self._last.pop(stream, None)
