"""Market-data REST of the simulator over loopback: shapes, paging rules and error codes.

The market is paused and driven by ``exchange.step()`` from the test, so the trades
the endpoints report are exactly those the test caused.
"""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
import pytest

from sim import SimConfig, SimHandle, run_simulator
from sim.symbols import builtin_symbol_info

SYMBOLS = builtin_symbol_info()[:2]
SYMBOLS[0]["filters"].append({"filterType": "NOTIONAL", "minNotional": "5",
                              "applyMinToMarket": True, "maxNotional": "90000",
                              "applyMaxToMarket": False, "avgPriceMins": 5})
EXCHANGE_FILTERS = [{"filterType": "EXCHANGE_MAX_NUM_ORDERS", "maxNumOrders": 1000}]


@pytest.fixture
async def sim(nursery) -> SimHandle:
    handle = await nursery.start(run_simulator, SimConfig(
        symbols=SYMBOLS, exchange_filters=EXCHANGE_FILTERS, participant_interval_ms=10_000,
        taker_probability=1.0))
    handle.exchange.pause_market()
    yield handle
    handle.shutdown()


@pytest.fixture
async def client(sim):
    async with httpx.AsyncClient(base_url=sim.rest_url, timeout=10) as http:
        yield http


async def error_of(response: httpx.Response) -> tuple[int, int]:
    return response.status_code, response.json()["code"]


async def test_exchange_info_shows_the_configured_rules(client):
    info = (await client.get("/api/v3/exchangeInfo")).json()
    assert info["exchangeFilters"] == EXCHANGE_FILTERS
    assert [s["symbol"] for s in info["symbols"]] == ["BTCUSDT", "ETHUSDT"]
    btc = info["symbols"][0]
    assert btc["filters"] == SYMBOLS[0]["filters"]
    assert btc["orderTypes"] == ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS",
                                 "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"]
    assert (btc["icebergAllowed"], btc["ocoAllowed"], btc["quoteOrderQtyMarketAllowed"]) == (
        True, True, True)
    one = (await client.get("/api/v3/exchangeInfo", params={"symbols": '["ETHUSDT"]'})).json()
    assert [s["symbol"] for s in one["symbols"]] == ["ETHUSDT"]
    unknown = await client.get("/api/v3/exchangeInfo", params={"symbols": '["ETHUSDT","X"]'})
    assert await error_of(unknown) == (400, -1121)


async def test_depth_accepts_only_the_documented_limits(client):
    for limit in (5, 10, 20, 50, 100, 500, 1000, 5000):
        depth = (await client.get("/api/v3/depth", params={"symbol": "BTCUSDT",
                                                           "limit": str(limit)})).json()
        assert len(depth["bids"]) <= limit and depth["lastUpdateId"] > 0
    bad = await client.get("/api/v3/depth", params={"symbol": "BTCUSDT", "limit": "7"})
    assert bad.json() == {"code": -1100, "msg": "Illegal characters found in parameter "
                          "'limit'; legal range is '5, 10, 20, 50, 100, 500, 1000, 5000'."}


