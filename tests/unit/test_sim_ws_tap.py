"""The websocket tap without sockets: classification, duplicate, reorder, stall, drop, cut."""

from __future__ import annotations

import json

import pytest
import trio

from sim.faults import Faults
from sim.userdata import ListenKeys
from sim.ws_tap import REORDER_HOLD_S, Tap, stream_names, user_event_type


class FakeExchange:
    clock = staticmethod(lambda: 1)

    def now_ms(self) -> int:
        return 1


def text(payload: dict) -> dict:
    return {"type": "websocket.send", "text": json.dumps(payload)}


def report(n: int) -> dict:
    return text({"e": "executionReport", "i": n})


def frames_of(sent: list[dict]) -> list[dict]:
    return [json.loads(m["text"]) for m in sent if m["type"] == "websocket.send"]


class Harness:
    """A tap between a fake server (recorded sends, scripted receives) and an endpoint."""

    def __init__(self, path: str = "/ws/btcusdt@trade", query: bytes = b"",
                 listen_keys: set[str] = frozenset()) -> None:
        self.faults = Faults(FakeExchange(), ListenKeys(time_factor=1.0, seed=1))
        self.scope = {"type": "websocket", "path": path, "query_string": query, "headers": []}
        self.tap = Tap(self.scope, self.faults, lambda name: name in listen_keys)
        self.sent: list[dict] = []
        self.to_server, self.client_messages = trio.open_memory_channel(10)
        self.endpoint_saw: list[dict] = []
        self.endpoint_send = None
        self.accepted = trio.Event()

    async def server_receive(self) -> dict:
        return await self.client_messages.receive()

    async def server_send(self, message: dict) -> None:
        self.sent.append(message)

    async def endpoint(self, scope, receive, send) -> None:
        self.endpoint_send = send
        self.endpoint_saw.append(await receive())
        await send({"type": "websocket.accept"})
        self.accepted.set()
        while True:
            message = await receive()
            self.endpoint_saw.append(message)
            if message["type"] == "websocket.disconnect":
                await send({"type": "websocket.close", "code": 1000})  # too late: swallowed
                return

    async def start(self, nursery: trio.Nursery) -> None:
        nursery.start_soon(self.tap.run, self.endpoint, self.scope, self.server_receive,
                           self.server_send)
        await self.to_server.send({"type": "websocket.connect"})
        await self.accepted.wait()


def test_user_event_type_in_every_wrapping():
    assert user_event_type(report(1)) == "executionReport"
    assert user_event_type(text({"stream": "k", "data": {"e": "balanceUpdate"}})) == "balanceUpdate"
    assert user_event_type(text({"subscriptionId": 0, "event": {"e": "listStatus"}})) == "listStatus"
    assert user_event_type(text({"e": "trade"})) is None
    assert user_event_type(text({"event": {"e": "serverShutdown"}})) is None
    assert user_event_type(text({"e": "listenKeyExpired"})) is None
    assert user_event_type({"type": "websocket.send", "text": "not json \"e\""}) is None
    assert user_event_type({"type": "websocket.send", "bytes": b'{"e":"executionReport"}'}) == \
        "executionReport"


def test_stream_names_from_path_and_query():
    assert stream_names({"path": "/ws/abc"}) == ["abc"]
    assert stream_names({"path": "/stream", "query_string": b"streams=a@trade/KEY"}) == \
        ["a@trade", "KEY"]
    assert stream_names({"path": "/ws-api/v3"}) == []


async def test_classification_market_user_and_later_subscribe(nursery):
    assert Harness().tap.kind == "market"
    assert Harness("/ws/KEY", listen_keys={"KEY"}).tap.kind == "user"
    assert Harness("/stream", b"streams=btcusdt@trade/KEY", {"KEY"}).tap.kind == "user"
    ws_api = Harness("/ws-api/v3")
    assert ws_api.tap.kind == "user" and ws_api.tap.ws_api
    bare = Harness("/ws", listen_keys={"KEY"})
    await bare.start(nursery)
    await bare.to_server.send({"type": "websocket.receive",
                               "text": '{"method":"SUBSCRIBE","params":["KEY"],"id":1}'})
    with trio.fail_after(5):
        while len(bare.endpoint_saw) < 2:
            await trio.sleep(0.01)
    assert bare.tap.kind == "user"
    bare.tap.drop()


