"""MarketStreams against a small Binance-like server on 127.0.0.1 (tests/unit/stream_server.py)."""

from __future__ import annotations

import json
from functools import partial

import msgspec
import pytest
import trio
from trio_websocket import ConnectionClosed, WebSocketRequest, serve_websocket

from daemon.errors import TransportError
from daemon.venues.binance.models import BookTicker, Trade
from daemon.venues.binance.stream_settings import MarketStreamCounters
from daemon.venues.binance.streams import (
    Backoff,
    MarketStreams,
    StreamSettings,
    combined_stream_url,
    open_stream_connection,
    run_market_streams,
)
from daemon.venues.binance.transport import TRANSPORT_NAMES
from tests.unit.stream_server import StreamServer, trade

STREAMS = ["btcusdt@trade", "btcusdt@bookTicker"]
BOOK = {"u": 7, "s": "BTCUSDT", "b": "99.9", "B": "1", "a": "100.1", "A": "2"}


def settings(transport: str = "trio-websocket", **overrides) -> StreamSettings:
    values = dict(transport=transport, backoff_initial_s=0.01, backoff_cap_s=0.05,
                  live_grace_s=0.3, drain_timeout_s=0.5, control_timeout_s=2.0)
    values.update(overrides)
    return StreamSettings(**values)


async def receive_ids(recv: trio.MemoryReceiveChannel, count: int) -> list[int]:
    return [(await recv.receive()).trade_id for _ in range(count)]


@pytest.mark.parametrize("transport", TRANSPORT_NAMES)
async def test_reconnects_after_a_drop_and_survives_malformed_frames(transport: str) -> None:
    server = StreamServer()
    send, recv = trio.open_memory_channel(100)
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await server.start(nursery)
            counters = await nursery.start(partial(
                run_market_streams, server.url, STREAMS, send, settings=settings(transport)))
            assert isinstance(counters, MarketStreamCounters)
            first = server.connections[0]
            assert first.path == "/stream?streams=btcusdt@trade/btcusdt@bookTicker"
            server.publish("btcusdt@trade", trade(1))
            first.push('{"stream":"btcusdt@trade","data":{"e":"trade"}}')
            first.push("not json at all")
            server.publish("btcusdt@bookTicker", BOOK)
            first.drop()                                   # the connection drops mid-stream
            await server.wait_connections(2)
            server.publish("btcusdt@trade", trade(2))
            events = [await recv.receive() for _ in range(3)]
            assert [type(e) for e in events] == [Trade, BookTicker, Trade]
            assert [events[0].trade_id, events[2].trade_id] == [1, 2]
            assert (counters.decode_errors, counters.reconnects, counters.gaps_unrecovered) == (2, 1, 1)
            assert counters.connected and "1011" in counters.last_error
            nursery.cancel_scope.cancel()


class PublishedHistory:
    """The exchange's trade history as the test published it (what REST would answer)."""

    def __init__(self) -> None:
        self.trades: list[Trade] = []
        self.calls = 0

    def add(self, trade_id: int) -> None:
        self.trades.append(msgspec.convert(trade(trade_id), Trade))

    async def trades_after(self, symbol: str, last_id: int, limit: int = 1000) -> list[Trade]:
        self.calls += 1
        return [t for t in self.trades if t.trade_id > last_id][:limit]

    async def agg_trades_after(self, symbol: str, last_id: int, limit: int = 1000) -> list:
        raise AssertionError("no aggTrade stream here")


