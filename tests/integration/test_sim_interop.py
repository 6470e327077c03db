"""Third-party Binance clients against the simulator: python-binance (async) and ccxt (sync).

Why: the simulator is only as faithful as the clients it satisfies that we did
not write.  Each client runs in a worker thread (they are asyncio / blocking
code) while the simulator serves on trio.  Every URL they may use is pointed at
the loopback simulator, and every request they make is checked to go there:
they must never touch the internet.

Skips without the ``[interop]`` extra (``pip install -e .[interop]``).
"""

from __future__ import annotations

import asyncio
import re
import warnings
from decimal import Decimal

import pytest
import trio

from sim import SimConfig, run_simulator

LOOPBACK_RE = re.compile(r"^(https?|wss?)://127\.0\.0\.1:\d+(/|$)")
WAIT_S = 20

# Third-party code only: their deprecations are theirs, not failures of the simulator.
pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning:binance.*"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:ccxt.*"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:websockets.*"),
]


@pytest.fixture
async def sim(nursery):
    handle = await nursery.start(run_simulator, SimConfig(participant_interval_ms=50))
    yield handle
    handle.shutdown()


def below_the_book(rest_price: str) -> str:
    return str((Decimal(rest_price) * Decimal("0.98")).quantize(Decimal("0.01")))


# --------------------------------------------------------------------- python-binance

async def python_binance_session(rest_url: str, stream_url: str, ws_api_url: str, key: str,
                                 secret: str) -> dict[str, object]:
    """Everything a python-binance user does first, on its asyncio loop (in a thread)."""
    from binance import AsyncClient, BinanceSocketManager
    from binance.ws.websocket_api import WebsocketAPI

    client = AsyncClient(key, secret)  # no request yet: URLs first
    client.API_URL = f"{rest_url}/api"
    client.MARGIN_API_URL = f"{rest_url}/sapi"
    await client.ws_api.close()
    client.ws_api = WebsocketAPI(url=ws_api_url)
    # Its read loop notices a close only after a quiet TIMEOUT (10 s): shorten it on loopback.
    client.ws_api.TIMEOUT = 1
    requested: list[str] = []
    original = client._request

    async def loopback_only(method, uri, signed, force_params=False, **kwargs):
        assert LOOPBACK_RE.match(uri), uri
        requested.append(uri)
        return await original(method, uri, signed, force_params, **kwargs)

    client._request = loopback_only
    out: dict[str, object] = {"requested": requested}
    try:
        await client.ping()
        out["server_time"] = (await client.get_server_time())["serverTime"]
        info = await client.get_symbol_info("BTCUSDT")
        out["filters"] = {f["filterType"] for f in info["filters"]}
        balances = {b["asset"]: b for b in (await client.get_account())["balances"]}
        out["usdt_free"] = balances["USDT"]["free"]
        depth = await client.get_order_book(symbol="BTCUSDT", limit=5)
        sockets = BinanceSocketManager(client)
        sockets.STREAM_URL = f"{stream_url}/"
        assert LOOPBACK_RE.match(sockets.STREAM_URL) and LOOPBACK_RE.match(ws_api_url)
        async with sockets.trade_socket("BTCUSDT") as trades:
            out["trade"] = await asyncio.wait_for(trades.recv(), WAIT_S)
        async with sockets.user_socket() as user:
            order = await client.order_limit_buy(symbol="BTCUSDT", quantity="0.001",
                                                 price=below_the_book(depth["bids"][0][0]),
                                                 newClientOrderId="pb-1")
            out["order"] = order
            while True:  # executionReport NEW (an outboundAccountPosition may come first)
                event = await asyncio.wait_for(user.recv(), WAIT_S)
                if event.get("e") == "executionReport":
                    break
            out["user_event"] = event
            out["queried"] = await client.get_order(symbol="BTCUSDT", orderId=order["orderId"])
            out["open"] = await client.get_open_orders(symbol="BTCUSDT")
            out["canceled"] = await client.cancel_order(symbol="BTCUSDT", orderId=order["orderId"])
        listen_key = await client.stream_get_listen_key()  # the seed's listenKey calls too
        await client.stream_keepalive(listen_key)
        await client.stream_close(listen_key)
        out["listen_key"] = listen_key
    finally:
        await client.close_connection()
    return out


async def test_python_binance_markets_account_orders_and_streams(sim):
    pytest.importorskip("binance")

    def run() -> dict[str, object]:
        with warnings.catch_warnings():  # the thread's own filters: third-party deprecations
            warnings.simplefilter("ignore", DeprecationWarning)
            return asyncio.run(python_binance_session(sim.rest_url, sim.stream_url,
                                                      sim.ws_api_url, sim.api_key,
                                                      sim.api_secret))

    with trio.fail_after(60):
        out = await trio.to_thread.run_sync(run)
    assert out["requested"] and all(LOOPBACK_RE.match(u) for u in out["requested"])
    assert {"PRICE_FILTER", "LOT_SIZE"} <= out["filters"]
    assert Decimal(out["usdt_free"]) > 0
    assert out["trade"]["e"] == "trade" and out["trade"]["s"] == "BTCUSDT"
    order = out["order"]
    assert (order["status"], order["clientOrderId"]) == ("NEW", "pb-1")
    event = out["user_event"]
    assert (event["x"], event["i"], event["c"]) == ("NEW", order["orderId"], "pb-1")
    assert out["queried"]["orderId"] == order["orderId"]
    assert [o["orderId"] for o in out["open"]] == [order["orderId"]]
    assert out["canceled"]["status"] == "CANCELED"
    assert len(out["listen_key"]) == 64


