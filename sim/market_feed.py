"""The derived market streams: aggTrade, kline_*, tickers and depth, fed by the exchange.

Why derived from the hub's trade events, the trade tape and the books: the
matching engine already publishes every trade (``<symbol>@trade``), records it
on the tape (``sim.tape``, which REST ``aggTrades`` also reads) and keeps the
books; the other streams are views of those, computed once per topic per push (the hub
encodes one frame per topic, whatever the number of subscribers) and only for
topics somebody listens to.  The exchange calls ``on_step`` at the end of every
atomic step, which closes the step's aggregate trades and lets the depth feed
see which price levels the step touched (see ``sim.depth_feed``).

Cadences (wall time, as the seed's "Update Speed"): depth 100 ms and 1000 ms;
klines, tickers and mini tickers every ``stats_interval_s`` (1 s).  Kline and
ticker *times* run on the exchange's one market clock (``exchange.market_clock``,
see ``sim.market_clock``), which REST klines and tickers read too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING

import msgspec
import trio

from sim.agg_trades import AggTradePublisher, TradeMsg
from sim.bars import SymbolBars
from sim.depth_feed import CADENCES_MS, DepthFeed
from sim.hub import market_topic
from sim.market_clock import MarketClock
from sim.stream_names import KLINE_INTERVALS_MS
from sim.tickers import RollingTicker

if TYPE_CHECKING:
    from sim.exchange import Exchange

log = logging.getLogger(__name__)

_encoder = msgspec.json.Encoder()


class MarketFeed:
    """All derived streams of one exchange; ``run`` drives the periodic ones."""

    def __init__(self, exchange: Exchange, *, time_factor: float | None = None,
                 stats_interval_s: float = 1.0,
                 take_gap: Callable[[str], bool] | None = None) -> None:
        """``time_factor``, if given, must be the exchange's (``SimConfig.time_factor``):
        a feed on a clock of its own would show klines REST does not know."""
        self.exchange = exchange
        self.hub = exchange.hub
        self.clock: MarketClock = exchange.market_clock
        if time_factor is not None and time_factor != self.clock.time_factor:
            raise ValueError(f"time_factor {time_factor} differs from the exchange's "
                             f"{self.clock.time_factor}: set SimConfig.time_factor")
        self.stats_interval_s = stats_interval_s
        self.depth = DepthFeed(self.hub, exchange.books, exchange.now_ms, take_gap=take_gap)
        self.symbols = sorted(exchange.specs)
        self.bars = {symbol: SymbolBars(symbol) for symbol in self.symbols}
        self.tickers = {symbol: RollingTicker(symbol) for symbol in self.symbols}
        self.aggs = {
            symbol: AggTradePublisher(symbol, exchange.tape[symbol],
                                      partial(self.hub.publish, market_topic(symbol, "aggTrade")))
            for symbol in self.symbols
        }
        self.trades_seen = 0
        self._decoder = msgspec.json.Decoder(TradeMsg)
        self._trade_topics = {market_topic(symbol, "trade"): symbol for symbol in self.symbols}
        self._kline_topics = {
            symbol: [(interval, market_topic(symbol, f"kline_{interval}"))
                     for interval in KLINE_INTERVALS_MS]
            for symbol in self.symbols
        }
        self._arr_tops: dict[str, object] = {}
        for topic in self._trade_topics:
            self.hub.subscribe(topic, self)
        exchange.book_observers.append(self.on_step)

    # ------------------------------------------------------- exchange events

    def deliver(self, topic: str, data: bytes) -> None:
        """A trade from the matching engine (hub subscriber: must not raise)."""
        symbol = self._trade_topics.get(topic)
        if symbol is None:
            return
        try:
            trade = self._decoder.decode(data)
            price, qty = Decimal(trade.p), Decimal(trade.q)
        except (msgspec.DecodeError, ArithmeticError) as exc:
            log.error("feed.bad_trade topic=%s error=%r", topic, exc)
            return
        self.trades_seen += 1
        market_time = self.clock.at(trade.T)
        self.bars[symbol].add_trade(market_time, trade.t, price, qty, not trade.m)
        self.tickers[symbol].add_trade(market_time, trade.t, price, qty)

    def on_step(self, symbols: Iterable[str]) -> None:
        """End of one exchange step: publish its aggregate trades, note touched book levels."""
        symbols = tuple(symbols)
        for symbol in symbols:
            builder = self.aggs.get(symbol)
            if builder is not None:
                builder.flush()
        self.depth.sync(symbols)

    # ----------------------------------------------------------------- pushes

    def publish_stats(self) -> None:
        """Klines (closed ones first, then the running bar), tickers, mini tickers."""
        now = self.clock.at(self.exchange.now_ms())
        hub = self.hub
        minis: list[dict[str, object]] = []
        fulls: list[dict[str, object]] = []
        for symbol in self.symbols:
            bars = self.bars[symbol]
            bars.advance(now)
            for interval, topic in self._kline_topics[symbol]:
                closed = bars.take_closed(interval)
                if not hub.has_subscribers(topic):
                    continue
                for bar in closed:
                    hub.publish(topic, {"e": "kline", "E": now, "s": symbol,
                                        "k": bar.payload(symbol, interval, True)})
                current = bars.current(interval)
                if current is not None:
                    hub.publish(topic, {"e": "kline", "E": now, "s": symbol,
                                        "k": current.payload(symbol, interval, False)})
            self._publish_tickers(symbol, now, minis, fulls)
        if minis:
            hub.publish_raw("!miniTicker@arr", _encoder.encode(minis))
        if fulls:
            hub.publish_raw("!ticker@arr", _encoder.encode(fulls))

    def _publish_tickers(self, symbol: str, now: int, minis: list, fulls: list) -> None:
        """Per-symbol tickers every push; into the ``!..@arr`` arrays only when they changed."""
        hub = self.hub
        ticker = self.tickers[symbol]
        ticker.expire(now)
        traded = ticker.changed
        ticker.clear_changed()
        mini_topic, full_topic = market_topic(symbol, "miniTicker"), market_topic(symbol, "ticker")
        to_mini_arr = traded and hub.has_subscribers("!miniTicker@arr")
        if to_mini_arr or hub.has_subscribers(mini_topic):
            mini = ticker.mini(now)
            hub.publish(mini_topic, mini)
            if to_mini_arr:
                minis.append(mini)
        book = self.exchange.books[symbol]
        top = (book.best("BUY"), book.best("SELL"))
        moved = traded or self._arr_tops.get(symbol) != top
        self._arr_tops[symbol] = top
        to_full_arr = moved and hub.has_subscribers("!ticker@arr")
        if to_full_arr or hub.has_subscribers(full_topic):
            full = ticker.full(now, top[0], top[1])
            hub.publish(full_topic, full)
            if to_full_arr:
                fulls.append(full)

    async def run(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        """Run the periodic pushes until cancelled."""
        async with trio.open_nursery() as nursery:
            for cadence in CADENCES_MS:
                nursery.start_soon(_every, cadence / 1000, partial(self.depth.flush, cadence))
            nursery.start_soon(_every, self.stats_interval_s, self.publish_stats)
            task_status.started()


async def _every(interval_s: float, action: Callable[[], None]) -> None:
    """Call ``action`` every ``interval_s`` without drift (a late tick does not shift the next)."""
    deadline = trio.current_time()
    while True:
        deadline += interval_s
        await trio.sleep_until(deadline)
        action()
        now = trio.current_time()
        if now > deadline + interval_s:  # far behind (a stalled loop): skip, do not burst
            deadline = now