async def test_duplicate_and_reorder_touch_user_events_only(nursery):
    harness = Harness("/ws/KEY", listen_keys={"KEY"})
    await harness.start(nursery)
    send = harness.endpoint_send
    harness.faults.duplicate_user_events(1)
    harness.faults.reorder_user_events(1)
    await send(text({"e": "trade"}))  # not user data: untouched, counters kept
    await send(report(1))  # duplicated
    await send(report(2))  # held back ...
    await send(text({"e": "trade", "t": 9}))
    await send(report(3))  # ... and sent after this one
    await send(report(4))
    assert [f.get("i", f.get("t")) for f in frames_of(harness.sent)] == [None, 1, 1, 9, 3, 2, 4]
    assert harness.faults.effects["reordered_user_events"] == 1
    harness.tap.drop()


async def test_a_held_frame_goes_out_alone_after_the_hold(nursery, autojump_clock):
    harness = Harness("/ws-api/v3")
    await harness.start(nursery)
    harness.faults.reorder_user_events(1)
    await harness.endpoint_send(text({"subscriptionId": 0, "event": {"e": "balanceUpdate"}}))
    assert frames_of(harness.sent) == []
    await trio.sleep(REORDER_HOLD_S + 0.1)
    assert frames_of(harness.sent) == [{"subscriptionId": 0, "event": {"e": "balanceUpdate"}}]
    harness.tap.drop()


async def test_a_held_frame_is_flushed_before_the_endpoints_close(nursery):
    harness = Harness("/ws/KEY", listen_keys={"KEY"})
    await harness.start(nursery)
    harness.faults.reorder_user_events(1)
    await harness.endpoint_send(report(5))
    await harness.endpoint_send({"type": "websocket.close", "code": 1000})
    assert [m["type"] for m in harness.sent] == ["websocket.accept", "websocket.send",
                                                 "websocket.close"]
    await harness.endpoint_send(report(6))  # after the close: nowhere
    assert len(harness.sent) == 3
    await harness.to_server.send({"type": "websocket.disconnect", "code": 1000})


async def test_stall_holds_frames_of_the_stalled_kind(nursery, autojump_clock):
    harness = Harness()
    await harness.start(nursery)
    harness.faults.stall_streams(3, kind="user")
    await harness.endpoint_send(text({"e": "trade"}))  # market: not stalled
    assert trio.current_time() == 0
    harness.faults.stall_streams(3, kind="market")
    await harness.endpoint_send(text({"e": "trade", "t": 2}))
    assert trio.current_time() == pytest.approx(3)
    assert len(frames_of(harness.sent)) == 2
    harness.tap.drop()


async def test_drop_closes_1011_and_tells_the_endpoint_the_client_left(nursery):
    harness = Harness()
    await harness.start(nursery)
    assert harness.tap in harness.faults.connections
    harness.faults.drop_connections("market")
    with trio.fail_after(5):
        while not harness.endpoint_saw or harness.endpoint_saw[-1]["type"] != "websocket.disconnect":
            await trio.sleep(0.01)
    assert harness.sent[-1] == {"type": "websocket.close", "code": 1011, "reason": "dropped"}
    assert harness.endpoint_saw[-1] == {"type": "websocket.disconnect", "code": 1011}
    with trio.fail_after(5):
        while harness.tap in harness.faults.connections:
            await trio.sleep(0.01)
    closes = [m for m in harness.sent if m["type"] == "websocket.close"]
    assert len(closes) == 1  # the endpoint's own late close went nowhere


async def test_cut_uses_the_given_code(nursery):
    harness = Harness()
    await harness.start(nursery)
    harness.tap.cut(1001, "server shutdown")
    with trio.fail_after(5):
        while harness.tap in harness.faults.connections:
            await trio.sleep(0.01)
    assert harness.sent[-1] == {"type": "websocket.close", "code": 1001, "reason": "server shutdown"}
