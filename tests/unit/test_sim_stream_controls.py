"""Control messages and connection limits without sockets: the seed's error table, wrapped."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
import trio

from sim.accounts import AccountRegistry
from sim.hub import EventHub
from sim.stream_controls import handle_control
from sim.stream_limits import IncomingRate, StreamLimits
from sim.streams import Connection, StreamRouter
from sim.userdata import ListenKeys

METHODS = "`SUBSCRIBE`, `UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`, `SET_PROPERTY`, `GET_PROPERTY`"


def connection(**limits) -> Connection:
    keys = ListenKeys(time_factor=1.0, seed=7, clock=lambda: 0.0)
    AccountRegistry().add("K", "S", {"USDT": Decimal(1)}, maker_rate=Decimal(0), taker_rate=Decimal(0))
    router = StreamRouter(EventHub(), keys, {"BTCUSDT", "ETHUSDT"}, limits=StreamLimits(**limits))
    return Connection(router, combined=False, max_pending=100)


def frames(conn: Connection) -> list[bytes]:
    out = []
    while True:
        try:
            out.append(conn.outgoing.receive_nowait())
        except trio.WouldBlock:
            return out


def ask(conn: Connection, request) -> dict:
    handle_control(conn, request if isinstance(request, str) else json.dumps(request))
    (answer,) = frames(conn)
    return json.loads(answer)


@pytest.mark.parametrize(("request_", "answer"), [
    ('{"method": "SUBSCRIBE", "params": ["btcusdt@trade"], "id": 1',
     {"error": {"code": 3, "msg": "Invalid JSON: expected value at line 1 column 60"}, "id": None}),
    ('{"params": [], "id": 4}',
     {"error": {"code": 2, "msg": "Invalid request: missing field `method` at line 1 column 23"},
      "id": None}),
    ('{"method": "PING", "id": 3}',
     {"error": {"code": 2, "msg": f"Invalid request: unknown variant `PING`, expected one of {METHODS} "
                                  "at line 1 column 17"}, "id": None}),
    ({"method": "SUBSCRIBE", "params": ["btcusdt@trade"]},
     {"error": {"code": 2, "msg": "Invalid request: request ID must be an unsigned integer"}, "id": None}),
    ({"method": "SUBSCRIBE", "params": ["btcusdt@trade"], "id": 1.5},
     {"error": {"code": 2, "msg": "Invalid request: request ID must be an unsigned integer"}, "id": None}),
    ({"method": "SUBSCRIBE", "params": ["btcusdt@trade"], "id": "x" * 37},
     {"error": {"code": 2, "msg": "Invalid request: request ID must be an unsigned integer"}, "id": None}),
    ({"method": "SUBSCRIBE", "params": ["bad name!"], "id": 2},
     {"error": {"code": 2, "msg": "Invalid request: invalid stream"}, "id": 2}),
    ({"method": "SET_PROPERTY", "params": ["combined", True, 1], "id": 5},
     {"error": {"code": 2, "msg": "Invalid request: too many parameters"}, "id": 5}),
    ({"method": "GET_PROPERTY", "params": ["combined", "x"], "id": 5},
     {"error": {"code": 2, "msg": "Invalid request: too many parameters"}, "id": 5}),
    ({"method": "GET_PROPERTY", "params": [], "id": 6},
     {"error": {"code": 2, "msg": "Invalid request: property name must be a string"}, "id": 6}),
    ({"method": "SET_PROPERTY", "params": [7, True], "id": 6},
     {"error": {"code": 2, "msg": "Invalid request: property name must be a string"}, "id": 6}),
    ({"method": "GET_PROPERTY", "params": ["colour"], "id": 7},
     {"error": {"code": 0, "msg": "Unknown property"}, "id": 7}),
    ({"method": "SET_PROPERTY", "params": ["combined", "yes"], "id": 8},
     {"error": {"code": 1, "msg": "Invalid value type: expected Boolean"}, "id": 8}),
    ({"method": "SET_PROPERTY", "params": ["combined"], "id": 8},
     {"error": {"code": 1, "msg": "Invalid value type: expected Boolean"}, "id": 8}),
])
def test_error_table(request_, answer):
    assert ask(connection(), request_) == answer


def test_successful_requests_and_accepted_ids():
    conn = connection()
    assert ask(conn, {"method": "SUBSCRIBE", "params": ["btcusdt@depth@100ms", "!ticker@arr"],
                      "id": 1}) == {"result": None, "id": 1}
    assert ask(conn, {"method": "SUBSCRIBE", "params": ["ethusdt@kline_1h"], "id": "abc123"}) == {
        "result": None, "id": "abc123"}
    assert ask(conn, {"method": "LIST_SUBSCRIPTIONS", "id": None}) == {
        "result": ["btcusdt@depth@100ms", "!ticker@arr", "ethusdt@kline_1h"], "id": None}
    assert ask(conn, {"method": "UNSUBSCRIBE", "params": ["!ticker@arr"], "id": 2**64 - 1}) == {
        "result": None, "id": 2**64 - 1}
    assert ask(conn, {"method": "GET_PROPERTY", "params": ["combined"], "id": 3}) == {
        "result": False, "id": 3}
    assert ask(conn, {"method": "SET_PROPERTY", "params": ["combined", True], "id": 4}) == {
        "result": None, "id": 4}
    conn.router.hub.publish("btcusdt@depth@100ms", {"e": "depthUpdate"})
    (frame,) = frames(conn)
    assert frame == b'{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate"}}'


def test_the_streams_limit_refuses_a_whole_request():
    conn = connection(max_streams=3)
    assert ask(conn, {"method": "SUBSCRIBE", "params": ["btcusdt@trade", "btcusdt@ticker"],
                      "id": 1}) == {"result": None, "id": 1}
    refused = ask(conn, {"method": "SUBSCRIBE", "params": ["ethusdt@trade", "ethusdt@ticker"],
                         "id": 2})
    assert refused["error"]["code"] == 2 and "too many streams" in refused["error"]["msg"]
    assert refused["id"] == 2
    assert conn.subscriptions() == ["btcusdt@trade", "btcusdt@ticker"]
    # Re-subscribing a stream already held does not count twice.
    assert ask(conn, {"method": "SUBSCRIBE", "params": ["btcusdt@trade", "ethusdt@trade"],
                      "id": 3}) == {"result": None, "id": 3}


def test_incoming_rate_is_a_sliding_second():
    now = [0.0]
    rate = IncomingRate(5, clock=lambda: now[0])
    assert all(rate.allow() for _ in range(5))
    now[0] = 0.5
    assert not rate.allow()
    now[0] = 1.6  # the first five are more than a second old
    assert rate.allow()


async def test_too_many_messages_close_the_connection():
    conn = connection(max_incoming_per_s=2)
    for _ in range(2):
        conn.count_incoming("message")
    assert conn.close_reason is None
    conn.count_incoming("ping")
    assert (conn.close_reason, conn.close_code) == ("too many messages", 1008)


def test_server_shutdown_event_raw_and_combined():
    raw = connection()
    raw.notify_shutdown(123)
    raw.finish("server shutdown", code=1001)
    assert frames(raw) == [b'{"e":"serverShutdown","E":123}', b""]
    combined = connection()
    combined.combined = True
    combined.notify_shutdown(5)
    assert frames(combined) == [b'{"stream":"!serverShutdown","data":{"e":"serverShutdown","E":5}}']


async def test_server_shutdown_sends_the_event_then_closes_after_the_grace():
    conn = connection()
    async with trio.open_nursery() as nursery:
        conn.nursery = nursery
        assert conn.server_shutdown(7, grace_s=0.2) is True
        assert frames(conn) == [b'{"e":"serverShutdown","E":7}']  # notice only, still open
        assert conn.close_reason is None
        conn.reply({"result": None, "id": 1})  # the connection still serves in the grace
        await trio.sleep(0.25)
    assert frames(conn) == [b'{"result":null,"id":1}', b""]
    assert (conn.close_reason, conn.close_code) == ("server shutdown", 1001)
    assert conn.server_shutdown(8, grace_s=0) is False  # already closing: nothing more


def test_server_shutdown_of_the_router_chooses_by_kind():
    market = connection()
    router = market.router
    user = Connection(router, combined=False, max_pending=100)
    user.listen_keys.add("somekey")  # a listenKey stream: lossless, "user"
    router._connections.update({market, user})
    assert router.server_shutdown(0, kind="market") == 1
    assert (market.close_code, user.close_reason) == (1001, None)
    assert router.server_shutdown(0, kind="all") == 1  # market is already closing
    sent = frames(user)
    assert b'"e":"serverShutdown"' in sent[0] and sent[1:] == [b""]
    assert user.close_code == 1001


def test_limits_are_checked():
    with pytest.raises(ValueError):
        StreamLimits(ping_interval_s=0)
    with pytest.raises(ValueError):
        StreamLimits(max_streams=0)
    with pytest.raises(ValueError):
        StreamLimits(lifetime_s=-1)
    assert StreamLimits(pong_timeout_s=60).watch_interval_s == 1.0
    assert StreamLimits(pong_timeout_s=2).watch_interval_s == 0.2


async def test_queued_counts_every_frame_the_writer_will_take():
    conn = connection()
    conn.subscribe("btcusdt@trade")
    conn.router.hub.publish("btcusdt@trade", {"t": 1})
    handle_control(conn, json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 1}))
    conn.notify_shutdown(1)
    conn.finish("bye", code=1001)
    assert conn.queued == len(frames(conn)) == 4