@pytest.mark.parametrize("transport", TRANSPORT_NAMES)
async def test_a_drop_mid_burst_is_backfilled_exactly_once(transport: str) -> None:
    server = StreamServer()
    history = PublishedHistory()
    send, recv = trio.open_memory_channel(1000)
    market = MarketStreams(server.url, send, settings=settings(transport), history=history)
    market.subscribe(["btcusdt@trade", "btcusdt@bookTicker"])

    def publish(trade_id: int) -> None:
        history.add(trade_id)
        server.publish("btcusdt@trade", trade(trade_id))

    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await server.start(nursery)
            market.stream_url = server.url
            await nursery.start(market.run)
            for trade_id in range(1, 11):
                publish(trade_id)
            server.connections[0].drop()
            for trade_id in range(11, 21):                 # published after the cut: lost
                publish(trade_id)                          # on the wire, kept by REST
            await server.wait_connections(2)
            for trade_id in range(21, 31):
                publish(trade_id)
            assert await receive_ids(recv, 30) == list(range(1, 31))
            counters = market.counters
            # 11..20 come from REST; so may 21..30 when REST answers after they were published
            assert 10 <= counters.backfilled <= 20 and counters.gaps_unrecovered == 0
            assert history.calls == 1 and counters.reconnects == 1
            nursery.cancel_scope.cancel()
    with pytest.raises(trio.WouldBlock):
        recv.receive_nowait()


@pytest.mark.parametrize("transport", TRANSPORT_NAMES)
async def test_a_stalled_stream_rotates_make_before_break_without_loss(transport: str) -> None:
    server = StreamServer()
    send, recv = trio.open_memory_channel(100)
    market = MarketStreams(server.url, send, settings=settings(
        transport, stall_timeouts_s={"trade": 0.4}))
    market.subscribe(["btcusdt@trade"])
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await server.start(nursery)
            market.stream_url = server.url
            await nursery.start(market.run)
            server.publish("btcusdt@trade", trade(1))
            assert await receive_ids(recv, 1) == [1]
            old = server.connections[0]
            old.muted = True                      # silent from now on, replies included
            await server.wait_connections(2)      # the watchdog opened a second connection
            assert not old.closed.is_set()        # ... and the first is still open
            published = 1

            async def publish_every_50ms() -> None:
                nonlocal published
                while True:
                    published += 1
                    server.publish("btcusdt@trade", trade(published))
                    await trio.sleep(0.05)

            async with trio.open_nursery() as publisher:
                publisher.start_soon(publish_every_50ms)
                await old.closed.wait()           # closed only after the hand-over
                publisher.cancel_scope.cancel()
            assert await receive_ids(recv, published - 1) == list(range(2, published + 1))
            assert market.counters.rotations == {"stall": 1}
            assert market.counters.stalls == 1 and "StreamStalled" in market.counters.last_error
            nursery.cancel_scope.cancel()


@pytest.mark.parametrize("reason", ["lifetime", "shutdown"])
async def test_planned_rotation_is_confirmed_and_exactly_once(reason: str) -> None:
    server = StreamServer()
    send, recv = trio.open_memory_channel(1000)
    lifetime = 0.6 if reason == "lifetime" else 3600.0
    market = MarketStreams(server.url, send, settings=settings(
        connection_lifetime_s=lifetime * 60, time_factor=60.0))
    market.subscribe(["btcusdt@trade"])
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await server.start(nursery)
            market.stream_url = server.url
            await nursery.start(market.run)
            published = 0

            async def publish_until_rotated() -> None:
                nonlocal published
                while len(server.connections) < 2 or not server.connections[0].closed.is_set():
                    published += 1
                    server.publish("btcusdt@trade", trade(published))
                    await trio.sleep(0.005)
                for _ in range(5):
                    published += 1
                    server.publish("btcusdt@trade", trade(published))

            if reason == "shutdown":
                server.connections[0].shutdown_notice()
            await publish_until_rotated()
            received = await receive_ids(recv, published)
            assert received == list(range(1, published + 1))
            assert len(server.connections) == 2 and server.connections[0].closed.is_set()
            assert market.counters.rotations == {reason: 1}
            assert market.counters.duplicates > 0   # the overlap was there, and refused
            assert market.counters.gaps_unrecovered == 0 and market.counters.backfilled == 0
            # the drain marker went to the old connection only
            assert [c["method"] for c in server.connections[0].controls] == ["LIST_SUBSCRIPTIONS"]
            nursery.cancel_scope.cancel()
    with pytest.raises(trio.WouldBlock):
        recv.receive_nowait()


