"""Market streams over real loopback sockets: every stream, the local-book procedure, limits.

Clients are ``websockets.trio`` (the server closes many of these sockets, which
trio-websocket 0.12 would leak) and, where a client must *not* answer pings, a
bare wsproto client over a trio TCP stream.
"""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
import pytest
import trio
from websockets.exceptions import ConnectionClosed
from websockets.trio.client import connect
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, CloseConnection, Ping, Request, TextMessage

from sim import SimConfig, run_simulator

WAIT_S = 15


def ws_connect(url: str, **kwargs):
    return connect(url, proxy=None, compression=None, **kwargs)


async def recv_json(ws, timeout: float = WAIT_S):
    with trio.fail_after(timeout):
        return json.loads(await ws.recv())


async def closed_code(ws, timeout: float = WAIT_S) -> int:
    """Read until the server closes; its close code."""
    with trio.fail_after(timeout):
        with pytest.raises(ConnectionClosed):
            while True:
                await ws.recv()
    return ws.close_code


def as_book(levels: dict) -> dict[str, dict[Decimal, Decimal]]:
    return {side: {Decimal(p): Decimal(q) for p, q in levels[side]} for side in ("bids", "asks")}


async def start(nursery, **knobs):
    knobs.setdefault("participant_interval_ms", 20)
    return await nursery.start(run_simulator, SimConfig(**knobs))


async def test_local_order_book_procedure_matches_rest_depth(nursery):
    """The seed's "How to manage a local order book correctly", step by step, over the wire."""
    sim = await start(nursery)
    async with ws_connect(f"{sim.stream_url}/ws/ethusdt@depth@100ms") as ws, \
            httpx.AsyncClient(base_url=sim.rest_url, timeout=10) as http:
        buffered = [await recv_json(ws)]  # 1-2: open the stream, buffer, note the first U
        with trio.fail_after(WAIT_S):  # 3-4: a snapshot no older than that U
            while True:
                snapshot = (await http.get("/api/v3/depth",
                                           params={"symbol": "ETHUSDT", "limit": "5000"})).json()
                if snapshot["lastUpdateId"] >= buffered[0]["U"]:
                    break
                buffered.append(await recv_json(ws))
        local, book_id = as_book(snapshot), snapshot["lastUpdateId"]
        applied = 0

        def apply(event: dict) -> None:
            nonlocal book_id, applied
            if event["u"] <= book_id:  # 5: older than the snapshot
                return
            assert event["U"] <= book_id + 1, "missed events"  # the update procedure's gap check
            if applied:
                assert event["U"] == book_id + 1
            for side, key in (("bids", "b"), ("asks", "a")):
                for price, qty in event[key]:
                    if Decimal(qty) == 0:
                        local[side].pop(Decimal(price), None)
                    else:
                        local[side][Decimal(price)] = Decimal(qty)
            book_id = event["u"]
            applied += 1

        for event in buffered:
            apply(event)
        with trio.move_on_after(1.0):  # a second of live updates
            while True:
                apply(await recv_json(ws))
        sim.exchange.pause_market()
        final_id = sim.exchange.books["ETHUSDT"].update_id
        while book_id < final_id:
            apply(await recv_json(ws))
        assert book_id == final_id and applied >= 5
        rest = (await http.get("/api/v3/depth", params={"symbol": "ETHUSDT", "limit": "5000"})).json()
        assert rest["lastUpdateId"] == book_id
        assert local == as_book(rest)
    sim.shutdown()