async def test_trades_historical_trades_and_aggregates(sim, client):
    for _ in range(30):
        sim.exchange.step()
    kept = sim.exchange.tape["BTCUSDT"].trades()
    assert len(kept) > 5
    recent = (await client.get("/api/v3/trades", params={"symbol": "BTCUSDT",
                                                         "limit": "3"})).json()
    assert [t["id"] for t in recent] == [t.trade_id for t in kept[-3:]]
    assert set(recent[0]) == {"id", "price", "qty", "quoteQty", "time", "isBuyerMaker",
                              "isBestMatch"}
    no_key = await client.get("/api/v3/historicalTrades", params={"symbol": "BTCUSDT"})
    assert await error_of(no_key) == (401, -2014)
    old = (await client.get("/api/v3/historicalTrades",
                            params={"symbol": "BTCUSDT", "fromId": "2", "limit": "2"},
                            headers={"X-MBX-APIKEY": sim.api_key})).json()
    assert [t["id"] for t in old] == [2, 3]
    aggs = (await client.get("/api/v3/aggTrades", params={"symbol": "BTCUSDT"})).json()
    assert set(aggs[0]) == {"a", "p", "q", "f", "l", "T", "m", "M"}
    assert aggs[0]["f"] == kept[0].trade_id and aggs[-1]["l"] == kept[-1].trade_id
    assert sum(Decimal(a["q"]) for a in aggs) == sum(t.qty for t in kept)
    from_two = (await client.get("/api/v3/aggTrades", params={"symbol": "BTCUSDT", "fromId": "2",
                                                              "limit": "1"})).json()
    assert [a["a"] for a in from_two] == [2]
    now = sim.exchange.now_ms()
    window = (await client.get("/api/v3/aggTrades", params={
        "symbol": "BTCUSDT", "startTime": str(now - 3_600_000), "endTime": str(now)})).json()
    assert window == aggs
    too_long = await client.get("/api/v3/aggTrades", params={
        "symbol": "BTCUSDT", "startTime": str(now - 3_600_001), "endTime": str(now)})
    assert too_long.json() == {"code": -1127,
                               "msg": "More than 1 hours between startTime and endTime."}
    mixed = await client.get("/api/v3/aggTrades", params={"symbol": "BTCUSDT", "fromId": "1",
                                                          "startTime": str(now)})
    assert await error_of(mixed) == (400, -1128)
    assert await error_of(await client.get("/api/v3/trades", params={
        "symbol": "BTCUSDT", "limit": "1001"})) == (400, -1130)


async def test_klines_every_interval_and_their_errors(sim, client):
    for _ in range(10):
        sim.exchange.step()
    for interval in ("1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h",
                     "1d", "3d", "1w", "1M"):
        rows = (await client.get("/api/v3/klines", params={"symbol": "BTCUSDT",
                                                           "interval": interval})).json()
        assert rows and all(len(row) == 12 for row in rows), interval
        assert sum(row[8] for row in rows) == len(sim.exchange.tape["BTCUSDT"].trades())
    assert await error_of(await client.get("/api/v3/klines", params={
        "symbol": "BTCUSDT", "interval": "2m"})) == (400, -1120)
    assert await error_of(await client.get("/api/v3/klines", params={
        "symbol": "BTCUSDT"})) == (400, -1102)


async def test_average_price_and_tickers(sim, client):
    for _ in range(10):
        sim.exchange.step()
    avg = (await client.get("/api/v3/avgPrice", params={"symbol": "BTCUSDT"})).json()
    assert avg == {"mins": 5, "price": format(sim.exchange.avg_price("BTCUSDT").quantize(
        Decimal("0.00000001")), "f"),
        "closeTime": sim.exchange.tape["BTCUSDT"].last().time}  # the last trade's time
    one = (await client.get("/api/v3/ticker/24hr", params={"symbol": "BTCUSDT"})).json()
    assert one["count"] == len(sim.exchange.tape["BTCUSDT"].trades())
    assert set(one) >= {"priceChange", "priceChangePercent", "weightedAvgPrice",
                        "prevClosePrice", "lastPrice", "lastQty", "bidPrice", "askPrice",
                        "openPrice", "highPrice", "lowPrice", "volume", "quoteVolume",
                        "openTime", "closeTime", "firstId", "lastId", "count"}
    every = (await client.get("/api/v3/ticker/24hr")).json()
    assert [t["symbol"] for t in every] == ["BTCUSDT", "ETHUSDT"]
    some = (await client.get("/api/v3/ticker/price",
                             params={"symbols": json.dumps(["ETHUSDT", "BTCUSDT"])})).json()
    assert [t["symbol"] for t in some] == ["ETHUSDT", "BTCUSDT"]
    last = sim.exchange.tape["ETHUSDT"].last()
    assert Decimal(some[0]["price"]) == last.price
    book = (await client.get("/api/v3/ticker/bookTicker", params={"symbol": "BTCUSDT"})).json()
    best_bid = sim.exchange.books["BTCUSDT"].best("BUY")
    assert Decimal(book["bidPrice"]) == best_bid[0] and Decimal(book["bidQty"]) == best_bid[1]
    assert await error_of(await client.get("/api/v3/ticker/price", params={
        "symbol": "BTCUSDT", "symbols": '["BTCUSDT"]'})) == (400, -1128)
    assert await error_of(await client.get("/api/v3/ticker/bookTicker", params={
        "symbol": "NOPE"})) == (400, -1121)