async def test_live_subscribe_unsubscribe_split_across_connections() -> None:
    server = StreamServer()
    send, recv = trio.open_memory_channel(1000)
    market = MarketStreams(server.url, send, settings=settings(max_streams_per_connection=3))
    market.subscribe(["btcusdt@trade"])
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await server.start(nursery)
            market.stream_url = server.url
            await nursery.start(market.run)
            names = [f"s{n}usdt@trade" for n in range(1, 6)]
            market.subscribe(names)
            await market.wait_settled()
            assert len(server.live()) == 2
            first, second = server.live()
            assert first.streams == ["btcusdt@trade", "s1usdt@trade", "s2usdt@trade"]
            assert second.path == "/stream?streams=s3usdt@trade/s4usdt@trade/s5usdt@trade"
            market.unsubscribe(["s1usdt@trade", "s4usdt@trade", "nope@trade"])
            server.publish("s1usdt@trade", trade(1, "S1USDT"))   # may still be on its way
            await market.wait_settled()
            assert "s1usdt@trade" not in first.streams and "s4usdt@trade" not in second.streams
            for name in ("s1usdt@trade", "s2usdt@trade", "s4usdt@trade", "s5usdt@trade"):
                server.publish(name, trade(5, name.split("@")[0].upper()))
            got = {(await recv.receive()).symbol for _ in range(2)}
            assert got == {"S2USDT", "S5USDT"}
            market.unsubscribe(["s3usdt@trade", "s5usdt@trade"])
            await second.closed.wait()            # an emptied connection is closed
            assert len(server.live()) == 1
            market.subscribe(["s6usdt@trade"])    # goes to the connection with room
            await market.wait_settled()
            assert len(server.live()) == 1 and "s6usdt@trade" in server.live()[0].streams
            nursery.cancel_scope.cancel()
    with pytest.raises(ValueError):
        market.subscribe(["BTCUSDT@trade"])


async def test_control_messages_are_paced_per_connection() -> None:
    server = StreamServer()
    send, _recv = trio.open_memory_channel(10)
    market = MarketStreams(server.url, send, settings=settings(
        subscribe_batch=1, control_messages_per_s=2))
    market.subscribe(["btcusdt@trade"])
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await server.start(nursery)
            market.stream_url = server.url
            await nursery.start(market.run)
            market.subscribe([f"s{n}usdt@trade" for n in range(1, 6)])
            await market.wait_settled()
            times = server.connections[0].control_times
            assert len(times) == 5
            # never more than 2 in any one-second window (a little slack for the clocks)
            assert all(later - earlier >= 0.98 for earlier, later in zip(times, times[2:]))
            nursery.cancel_scope.cancel()


async def test_an_unanswered_subscribe_replaces_the_connection() -> None:
    server = StreamServer()
    send, recv = trio.open_memory_channel(100)
    market = MarketStreams(server.url, send, settings=settings(control_timeout_s=0.3))
    market.subscribe(["btcusdt@trade"])
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await server.start(nursery)
            market.stream_url = server.url
            await nursery.start(market.run)
            server.connections[0].muted = True       # no reply to anything from now on
            market.subscribe(["ethusdt@trade"])
            await market.wait_settled()
            assert market.counters.rotations == {"control": 1}
            assert server.connections[1].path == "/stream?streams=btcusdt@trade/ethusdt@trade"
            server.publish("ethusdt@trade", trade(7, "ETHUSDT"))
            assert (await recv.receive()).trade_id == 7
            nursery.cancel_scope.cancel()


