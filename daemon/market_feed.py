"""Market data for the strategies: the streams they subscribe to and the local books.

One object owns both because they are wired together: every depth and
bookTicker event the streams decode also feeds the books (``on_event``), and
the books add their own depth subscriptions.  Strategies reach them through
``ctx.subscribe`` / ``ctx.unsubscribe`` and ``ctx.book(symbol)``.
"""

from __future__ import annotations

import logging

import trio

from daemon.config import Config
from daemon.venues.binance.book_sync import OrderBooks, used_weight_budget
from daemon.venues.binance.market_history import RestMarketHistory
from daemon.venues.binance.rest import BinanceRest
from daemon.venues.binance.stream_settings import StreamSettings
from daemon.venues.binance.streams import MarketStreams

log = logging.getLogger(__name__)


class MarketFeed:
    """The market streams and order books of one daemon."""

    def __init__(self, config: Config, rest: BinanceRest, stream_url: str,
                 send_channel: trio.MemorySendChannel, strategies: dict[str, object]) -> None:
        book_symbols = dict.fromkeys(config.books.symbols)
        for strategy in strategies.values():
            for symbol in getattr(strategy, "book_symbols", lambda: [])():
                book_symbols[symbol.upper()] = None
        self.books = OrderBooks(rest.depth, book_symbols, limit=config.books.depth_limit,
                                rest_budget=used_weight_budget(lambda: rest.used_weight_1m))
        # The simulator runs the exchange's slow clocks (the 24 h cut) faster.
        time_factor = config.sim.time_factor if config.venue.kind == "sim" else 1.0
        settings = StreamSettings(transport=config.venue.ws_transport, time_factor=time_factor,
                                  connection_lifetime_s=config.streams.connection_lifetime_s,
                                  buffer_frames=config.streams.buffer_frames)
        self.streams = MarketStreams(stream_url, send_channel, settings=settings,
                                     history=RestMarketHistory(rest), on_event=self.books.apply)
        self.subscriptions = list(dict.fromkeys(
            [*config.streams.subscribe, *_strategy_streams(strategies), *self.books.streams()]))
        self.streams.subscribe(self.subscriptions)

    async def run(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(self.books.run)
            await nursery.start(self.streams.run)
            log.info("market.ready streams=%d books=%d", len(self.subscriptions),
                     len(self.books.symbols()))
            task_status.started(self)


def _strategy_streams(strategies: dict[str, object]) -> list[str]:
    wanted: dict[str, None] = {}
    for strategy in strategies.values():
        for stream in getattr(strategy, "subscriptions", lambda: [])():
            wanted[stream] = None
    return list(wanted)
