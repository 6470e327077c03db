"""The public trade history of each symbol: trades and aggregate trades, bounded.

Why the simulator keeps its own tape: ``trades``, ``historicalTrades``,
``aggTrades``, ``klines`` and the tickers answer from the exchange's past trades
("Data Source: Database" in the seed), which no stream subscriber has to be
present for.  Each symbol keeps its newest ``capacity`` trades (100k by
default, ``SimConfig.trade_history``) and their aggregate trades; older ones
are dropped, so a lookup from an older id starts at the oldest kept.

Aggregate trades follow the seed: "trades that fill at the time, from the same
taker order, with the same price" share one aggregate id.  The matching engine
executes one taker order at one instant, so consecutive trades of the same
taker order at the same price form one group; ids count from 1 per symbol,
over every trade, like trade ids.

Trade and aggregate ids are consecutive, so an id lookup is arithmetic; times
never decrease, so a time lookup is a binary search.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from decimal import Decimal

from sim.numbers import down8


@dataclass(frozen=True, slots=True)
class PublicTrade:
    trade_id: int
    price: Decimal
    qty: Decimal
    time: int
    buyer_is_maker: bool

    @property
    def quote_qty(self) -> Decimal:
        return down8(self.price * self.qty)


@dataclass(slots=True)
class AggTrade:
    agg_id: int
    price: Decimal
    qty: Decimal
    first_id: int
    last_id: int
    time: int
    buyer_is_maker: bool


class _Kept:
    """A list that keeps its newest ``capacity`` items (trimmed in amortised batches)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.items: list = []
        self.start = 0  # index of the oldest kept item

    def append(self, item) -> None:
        self.items.append(item)
        if len(self.items) - self.start > self.capacity:
            self.start += 1
            if self.start >= max(1024, self.capacity // 4):
                del self.items[:self.start]
                self.start = 0

    def view(self) -> list:
        return self.items[self.start:] if self.start else self.items

    def __len__(self) -> int:
        return len(self.items) - self.start


class SymbolTape:
    """One symbol's kept trades and aggregate trades."""

    def __init__(self, capacity: int) -> None:
        self._trades = _Kept(capacity)
        self._aggs = _Kept(capacity)
        self._group: tuple[int, Decimal] | None = None  # (taker order id, price) of the open agg

    # ---------------------------------------------------------------- writing

    def record(self, trade_id: int, price: Decimal, qty: Decimal, time: int, *,
               buyer_is_maker: bool, taker_order_id: int) -> AggTrade:
        """Keep one trade; returns the aggregate trade it now belongs to."""
        self._trades.append(PublicTrade(trade_id, price, qty, time, buyer_is_maker))
        group = (taker_order_id, price)
        aggs = self._aggs
        if group == self._group and len(aggs):
            agg = aggs.items[-1]
            agg.qty += qty
            agg.last_id = trade_id
            return agg
        self._group = group
        next_id = aggs.items[-1].agg_id + 1 if aggs.items else 1
        agg = AggTrade(next_id, price, qty, trade_id, trade_id, time, buyer_is_maker)
        aggs.append(agg)
        return agg

    # ---------------------------------------------------------------- reading

    def trades(self) -> list[PublicTrade]:
        """The kept trades, oldest first (a copy-free view; do not mutate)."""
        return self._trades.view()

    def last(self) -> PublicTrade | None:
        kept = self._trades
        return kept.items[-1] if len(kept) else None

    def recent(self, limit: int) -> list[PublicTrade]:
        return self._trades.view()[-limit:]

    def from_id(self, first_id: int, limit: int) -> list[PublicTrade]:
        """Trades with id >= ``first_id`` (from the oldest kept if that one is gone)."""
        kept = self._trades.view()
        if not kept:
            return []
        offset = max(0, first_id - kept[0].trade_id)
        return kept[offset:offset + limit]

    def before(self, time: int) -> PublicTrade | None:
        """The last kept trade strictly before ``time``."""
        kept = self._trades.view()
        index = bisect_left(kept, time, key=_time)
        return kept[index - 1] if index else None

    def between(self, start: int, end: int) -> list[PublicTrade]:
        """Trades with ``start <= time <= end``."""
        kept = self._trades.view()
        return kept[bisect_left(kept, start, key=_time):bisect_right(kept, end, key=_time)]

    def aggs_recent(self, limit: int) -> list[AggTrade]:
        return self._aggs.view()[-limit:]

    def aggs_from_id(self, first_id: int, limit: int) -> list[AggTrade]:
        kept = self._aggs.view()
        if not kept:
            return []
        offset = max(0, first_id - kept[0].agg_id)
        return kept[offset:offset + limit]

    def aggs_between(self, start: int | None, end: int | None, limit: int) -> list[AggTrade]:
        """Aggregate trades within [start, end]: the oldest ``limit`` if ``start`` is
        given, else the newest ``limit`` up to ``end``."""
        kept = self._aggs.view()
        lo = bisect_left(kept, start, key=_time) if start is not None else 0
        hi = bisect_right(kept, end, key=_time) if end is not None else len(kept)
        chosen = kept[lo:hi]
        return chosen[:limit] if start is not None else chosen[-limit:]


def _time(item: PublicTrade | AggTrade) -> int:
    return item.time


class Tape:
    """Every symbol's tape, created on first use."""

    def __init__(self, capacity: int = 100_000) -> None:
        self.capacity = capacity
        self._symbols: dict[str, SymbolTape] = {}

    def __getitem__(self, symbol: str) -> SymbolTape:
        tape = self._symbols.get(symbol)
        if tape is None:
            tape = self._symbols[symbol] = SymbolTape(self.capacity)
        return tape