async def test_streams_beyond_the_url_budget_are_subscribed_after_connecting() -> None:
    server = StreamServer()
    send, _recv = trio.open_memory_channel(10)
    names = [f"sym{n}usdt@bookTicker" for n in range(6)]
    market = MarketStreams(server.url, send, settings=settings(url_max_chars=80, subscribe_batch=2))
    market.subscribe(names)
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await server.start(nursery)
            market.stream_url = server.url
            await nursery.start(market.run)
            await market.wait_settled()
            only = server.connections[0]
            in_url = only.path.split("streams=", 1)[1].split("/")
            assert 1 <= len(in_url) < len(names) and len(server.connections) == 1
            assert [c["params"] for c in only.controls] == [
                names[i:i + 2] for i in range(len(in_url), len(names), 2)]
            assert sorted(only.streams) == sorted(names)
            nursery.cancel_scope.cancel()


async def test_a_failing_tap_is_logged_and_the_feed_goes_on(caplog) -> None:
    server = StreamServer()
    send, recv = trio.open_memory_channel(10)
    seen: list[int] = []

    def tap(event: Trade) -> None:
        seen.append(event.trade_id)
        if event.trade_id == 1:
            raise RuntimeError("bug in a tap")

    market = MarketStreams(server.url, send, settings=settings(), on_event=tap)
    market.subscribe(["btcusdt@trade"])
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await server.start(nursery)
            market.stream_url = server.url
            await nursery.start(market.run)
            server.publish("btcusdt@trade", trade(1))
            server.publish("btcusdt@trade", trade(2))
            assert await receive_ids(recv, 2) == [1, 2] and seen == [1, 2]
            assert market.counters.tap_errors == 1
            assert any("stream.tap_error" in r.getMessage() and r.exc_info for r in caplog.records)
            nursery.cancel_scope.cancel()


async def test_a_refused_stream_is_dropped_and_logged() -> None:
    server = StreamServer()
    server.refuse = {"bad@trade"}
    send, _recv = trio.open_memory_channel(10)
    market = MarketStreams(server.url, send, settings=settings())
    market.subscribe(["btcusdt@trade"])
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await server.start(nursery)
            market.stream_url = server.url
            await nursery.start(market.run)
            market.subscribe(["bad@trade"])
            await market.wait_settled()
            assert market.streams == ["btcusdt@trade"] and market.counters.refused == 1
            assert len(server.connections) == 1
            nursery.cancel_scope.cancel()


async def test_retries_until_the_first_connect_succeeds() -> None:
    server = StreamServer()
    server.reject_next = 2
    send, _recv = trio.open_memory_channel(10)
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await server.start(nursery)
            counters = await nursery.start(partial(
                run_market_streams, server.url, STREAMS, send, settings=settings()))
            assert len(server.connections) == 1 and counters.reconnects == 0
            assert "ConnectionRejected" in counters.last_error
            nursery.cancel_scope.cancel()


async def test_stops_quietly_when_the_consumer_closes_its_channel() -> None:
    server = StreamServer()
    send, recv = trio.open_memory_channel(0)
    market = MarketStreams(server.url, send, settings=settings())
    market.subscribe(["btcusdt@trade"])
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await server.start(nursery)
            market.stream_url = server.url
            done = trio.Event()

            async def stream(task_status=trio.TASK_STATUS_IGNORED) -> None:
                await market.run(task_status=task_status)
                done.set()

            await nursery.start(stream)
            for trade_id in range(1, 50):
                server.publish("btcusdt@trade", trade(trade_id))
            assert (await recv.receive()).trade_id == 1
            await recv.aclose()
            await done.wait()          # returned by itself, no cancellation needed
            nursery.cancel_scope.cancel()


