"""Stream connections without sockets: routing, lossless user queues, slow consumers, controls."""

from __future__ import annotations

import json
from decimal import Decimal

import trio

from sim.accounts import AccountRegistry
from sim.hub import EventHub, user_topic
from sim.streams import Connection, StreamRouter, handle_control
from sim.userdata import ListenKeys


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def setup(clock=None):
    hub = EventHub()
    keys = ListenKeys(time_factor=1.0, seed=7, clock=clock or FakeClock())
    accounts = AccountRegistry()
    account = accounts.add("K", "S", {"USDT": Decimal(1)}, maker_rate=Decimal(0), taker_rate=Decimal(0))
    router = StreamRouter(hub, keys, {"BTCUSDT"}, max_pending=3)
    return hub, keys, account, router


def drain(connection: Connection) -> list[bytes]:
    frames = []
    while True:
        try:
            frames.append(connection.outgoing.receive_nowait())
        except trio.WouldBlock:
            return frames


async def test_raw_and_combined_framing():
    hub, _, _, router = setup()
    raw = Connection(router, combined=False, max_pending=10)
    combined = Connection(router, combined=True, max_pending=10)
    for connection in (raw, combined):
        connection.subscribe("btcusdt@trade")
    hub.publish("btcusdt@trade", {"e": "trade", "t": 1})
    assert drain(raw) == [b'{"e":"trade","t":1}']
    assert json.loads(drain(combined)[0]) == {"stream": "btcusdt@trade", "data": {"e": "trade", "t": 1}}


async def test_unknown_but_well_formed_streams_produce_nothing():
    hub, _, _, router = setup()
    connection = Connection(router, combined=False, max_pending=10)
    for name in ("dogeusdt@trade", "btcusdt@depth7", "btcusdt@kline_2m", "BTCUSDT@trade"):
        connection.subscribe(name)
    assert connection.labels == {}
    hub.publish("btcusdt@trade", {"e": "trade"})
    assert drain(connection) == []


async def test_slow_market_consumer_is_cut_but_user_stream_is_lossless():
    hub, keys, account, router = setup()
    market = Connection(router, combined=False, max_pending=3)
    market.subscribe("btcusdt@trade")
    for n in range(5):
        hub.publish("btcusdt@trade", {"t": n})
    assert market.close_reason == "slow consumer" and market.close_code == 1008
    assert drain(market)[-1] == b""  # the close sentinel follows what was queued

    key = keys.create(account)
    user = Connection(router, combined=False, max_pending=3)
    user.subscribe(key)
    assert user.lossless
    for n in range(1000):
        hub.publish(user_topic(account.account_id), {"n": n})
    frames = drain(user)
    assert [json.loads(frame)["n"] for frame in frames] == list(range(1000))
    assert user.close_reason is None


async def test_listen_key_expiry_tells_and_closes_its_sockets():
    clock = FakeClock()
    hub, keys, account, router = setup(clock)
    key = keys.create(account)
    assert keys.create(account) == key  # one active key per account
    user = Connection(router, combined=True, max_pending=3)
    user.subscribe(key)
    clock.now += keys.validity_s - 1
    keys.keepalive(account, key)
    clock.now += keys.validity_s - 1
    assert keys.expire_due(123) == []
    clock.now += 2
    assert keys.expire_due(123) == [key]
    frames = drain(user)
    assert json.loads(frames[0]) == {"stream": key, "data": {
        "e": "listenKeyExpired", "E": 123, "listenKey": key}}
    assert frames[-1] == b"" and user.close_reason == "listenKey expired"
    assert keys.lookup(key) is None
    assert keys.create(account) != key


async def test_control_messages():
    _, _, _, router = setup()
    connection = Connection(router, combined=False, max_pending=10)

    def ask(payload) -> dict:
        handle_control(connection, payload if isinstance(payload, str) else json.dumps(payload))
        return json.loads(drain(connection)[-1])

    assert ask({"method": "SUBSCRIBE", "params": ["btcusdt@bookTicker"], "id": 1}) == {"result": None, "id": 1}
    assert ask({"method": "LIST_SUBSCRIPTIONS", "id": 2}) == {"result": ["btcusdt@bookTicker"], "id": 2}
    assert ask({"method": "GET_PROPERTY", "params": ["combined"], "id": 3}) == {"result": False, "id": 3}
    assert ask({"method": "SET_PROPERTY", "params": ["combined", True], "id": 4}) == {"result": None, "id": 4}
    assert connection.combined
    assert ask({"method": "SET_PROPERTY", "params": ["combined", "yes"], "id": 5})["error"]["code"] == 1
    assert ask({"method": "GET_PROPERTY", "params": ["colour"], "id": 6})["error"]["code"] == 0
    assert ask({"method": "UNSUBSCRIBE", "params": ["btcusdt@bookTicker"], "id": 7}) == {"result": None, "id": 7}
    assert connection.labels == {}
    assert ask({"method": "SUBSCRIBE", "params": ["bad name!"], "id": 8})["error"]["code"] == 2
    assert ask({"method": "SUBSCRIBE", "params": [], "id": -1})["error"]["code"] == 2
    assert ask("{not json")["error"]["code"] == 3
