"""The Daemon: builds every part from the config and runs them in one nursery.

Start-up order matters and is the reason this module exists:

1. the embedded simulator (venue ``sim`` only), so that URLs and keys exist;
2. the store (SQLite), so that nothing received can be lost;
3. REST: clock offset, then exchangeInfo (the gateway needs the filters);
4. plugins and strategies, the gateway, the dispatcher (strategies get
   ``on_start`` before any event);
5. the user-data stream, whose every (re)connect runs reconciliation
   (``daemon.reconcile``: pending intents resolved, balances, open orders and
   missed fills from REST) while strategies are held at the dispatch gate;
   the first run completes before strategies get ``on_start``;
6. the market streams the strategies subscribed to, and the local order
   books (``daemon.market_feed``).

Shutdown runs the other way: strategies get ``on_stop`` (the grid cancels
its orders there) while the streams still deliver the resulting events, then
everything is cancelled and the store closed.
"""

from __future__ import annotations

import logging
import math
import signal
from functools import partial
from dataclasses import dataclass, field
from pathlib import Path

import trio

from daemon.config import Config
from daemon.context import StrategyContext
from daemon.credentials import Credentials
from daemon.dispatch import Dispatcher
from daemon.dispatch_gate import DispatchGate
from daemon.errors import ConfigError
from daemon.gateway import Gateway
from daemon.market import MarketCache
from daemon.market_feed import MarketFeed
from daemon.plugins import load_plugins, load_strategies, make_plugin_manager
from daemon.reconcile import Reconciler
from daemon.risk_hooks import make_risk_check
from daemon.routing import EventRouter
from daemon.tracking import EventTracker
from daemon.unknown_orders import UnknownOrderFetcher
from daemon.venues.binance.rest import BinanceRest
from daemon.venues.binance.ban_store import SettingsBanStore
from daemon.venues.binance.clock import ServerClock, run_clock_resync
from daemon.venues.binance.ratelimit import RateGovernor
from daemon.venues.binance.user_stream import run_account_stream, user_stream_flavour
from plugins.risk import RiskLimits
from state import Store

log = logging.getLogger(__name__)

#: How long strategies get to cancel their orders on shutdown.
STOP_GRACE_S = 10.0


@dataclass
class Endpoints:
    """Where the venue lives; the simulator and Binance differ only here."""

    rest_url: str
    stream_url: str
    ws_api_url: str
    credentials: Credentials | None