# --------------------------------------------------------------------------- ccxt

CCXT_OPTIONS = {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False,
                "defaultType": "spot", "adjustForTimeDifference": False,
                "fetchMargins": False}  # the simulator has no margin trading


def point_at_simulator(exchange, rest_url: str, stream_url: str | None = None) -> list[str]:
    """Every REST (and websocket) URL of a ccxt binance on the simulator; requests checked."""
    rest = exchange.urls["api"]
    for name, url in list(rest.items()):
        if isinstance(url, str):
            rest[name] = re.sub(r"^https://[^/]+", rest_url, url)
    if stream_url is not None:
        rest["ws"] = {"spot": f"{stream_url}/ws"}
    requested: list[str] = []
    original = exchange.fetch

    def loopback_only(url, *args, **kwargs):
        assert LOOPBACK_RE.match(url), url
        requested.append(url)
        return original(url, *args, **kwargs)

    exchange.fetch = loopback_only  # async in ccxt.pro: the coroutine is returned as is
    return requested


def ccxt_session(rest_url: str, key: str, secret: str) -> dict[str, object]:
    """ccxt's synchronous binance client, every API URL on the simulator."""
    import ccxt

    exchange = ccxt.binance({"apiKey": key, "secret": secret, "enableRateLimit": False,
                             "timeout": 10_000, "options": dict(CCXT_OPTIONS)})
    requested = point_at_simulator(exchange, rest_url)
    out: dict[str, object] = {"requested": requested}
    try:
        markets = exchange.load_markets()
        out["market"] = markets["BTC/USDT"]
        out["balance"] = exchange.fetch_balance()
        book = exchange.fetch_order_book("BTC/USDT", limit=5)
        price = float(below_the_book(str(book["bids"][0][0])))
        order = exchange.create_order("BTC/USDT", "limit", "buy", 0.001, price,
                                      {"newClientOrderId": "ccxt-1"})
        out["order"] = order
        out["fetched"] = exchange.fetch_order(order["id"], "BTC/USDT")
        out["open"] = exchange.fetch_open_orders("BTC/USDT")
        out["canceled"] = exchange.cancel_order(order["id"], "BTC/USDT")
        out["trades"] = exchange.fetch_trades("BTC/USDT", limit=5)
        out["ticker"] = exchange.fetch_ticker("BTC/USDT")
    finally:
        exchange.session.close()
    return out


async def ccxt_pro_trades(rest_url: str, stream_url: str) -> tuple[list[dict], list[str]]:
    """ccxt.pro connects to ``/ws/<n>`` and sends SUBSCRIBE: the live control path."""
    import ccxt.pro

    exchange = ccxt.pro.binance({"enableRateLimit": False, "options": dict(CCXT_OPTIONS)})
    requested = point_at_simulator(exchange, rest_url, stream_url)
    try:
        trades = await asyncio.wait_for(exchange.watch_trades("BTC/USDT"), WAIT_S)
        assert exchange.clients and all(LOOPBACK_RE.match(url) for url in exchange.clients)
        return trades, requested
    finally:
        await exchange.close()


async def test_ccxt_pro_streams_trades_by_subscribe(sim):
    pytest.importorskip("ccxt.pro")

    def run() -> tuple[list[dict], list[str]]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return asyncio.run(ccxt_pro_trades(sim.rest_url, sim.stream_url))

    with trio.fail_after(60):
        trades, requested = await trio.to_thread.run_sync(run)
    assert requested  # markets were loaded from the simulator
    assert trades and all(t["symbol"] == "BTC/USDT" and t["price"] > 0 for t in trades)


async def test_ccxt_markets_balance_orders_and_public_data(sim):
    pytest.importorskip("ccxt")
    await trio.sleep(0.3)  # a few public trades first
    with trio.fail_after(60):
        out = await trio.to_thread.run_sync(ccxt_session, sim.rest_url, sim.api_key, sim.api_secret)
    assert out["requested"] and all(LOOPBACK_RE.match(u) for u in out["requested"])
    market = out["market"]
    assert market["id"] == "BTCUSDT" and market["precision"]["price"] == 0.01
    assert out["balance"]["free"]["USDT"] > 0
    order = out["order"]
    assert order["status"] == "open" and order["clientOrderId"] == "ccxt-1"
    assert out["fetched"]["id"] == order["id"]
    assert [o["id"] for o in out["open"]] == [order["id"]]
    assert out["canceled"]["status"] == "canceled"
    assert out["trades"] and out["trades"][0]["symbol"] == "BTC/USDT"
    assert out["ticker"]["symbol"] == "BTC/USDT" and out["ticker"]["bid"] > 0