async def test_every_market_stream_on_one_combined_connection(nursery):
    sim = await start(nursery, stream_stats_interval_s=0.2, taker_probability=1.0)
    names = ["btcusdt@trade", "btcusdt@aggTrade", "btcusdt@kline_1m", "btcusdt@miniTicker",
             "btcusdt@ticker", "btcusdt@bookTicker", "btcusdt@depth5@100ms", "btcusdt@depth10",
             "btcusdt@depth@100ms", "btcusdt@depth", "!ticker@arr", "!miniTicker@arr", "!bookTicker"]
    seen: dict[str, object] = {}
    async with ws_connect(f"{sim.stream_url}/stream?streams={'/'.join(names)}") as ws:
        with trio.fail_after(WAIT_S):
            while len(seen) < len(names):
                envelope = json.loads(await ws.recv())
                assert set(envelope) == {"stream", "data"}
                seen.setdefault(envelope["stream"], envelope["data"])
    fields = {
        "btcusdt@trade": {"e", "E", "s", "t", "p", "q", "T", "m", "M"},
        "btcusdt@aggTrade": {"e", "E", "s", "a", "p", "q", "f", "l", "T", "m", "M"},
        "btcusdt@kline_1m": {"e", "E", "s", "k"},
        "btcusdt@miniTicker": {"e", "E", "s", "c", "o", "h", "l", "v", "q"},
        "btcusdt@ticker": {"e", "E", "s", "p", "P", "w", "x", "c", "Q", "b", "B", "a", "A", "o",
                           "h", "l", "v", "q", "O", "C", "F", "L", "n"},
        "btcusdt@bookTicker": {"u", "s", "b", "B", "a", "A"},
        "btcusdt@depth5@100ms": {"lastUpdateId", "bids", "asks"},
        "btcusdt@depth10": {"lastUpdateId", "bids", "asks"},
        "btcusdt@depth@100ms": {"e", "E", "s", "U", "u", "b", "a"},
        "btcusdt@depth": {"e", "E", "s", "U", "u", "b", "a"},
        "!bookTicker": {"u", "s", "b", "B", "a", "A"},
    }
    for name, expected in fields.items():
        assert expected <= set(seen[name]), name  # trade also carries the seed's "b" and "a"
    assert set(seen["btcusdt@kline_1m"]["k"]) == {"t", "T", "s", "i", "f", "L", "o", "c", "h", "l",
                                                  "v", "n", "x", "q", "V", "Q", "B"}
    assert len(seen["btcusdt@depth5@100ms"]["bids"]) == 5
    # Ten levels quoted per side; a taker may have eaten one or two since the last re-quote.
    assert 7 <= len(seen["btcusdt@depth10"]["asks"]) <= 10
    assert seen["!ticker@arr"][0]["e"] == "24hrTicker"
    assert seen["!miniTicker@arr"][0]["e"] == "24hrMiniTicker"
    assert seen["btcusdt@ticker"]["s"] == "BTCUSDT"
    sim.shutdown()


async def test_klines_close_on_the_market_clock(nursery):
    sim = await start(nursery, time_factor=60, stream_stats_interval_s=0.25, taker_probability=1.0)
    async with ws_connect(f"{sim.stream_url}/ws/ethusdt@kline_1m") as ws:
        with trio.fail_after(WAIT_S):
            closed = []
            while len(closed) < 2:
                kline = json.loads(await ws.recv())["k"]
                if kline["x"]:
                    closed.append(kline)
    assert closed[1]["t"] == closed[0]["t"] + 60_000
    assert closed[0]["n"] >= 1 and closed[0]["i"] == "1m"
    sim.shutdown()


async def test_a_closed_stream_kline_equals_the_rest_kline_at_time_factor_60(nursery):
    """One market clock: REST ``klines`` of an open time shows what the stream closed."""
    sim = await start(nursery, time_factor=60, stream_stats_interval_s=0.25, taker_probability=1.0)
    async with ws_connect(f"{sim.stream_url}/ws/btcusdt@kline_1m") as ws:
        with trio.fail_after(WAIT_S):
            closed = []
            while len(closed) < 2:  # the first may have opened before the subscription
                kline = json.loads(await ws.recv())["k"]
                if kline["x"] and kline["n"] > 0:
                    closed.append(kline)
    async with httpx.AsyncClient(base_url=sim.rest_url) as http:
        for k in closed:
            rows = (await http.get("/api/v3/klines", params={
                "symbol": "BTCUSDT", "interval": "1m", "startTime": k["t"], "limit": 1})).json()
            assert rows == [[k["t"], k["o"], k["h"], k["l"], k["c"], k["v"], k["T"], k["q"],
                             k["n"], k["V"], k["Q"], "0"]]
        ticker = (await http.get("/api/v3/ticker/24hr", params={"symbol": "BTCUSDT"})).json()
    # The 24-hour window is market time as well: it ends past the klines just closed.
    assert ticker["closeTime"] > closed[-1]["T"]
    assert ticker["closeTime"] - ticker["openTime"] == 86_400_000
    sim.shutdown()