@dataclass
class Daemon:
    """One trading account's daemon.  ``run`` returns when it has stopped."""

    config: Config
    duration_s: float | None = None
    endpoints: Endpoints | None = None
    store: Store | None = None
    strategies: dict[str, object] = field(default_factory=dict)
    sim_handle: object | None = None  # the embedded simulator, when venue.kind = "sim"
    contexts: dict[str, StrategyContext] = field(default_factory=dict)  # "strategy:<name>" -> ctx
    _stop: trio.Event = field(default_factory=trio.Event)

    def request_stop(self) -> None:
        """Begin an orderly shutdown (signal handler, --duration, tests)."""
        self._stop.set()

    async def run(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            self.endpoints = await self._start_venue(nursery)
            database = Path(self.config.daemon.database)
            database.parent.mkdir(parents=True, exist_ok=True)
            self.store = Store.open(database)
            rest = _rest_client(self.config, self.endpoints, self.store)
            try:
                await self._run_trading(nursery, rest, task_status)
            finally:
                with trio.CancelScope(shield=True):
                    await rest.aclose()
                self.store.close()
                nursery.cancel_scope.cancel()

    async def _start_venue(self, nursery: trio.Nursery) -> Endpoints:
        venue = self.config.venue
        if venue.kind != "sim":
            return Endpoints(venue.rest_url, venue.stream_url, venue.ws_api_url, venue.credentials())
        from sim import run_simulator  # imported lazily: only the sim venue needs it

        handle = self.sim_handle = await nursery.start(run_simulator, self.config.sim.to_sim_config())
        log.info("sim.started rest=%s stream=%s", handle.rest_url, handle.stream_url)
        return Endpoints(handle.rest_url, handle.stream_url, handle.ws_api_url,
                         Credentials(handle.api_key, handle.api_secret))

    async def _run_trading(self, nursery: trio.Nursery, rest: BinanceRest, task_status) -> None:
        store = self.store
        await rest.sync_clock()
        exchange_info = await rest.exchange_info()
        market = MarketCache()

        pm = make_plugin_manager()
        pm.register(RiskLimits(self.config.risk), "risk")
        load_plugins(pm, self.config.daemon.plugins)
        self.strategies = load_strategies(pm, self.config)
        _check_symbols(self.strategies, exchange_info)

        contexts = self.contexts
        gateway = Gateway(rest, store, exchange_info, balances=store.balances,
                          reference_price=market.last_price, best_bid_ask=market.best_bid_ask,
                          allow_unknown_filters=self.config.gateway.allow_unknown_filters,
                          risk_check=make_risk_check(pm, lambda name: contexts[f"strategy:{name}"]))
        rest.on_order_counts = gateway.observe_order_counts  # ORDERS budget follows the exchange
        dispatcher = Dispatcher(pm, contexts)
        gate = DispatchGate(dispatcher)  # closed while reconciliation runs
        tracker = EventTracker(pm)
        market_send, market_recv = trio.open_memory_channel(4096)
        feed = MarketFeed(self.config, rest, self.endpoints.stream_url, market_send, self.strategies)
        for name, strategy in self.strategies.items():
            contexts[f"strategy:{name}"] = StrategyContext(
                name, gateway=gateway, store=store, market=market,
                params=strategy.params, dispatcher=gate, tracker=tracker,
                books=feed.books, streams=feed.streams)
        unknown_orders = UnknownOrderFetcher(rest, store)
        router = EventRouter(store, market, gate, on_unknown_order=unknown_orders.request)
        reconciler = Reconciler(rest, store, gate)

        async with trio.open_nursery() as trading:
            user_send, user_recv = trio.open_memory_channel(math.inf)
            trading.start_soon(router.consume_user, user_recv)
            trading.start_soon(router.consume_market, market_recv)
            await trading.start(unknown_orders.run)
            venue = self.config.venue
            await trading.start(partial(
                run_account_stream, user_stream_flavour(venue.kind, venue.user_stream), rest,
                stream_url=self.endpoints.stream_url, ws_api_url=self.endpoints.ws_api_url,
                send_channel=user_send, on_connected=reconciler.on_connected,
                handover_grace_s=venue.user_stream_handover_grace_s))
            await trading.start(run_clock_resync, rest.sync_clock, venue.clock_resync_s)
            await trading.start(reconciler.watch_intents)
            await trading.start(dispatcher.run)
            await trading.start(feed.run)
            log.info("daemon.ready strategies=%s streams=%d", ",".join(self.strategies) or "-",
                     len(feed.subscriptions))
            task_status.started(self)

            await self._wait_for_stop()
            log.info("daemon.stopping")
            with trio.move_on_after(STOP_GRACE_S) as grace:
                grace.shield = True
                await dispatcher.stop()
                gateway.close()
                await trio.sleep(0.5)  # let the cancels' executionReports land in the store
            trading.cancel_scope.cancel()
        log.info("daemon.stopped %s", router.summary())

    async def _wait_for_stop(self) -> None:
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async with trio.open_nursery() as waiter:
                async def on_signal() -> None:
                    async for signum in signals:
                        log.info("daemon.signal %s", signal.Signals(signum).name)
                        self.request_stop()
                        return

                waiter.start_soon(on_signal)
                if self.duration_s is not None:
                    with trio.move_on_after(self.duration_s):
                        await self._stop.wait()
                else:
                    await self._stop.wait()
                waiter.cancel_scope.cancel()


def _rest_client(config: Config, endpoints: Endpoints, store: Store) -> BinanceRest:
    """One REST client and one rate governor for every caller of this daemon.

    The ban store is the state database, so a 418 ban survives a restart; with
    the simulator, the governor's windows run on trio's clock and shrink with
    the simulator's time factor, like the simulator's own windows.
    """
    venue = config.venue
    clock = ServerClock()
    simulated = venue.kind == "sim"
    governor = RateGovernor(
        safety_margin=venue.rate_safety_margin, urgent_reserve=venue.rate_urgent_reserve,
        max_wait_s=venue.rate_max_wait_s, ban_store=SettingsBanStore(store),
        time_factor=config.sim.time_factor if simulated else 1.0,
        window_clock=trio.current_time if simulated else (lambda: clock.now_ms() / 1000))
    return BinanceRest(endpoints.rest_url, endpoints.credentials,
                       recv_window_ms=venue.recv_window_ms, clock=clock, governor=governor)


def _check_symbols(strategies: dict[str, object], exchange_info) -> None:
    for name, strategy in strategies.items():
        symbol = getattr(getattr(strategy, "params", None), "symbol", None)
        if symbol and exchange_info.symbol(symbol.upper()) is None:
            raise ConfigError(f"symbol {symbol} is not listed by the exchange",
                              path=f"strategies.{name}.symbol")

