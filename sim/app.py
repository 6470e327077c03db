"""The simulator's server: starlette routes on hypercorn's trio worker, one loopback port.

Why one port for REST and websockets: the daemon derives both base URLs from
one ``SimHandle`` and must not care that Binance uses two hosts.  Why hypercorn's
trio worker: the whole project runs on trio, so the simulator lives in the
caller's nursery (``await nursery.start(run_simulator, config)``) and stops with
it, with no thread or subprocess to leak.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import partial

import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from sim import ws_frames
from sim.config import SimConfig
from sim.errors import SimApiError
from sim.exchange import Exchange
from sim.faults import Faults
from sim.front import build_front
from sim.limits import Limits
from sim.market_data import MarketDataApi
from sim.market_feed import MarketFeed
from sim.replay import Replayer, load_replay
from sim.rest import RestApi, api_error, internal_error
from sim.streams import StreamRouter
from sim.trading_rest import TradingApi, limiter_order_usage
from sim.userdata import ListenKeys, run_expiry
from sim.wallet import run_wallet_clock
from sim.wallet_rest import wallet_routes

log = logging.getLogger(__name__)


@dataclass
class SimHandle:
    """What a running simulator tells its starter: URLs, credentials, the exchange itself."""

    rest_url: str
    stream_url: str
    ws_api_url: str
    api_key: str
    api_secret: str
    exchange: Exchange
    listen_keys: ListenKeys
    _stop: trio.Event = field(repr=False)
    feed: MarketFeed | None = None  # derived market streams (klines, tickers, depth)
    streams: StreamRouter | None = None  # open stream connections, drop_all()
    limits: Limits | None = None  # rate-limit counters: read, reset (sim.limits)
    faults: Faults | None = None  # fault injection controls (sim.faults)
    replay: Replayer | None = None  # recorded traffic being replayed (sim.replay)
    bingx_api_key: str = ""  # the BingX account (sim.bingx): X-BX-APIKEY and signing secret
    bingx_api_secret: str = ""

    def shutdown(self) -> None:
        """Ask for a graceful stop; ``run_simulator`` returns once it is done."""
        self._stop.set()


def build_app(exchange: Exchange, listen_keys: ListenKeys, router: StreamRouter) -> Starlette:
    rest = RestApi(exchange, listen_keys)
    trading = TradingApi(exchange)  # app.state.trading: rateLimit/order reads the limiter

    async def raw_stream(websocket: WebSocket) -> None:
        await router.serve(websocket, [websocket.path_params["name"]], combined=False)

    async def combined_stream(websocket: WebSocket) -> None:
        names = [name for name in websocket.query_params.get("streams", "").split("/") if name]
        await router.serve(websocket, names, combined=True)

    async def bare_stream(websocket: WebSocket) -> None:
        """``/ws`` with no name: a raw connection that subscribes later (SUBSCRIBE)."""
        await router.serve(websocket, [], combined=False)

    routes = [
        *rest.routes(),
        *trading.routes(),
        *MarketDataApi(exchange).routes(),
        *wallet_routes(exchange),
        WebSocketRoute("/ws/{name:path}", raw_stream),
        WebSocketRoute("/ws", bare_stream),
        WebSocketRoute("/stream", combined_stream),
    ]
    app = Starlette(routes=routes,
                    exception_handlers={SimApiError: api_error, Exception: internal_error})
    app.state.trading = trading
    return app


async def run_market(exchange: Exchange, interval_s: float) -> None:
    """Drive the synthetic participants until cancelled (idle while the market is paused)."""
    while True:
        await trio.sleep(interval_s)
        if not exchange.market_paused:
            exchange.step()


async def run_simulator(config: SimConfig, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
    """Serve the simulator until ``SimHandle.shutdown()`` or cancellation.

    Reports the ``SimHandle`` through ``task_status.started`` once the socket
    listens (with ``port=0`` the handle carries the port the OS chose).
    """
    exchange = Exchange(config)
    listen_keys = ListenKeys(time_factor=config.time_factor, seed=config.seed)
    router = StreamRouter(exchange.hub, listen_keys, set(exchange.specs),
                          limits=config.stream_limits())
    faults = Faults(exchange, listen_keys)
    faults.streams = router  # server_shutdown: serverShutdown, then close after the grace
    feed = MarketFeed(exchange, stats_interval_s=config.stream_stats_interval_s,
                      take_gap=faults.take_depth_gap)
    app = build_app(exchange, listen_keys, router)
    trading: TradingApi = app.state.trading
    replay = load_replay(config.replay_path, speed=config.replay_speed, loop=config.replay_loop)
    if replay is not None:  # recorded depth/exchangeInfo first, recorded streams served
        app = replay.serve_rest(app)
        router.add_symbols(replay.symbols)
    front = build_front(app, config, exchange, listen_keys, faults)  # limits, faults, /ws-api/v3
    trading.set_order_usage(limiter_order_usage(front.limits))

    server_config = HypercornConfig()
    server_config.bind = [f"{config.host}:{config.port}"]
    server_config.accesslog = None
    server_config.errorlog = logging.getLogger("sim.server")
    server_config.graceful_timeout = config.graceful_timeout_s
    server_config.websocket_ping_interval = config.stream_ping_interval_s
    ws_frames.install()  # ping/pong visible to the stream connections

    stop = trio.Event()
    async with trio.open_nursery() as background:
        await background.start(run_expiry, listen_keys, exchange.now_ms)
        await background.start(feed.run)
        if replay is not None:
            await background.start(replay.run, exchange.hub)
        background.start_soon(run_wallet_clock, exchange.wallet)
        background.start_soon(run_market, exchange, config.participant_interval_ms / 1000)
        async with trio.open_nursery() as server:
            binds = await server.start(partial(serve, front.gate, server_config, shutdown_trigger=stop.wait))
            port = int(binds[0].rsplit(":", 1)[1])
            host = config.host if ":" not in config.host else f"[{config.host}]"
            handle = SimHandle(
                rest_url=f"http://{host}:{port}",
                stream_url=f"ws://{host}:{port}",
                ws_api_url=f"ws://{host}:{port}/ws-api/v3",
                api_key=exchange.default_account.api_key,
                api_secret=exchange.default_account.api_secret,
                exchange=exchange,
                listen_keys=listen_keys,
                _stop=stop,
                feed=feed,
                streams=router,
                replay=replay,
                limits=front.limits,
                faults=front.faults,
                bingx_api_key=exchange.wallet.bingx.default.api_key,
                bingx_api_secret=exchange.wallet.bingx.default.api_secret,
            )
            log.info("sim.listening rest=%s seed=%d", handle.rest_url, config.seed)
            task_status.started(handle)
            await stop.wait()
            log.info("sim.stopping")
            router.shutdown()
            front.shutdown()
        background.cancel_scope.cancel()
    log.info("sim.stopped")