@pytest.mark.parametrize("transport", TRANSPORT_NAMES)
async def test_pongs_go_out_while_the_consumer_is_stuck(transport: str) -> None:
    """The server pings after a burst the consumer never reads: the pong must come anyway."""
    pong_seen = trio.Event()

    async def handler(request: WebSocketRequest) -> None:
        ws = await request.accept()
        frame = json.dumps({"stream": "btcusdt@trade", "data": trade(1)})
        for _ in range(3000):
            await ws.send_message(frame)
        with trio.fail_after(3):
            await ws.ping(b"are you there")
        pong_seen.set()
        try:
            await ws.get_message()
        except ConnectionClosed:
            pass

    send, _recv = trio.open_memory_channel(0)   # nobody ever receives
    market = MarketStreams("ws://127.0.0.1:1", send, settings=settings(transport))
    market.subscribe(["btcusdt@trade"])
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            server = await nursery.start(serve_websocket, handler, "127.0.0.1", 0, None)
            market.stream_url = f"ws://127.0.0.1:{server.port}"
            nursery.start_soon(market.run)
            await pong_seen.wait()
            assert market.counters.overflows == 0
            nursery.cancel_scope.cancel()


async def test_a_consumer_far_behind_makes_the_link_lossy_and_it_is_replaced() -> None:
    server = StreamServer()
    send, recv = trio.open_memory_channel(0)
    market = MarketStreams(server.url, send, settings=settings(buffer_frames=5))
    market.subscribe(["btcusdt@trade"])
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await server.start(nursery)
            market.stream_url = server.url
            await nursery.start(market.run)
            for trade_id in range(1, 200):
                server.publish("btcusdt@trade", trade(trade_id))
            await server.wait_connections(2)
            assert market.counters.overflows > 0 and market.counters.rotations["lossy"] >= 1
            assert (await recv.receive()).trade_id == 1
            nursery.cancel_scope.cancel()


def test_backoff_grows_with_jitter_up_to_the_cap() -> None:
    low, high = Backoff(initial_s=1, cap_s=30, rng=lambda: 0.0), Backoff(1, 30, rng=lambda: 1.0)
    assert [low.next_delay() for _ in range(7)] == [0.5, 1, 2, 4, 8, 15, 15]
    assert [high.next_delay() for _ in range(7)] == [1, 2, 4, 8, 16, 30, 30]
    high.reset()
    assert high.next_delay() == 1


def test_combined_url_validates_the_stream_list() -> None:
    assert combined_stream_url("ws://h:1/", ["a@trade", "b@trade"]) == "ws://h:1/stream?streams=a@trade/b@trade"
    with pytest.raises(ValueError):
        combined_stream_url("ws://h:1", [])
    with pytest.raises(ValueError):
        combined_stream_url("ws://h:1", [f"s{i}@trade" for i in range(1025)])


def test_settings_refuse_what_binance_would_punish() -> None:
    with pytest.raises(ValueError, match="control_messages_per_s"):
        StreamSettings(control_messages_per_s=6)
    with pytest.raises(ValueError, match="max_streams_per_connection"):
        StreamSettings(max_streams_per_connection=1025)
    with pytest.raises(ValueError, match="transport"):
        StreamSettings(transport="curl")
    assert StreamSettings(connection_lifetime_s=86_400, time_factor=1440).lifetime_real_s == 60


async def test_a_silent_handshake_times_out_as_a_transport_error() -> None:
    """A server that accepts TCP but never answers the upgrade request."""

    async def mute(stream: trio.SocketStream) -> None:
        await trio.sleep_forever()

    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            listeners = await nursery.start(partial(trio.serve_tcp, mute, 0, host="127.0.0.1"))
            port = listeners[0].socket.getsockname()[1]
            with pytest.raises(TransportError, match="handshake"):
                async with open_stream_connection(f"ws://127.0.0.1:{port}/stream?streams=a@trade",
                                                  connect_timeout_s=0.2):
                    pytest.fail("must not connect")
            nursery.cancel_scope.cancel()


async def test_the_first_version_signature_still_streams(nursery) -> None:
    """app.py calls run_market_streams(url, streams, send); keep that working."""
    server = await StreamServer().start(nursery)
    send, recv = trio.open_memory_channel(10)
    with trio.fail_after(10):
        await nursery.start(run_market_streams, server.url, ["btcusdt@trade"], send)
        server.publish("btcusdt@trade", trade(42))
        assert (await recv.receive()).trade_id == 42
    nursery.cancel_scope.cancel()