async def test_live_subscribe_and_combined_property_over_the_wire(nursery):
    sim = await start(nursery)
    async with ws_connect(f"{sim.stream_url}/ws") as ws:
        await ws.send(json.dumps({"method": "SUBSCRIBE", "params": ["btcusdt@depth5@100ms"], "id": 1}))
        answer = await recv_json(ws)
        assert answer == {"result": None, "id": 1}
        assert set(await recv_json(ws)) == {"lastUpdateId", "bids", "asks"}
        await ws.send(json.dumps({"method": "SET_PROPERTY", "params": ["combined", True], "id": 2}))
        with trio.fail_after(WAIT_S):
            while (message := json.loads(await ws.recv())).get("id") != 2:
                pass
        assert message == {"result": None, "id": 2}
        wrapped = await recv_json(ws)
        assert wrapped["stream"] == "btcusdt@depth5@100ms"
        await ws.send(json.dumps({"method": "SUBSCRIBE", "params": ["x y"], "id": 3}))
        with trio.fail_after(WAIT_S):
            while "error" not in (message := json.loads(await ws.recv())):
                pass
        assert message == {"error": {"code": 2, "msg": "Invalid request: invalid stream"}, "id": 3}
    sim.shutdown()


async def test_a_client_that_answers_pings_stays_and_one_that_does_not_is_dropped(nursery):
    sim = await start(nursery, stream_ping_interval_s=0.3, stream_pong_timeout_s=0.8)
    host, port = sim.stream_url.removeprefix("ws://").rsplit(":", 1)
    async with ws_connect(f"{sim.stream_url}/ws/btcusdt@bookTicker", ping_interval=None) as good:
        # The bare client below never answers; it is closed, the polite one is not.
        stream = await trio.open_tcp_stream(host, int(port))
        async with stream:
            client = WSConnection(ConnectionType.CLIENT)
            await stream.send_all(client.send(Request(host=f"{host}:{port}", target="/ws/btcusdt@trade")))
            pings = 0
            close_code = None
            with trio.fail_after(WAIT_S):
                while close_code is None:
                    data = await stream.receive_some(65536)
                    if not data:
                        break
                    client.receive_data(data)
                    for event in client.events():
                        if isinstance(event, Ping):
                            pings += 1  # and no pong
                        elif isinstance(event, CloseConnection):
                            close_code = event.code
                        else:
                            assert isinstance(event, AcceptConnection | TextMessage)
            assert close_code == 1008 and pings >= 2
        with trio.move_on_after(0.3):
            while True:
                await good.recv()
        assert good.close_code is None  # still open, well past the pong timeout
    sim.shutdown()


async def test_more_than_five_messages_a_second_close_the_connection(nursery):
    sim = await start(nursery)
    async with ws_connect(f"{sim.stream_url}/ws/btcusdt@trade", ping_interval=None) as ws:
        for n in range(5):
            await ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": n}))
        await ws.ping()  # pings count too: the sixth message
        assert await closed_code(ws) == 1008
    sim.shutdown()


async def test_streams_limit_on_the_url(nursery):
    sim = await start(nursery, stream_max_streams=2)
    url = f"{sim.stream_url}/stream?streams=btcusdt@trade/btcusdt@ticker/ethusdt@trade"
    async with ws_connect(url) as ws:
        assert await closed_code(ws) == 1008
        assert ws.close_reason == "too many streams"
    sim.shutdown()


async def test_the_connection_lifetime_is_a_scaled_day(nursery):
    sim = await start(nursery, time_factor=86_400 / 0.5)  # a day lasts half a second
    async with ws_connect(f"{sim.stream_url}/ws/btcusdt@trade") as ws:
        with trio.fail_after(5):
            assert await closed_code(ws) == 1001
    assert ws.close_reason == "connection lifetime over"
    sim.shutdown()


