"""The ``<symbol>@aggTrade`` stream, published from the exchange's trade tape.

Why from the tape (``sim.tape``): ``GET /api/v3/aggTrades`` answers from the same
aggregate trades, so a client that fills a gap in its stream from REST sees the
same ids, quantities and first/last trade ids.  The tape groups "trades from the
same taker order, with the same price"; a taker order executes within one
exchange step, so at the end of a step (``flush``) every group of that step is
complete and is published once, in id order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import msgspec

from sim.numbers import fmt8
from sim.tape import AggTrade

MAX_PER_FLUSH = 100_000  # more aggregate trades than one step can make


class TradeMsg(msgspec.Struct):
    """The fields of a ``trade`` payload the feed needs (others are ignored)."""

    t: int
    p: str
    q: str
    T: int
    m: bool


class AggSource(Protocol):
    def aggs_from_id(self, first_id: int, limit: int) -> list[AggTrade]: ...


class AggTradePublisher:
    """Publishes one symbol's aggregate trades that appeared on its tape since the last flush."""

    def __init__(self, symbol: str, tape: AggSource,
                 publish: Callable[[dict[str, object]], None]) -> None:
        self.symbol = symbol
        self.tape = tape
        self.publish = publish
        self.last_id = 0

    def flush(self) -> None:
        for agg in self.tape.aggs_from_id(self.last_id + 1, MAX_PER_FLUSH):
            self.last_id = agg.agg_id
            self.publish({
                "e": "aggTrade",
                "E": agg.time,
                "s": self.symbol,
                "a": agg.agg_id,
                "p": fmt8(agg.price),
                "q": fmt8(agg.qty),
                "f": agg.first_id,
                "l": agg.last_id,
                "T": agg.time,
                "m": agg.buyer_is_maker,
                "M": True,
            })
