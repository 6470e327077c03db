"""The ``<symbol>@aggTrade`` stream: trades of one taker order at one price, as one event.

Why built from the trade stream: the seed defines an aggregate trade as the
trades "aggregated for a single taker order" (at one price, one instant); the
trade payloads carry the buyer's and seller's order ids and which side was the
maker, so the taker's order id is known without reaching into the matching
engine.  Trades arrive in execution order within one exchange step, so a group
ends when the next trade belongs to another (taker, price), or when the step
ends (``flush``).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import msgspec

from sim.numbers import fmt8


class TradeMsg(msgspec.Struct):
    """The fields of a ``trade`` payload the feed needs (others are ignored)."""

    t: int
    p: str
    q: str
    T: int
    m: bool
    b: int | None = None
    a: int | None = None

    @property
    def taker_order_id(self) -> int | None:
        """The seller's order when the buyer was the maker, else the buyer's."""
        return self.a if self.m else self.b


class AggTradeBuilder:
    """Groups one symbol's trades and hands each finished group to ``publish``."""

    def __init__(self, symbol: str, publish: Callable[[dict[str, object]], None]) -> None:
        self.symbol = symbol
        self.publish = publish
        self.next_id = 1
        self._key: tuple[object, ...] | None = None
        self._first = self._last = self._time = 0
        self._price = ""
        self._buyer_maker = False
        self._qty = Decimal(0)

    def add(self, trade: TradeMsg, qty: Decimal) -> None:
        key = (trade.taker_order_id, trade.p, trade.m, trade.T)
        if key != self._key or trade.taker_order_id is None:
            self.flush()
            self._key = key
            self._first, self._time = trade.t, trade.T
            self._price, self._buyer_maker = trade.p, trade.m
            self._qty = qty
        else:
            self._qty += qty
        self._last = trade.t

    def flush(self) -> None:
        if self._key is None:
            return
        self._key = None
        agg_id = self.next_id
        self.next_id += 1
        self.publish({
            "e": "aggTrade",
            "E": self._time,
            "s": self.symbol,
            "a": agg_id,
            "p": self._price,
            "q": fmt8(self._qty),
            "f": self._first,
            "l": self._last,
            "T": self._time,
            "m": self._buyer_maker,
            "M": True,
        })