async def test_server_shutdown_event_then_close_and_a_prompt_stop():
    """``serverShutdown``, close 1001, and the server is gone long before its grace period."""
    async with trio.open_nursery() as nursery:
        sim = await start(nursery, graceful_timeout_s=5.0, stream_ping_interval_s=20.0)
        async with ws_connect(f"{sim.stream_url}/stream?streams=btcusdt@trade") as ws:
            stopping = trio.current_time()
            sim.shutdown()
            with trio.fail_after(WAIT_S):
                while (envelope := json.loads(await ws.recv()))["stream"] != "!serverShutdown":
                    pass
            assert envelope["data"]["e"] == "serverShutdown"
            assert await closed_code(ws) == 1001
    # No task of the closed connection (such as its ping timer) holds the server up.
    assert trio.current_time() - stopping < 1.0


@pytest.mark.parametrize("compression", [None, "deflate"])
async def test_a_busy_feed_arrives_complete_and_in_order(nursery, compression):
    """Frames are written in batches (by hand, or by wsproto when deflate is on): none lost."""
    sim = await start(nursery, participant_interval_ms=2, takers_per_step=6, taker_probability=1.0)
    url = f"{sim.stream_url}/stream?streams=btcusdt@trade/btcusdt@aggTrade/ethusdt@trade"
    last: dict[str, int] = {}
    count = 0
    async with connect(url, proxy=None, compression=compression, max_queue=None) as ws:
        assert (ws.response.headers.get("sec-websocket-extensions") is not None) == bool(compression)
        await trio.sleep(0.3)  # let a backlog build up: the writer then sends batches
        with trio.fail_after(WAIT_S):
            while count < 600:
                envelope = json.loads(await ws.recv())
                data = envelope["data"]
                key, ident = (envelope["stream"], data["a"] if data["e"] == "aggTrade" else data["t"])
                assert ident == last.get(key, ident - 1) + 1, key  # consecutive ids: nothing lost
                last[key] = ident
                count += 1
    sim.shutdown()


async def test_agg_trades_and_closed_klines_agree_with_rest(nursery):
    """What a client fills a stream gap with (REST) is what the stream said."""
    sim = await start(nursery, taker_probability=1.0, stream_stats_interval_s=0.2)
    url = f"{sim.stream_url}/stream?streams=btcusdt@aggTrade/btcusdt@kline_1s"
    aggs: list[dict] = []
    closed: list[dict] = []
    async with ws_connect(url) as ws, httpx.AsyncClient(base_url=sim.rest_url, timeout=10) as http:
        with trio.fail_after(WAIT_S):
            while len(closed) < 2 or len(aggs) < 10:
                envelope = json.loads(await ws.recv())
                if envelope["stream"] == "btcusdt@aggTrade":
                    aggs.append(envelope["data"])
                elif envelope["data"]["k"]["x"] and envelope["data"]["k"]["n"]:
                    closed.append(envelope["data"]["k"])
        rest_aggs = (await http.get("/api/v3/aggTrades", params={
            "symbol": "BTCUSDT", "fromId": str(aggs[0]["a"]), "limit": str(len(aggs))})).json()
        assert rest_aggs == [{key: agg[key] for key in ("a", "p", "q", "f", "l", "T", "m", "M")}
                             for agg in aggs]
        rows = (await http.get("/api/v3/klines", params={
            "symbol": "BTCUSDT", "interval": "1s", "startTime": str(closed[0]["t"]),
            "endTime": str(closed[-1]["T"])})).json()
        by_open = {row[0]: row for row in rows}
        for kline in closed:
            row = by_open[kline["t"]]
            assert [row[1], row[2], row[3], row[4], row[5], row[6], row[8]] == [
                kline["o"], kline["h"], kline["l"], kline["c"], kline["v"], kline["T"], kline["n"]]
    sim.shutdown()


async def test_the_depth_gap_fault_reaches_the_diff_stream(nursery):
    sim = await start(nursery)
    async with ws_connect(f"{sim.stream_url}/ws/ethusdt@depth@100ms") as ws:
        previous = await recv_json(ws)
        sim.faults.depth_gap("ETHUSDT")
        with trio.fail_after(WAIT_S):
            while (event := await recv_json(ws))["U"] == previous["u"] + 1:
                previous = event
        assert event["U"] > previous["u"] + 1  # a client must notice and re-sync
        assert sim.feed.depth.events_dropped == 1
        following = await recv_json(ws)
        assert following["U"] == event["u"] + 1  # and the chain goes on from there
    sim.shutdown()
