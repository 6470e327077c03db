"""Fault state of the simulator without sockets: each control, its validation, and its effect."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
import trio

from sim.accounts import AccountRegistry
from sim.faults import Faults
from sim.userdata import ListenKeys


class FakeClock:
    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class FakeExchange:
    def __init__(self) -> None:
        self.clock = lambda: 1_000_000

    def now_ms(self) -> int:
        return self.clock()


class FakeConnection:
    def __init__(self, kind: str, ws_api: bool = False) -> None:
        self.kind, self.ws_api = kind, ws_api
        self.dropped = False
        self.cut_with: tuple[int, str] | None = None

    def drop(self) -> None:
        self.dropped = True

    def cut(self, code: int, reason: str) -> None:
        self.cut_with = (code, reason)


class FakeWsApi:
    def __init__(self) -> None:
        self.shutdowns: list[float] = []
        self.terminated = 0

    def server_shutdown(self, grace_s: float) -> int:
        self.shutdowns.append(grace_s)
        return 2

    def terminate_subscriptions(self) -> int:
        self.terminated += 1
        return 3


class FakeStreams:
    def __init__(self) -> None:
        self.shutdowns: list[tuple[float, str]] = []

    def server_shutdown(self, grace_s: float, kind: str = "all") -> int:
        self.shutdowns.append((grace_s, kind))
        return 1


class Recorder:
    """A listenKey stream connection as ``ListenKeys`` sees it."""

    def __init__(self) -> None:
        self.frames: list[dict] = []
        self.finished: str | None = None

    def deliver(self, topic: str, data: bytes) -> None:
        self.frames.append(json.loads(data))

    def finish(self, reason: str) -> None:
        self.finished = reason


def make(clock: FakeClock | None = None):
    exchange = FakeExchange()
    keys = ListenKeys(time_factor=1.0, seed=1, clock=clock or FakeClock())
    faults = Faults(exchange, keys, clock=clock or FakeClock())
    return faults, exchange, keys


def test_clock_skew_moves_server_time_both_ways_and_clear_undoes_it():
    faults, exchange, _ = make()
    assert exchange.now_ms() == 1_000_000
    faults.clock_skew(2500)
    assert exchange.now_ms() == 1_002_500
    faults.clock_skew(-1500)  # not cumulative: the offset is set
    assert exchange.now_ms() == 998_500
    faults.clear()
    assert exchange.now_ms() == 1_000_000
    with pytest.raises(ValueError):
        faults.clock_skew(1.5)


def test_order_faults_are_taken_in_order_once_each():
    faults, _, _ = make()
    faults.fail_next_orders(2, executed=False, status=503)
    faults.unknown_status_next_orders(1)
    taken = [faults.take_order_fault() for _ in range(4)]
    assert [(f.status, f.code, f.executed) for f in taken[:3]] == [
        (503, -1001, False), (503, -1001, False), (408, -1007, True)]
    assert taken[2].msg == ("Timeout waiting for response from backend server. "
                            "Send status unknown; execution status unknown.")
    assert taken[3] is None
    faults.fail_next_orders(1)
    assert faults.take_order_fault().payload() == {
        "code": -1000, "msg": "An unknown error occurred while processing the request."}
    assert faults.effects["order_faults"] == 4


@pytest.mark.parametrize("call", [
    lambda f: f.fail_next_orders(0),
    lambda f: f.fail_next_orders(1, status=404),
    lambda f: f.unknown_status_next_orders(True),
    lambda f: f.drop_connections("everything"),
    lambda f: f.stall_streams(-1),
    lambda f: f.delay_responses("api/v3", 1),
    lambda f: f.delay_responses("/api", "1"),
    lambda f: f.rate_limit_storm(None),
    lambda f: f.depth_gap(""),
    lambda f: f.duplicate_user_events(0),
    lambda f: f.server_shutdown("all", grace_s=-1),
])
def test_bad_parameters_are_refused(call):
    faults, _, _ = make()
    with pytest.raises(ValueError):
        call(faults)
    assert faults.status()["order_faults"] == [] and faults.status()["delays"] == []


def test_response_delays_match_by_prefix_and_run_out():
    faults, _, _ = make()
    faults.delay_responses("/api/v3/order", 0.5, count=2)
    faults.delay_responses("/api/", 0.1)
    assert faults.take_response_delay("/api/v3/order") == 0.5
    assert faults.take_response_delay("/api/v3/time") == 0.1
    assert faults.take_response_delay("/api/v3/order") == 0.5
    assert faults.take_response_delay("/api/v3/order") == 0.1  # the counted one ran out
    assert faults.take_response_delay("/sapi/v1/x") == 0.0
    assert faults.status()["delays"] == [{"path_prefix": "/api/", "seconds": 0.1, "remaining": None}]


def test_storm_and_stall_last_their_real_seconds():
    clock = FakeClock(10.0)
    faults, _, _ = make(clock)
    faults.rate_limit_storm(3)
    faults.stall_streams(2, kind="market")
    assert faults.storm_remaining_s() == 3.0
    assert faults.status()["stalled_s"] == {"market": 2.0, "user": 0.0}
    clock.now = 12.5
    assert faults.storm_remaining_s() == 0.5
    assert faults.status()["stalled_s"] == {"market": 0.0, "user": 0.0}
    clock.now = 13.0
    assert faults.storm_remaining_s() == 0.0


async def test_stream_gate_waits_out_a_stall(autojump_clock):
    faults = Faults(FakeExchange(), ListenKeys(time_factor=1.0, seed=1))
    await faults.stream_gate("user")  # no stall: at once
    assert trio.current_time() == 0
    faults.stall_streams(5, kind="user")
    await faults.stream_gate("market")
    assert trio.current_time() == 0
    await faults.stream_gate("user")
    assert trio.current_time() == pytest.approx(5)


def test_depth_gap_is_taken_once_per_request():
    faults, _, _ = make()
    assert not faults.take_depth_gap("BTCUSDT")
    faults.depth_gap("btcusdt")
    assert faults.status()["depth_gaps"] == ["BTCUSDT"]
    assert faults.take_depth_gap("BTCUSDT") and not faults.take_depth_gap("BTCUSDT")


def test_duplicate_and_reorder_counters():
    faults, _, _ = make()
    assert not faults.user_frames_pending
    faults.duplicate_user_events(2)
    faults.reorder_user_events(1)
    assert faults.user_frames_pending
    assert [faults.take_duplicate() for _ in range(3)] == [True, True, False]
    assert [faults.take_reorder() for _ in range(2)] == [True, False]
    assert not faults.user_frames_pending
    assert faults.effects["duplicated_user_events"] == 2


def test_expire_listen_keys_sends_listen_key_expired_and_closes():
    clock = FakeClock()
    faults, _, keys = make(clock)
    accounts = AccountRegistry()
    account = accounts.add("K", "S", {"USDT": Decimal(1)}, maker_rate=Decimal(0),
                           taker_rate=Decimal(0))
    key = keys.create(account)
    recorder = Recorder()
    keys.attach(key, recorder)
    assert faults.expire_listen_keys() == 1
    assert recorder.frames == [{"e": "listenKeyExpired", "E": 1_000_000, "listenKey": key}]
    assert recorder.finished == "listenKey expired"
    assert keys.lookup(key) is None
    assert faults.expire_listen_keys() == 0


def test_drops_and_shutdowns_reach_the_chosen_connections():
    faults, _, _ = make()
    market, user, ws_api = FakeConnection("market"), FakeConnection("user"), FakeConnection("user", True)
    faults.connections.update({market, user, ws_api})
    fake_api = FakeWsApi()
    faults.ws_api = fake_api
    assert faults.drop_connections("market") == 1
    assert market.dropped and not user.dropped
    assert faults.drop_connections("user") == 2 and ws_api.dropped
    assert faults.status()["connections"] == {"market": 1, "user": 2, "all": 3}

    streams = FakeStreams()
    faults.streams = streams
    assert faults.server_shutdown("market") == 1
    assert streams.shutdowns == [(1.0, "market")] and fake_api.shutdowns == []
    assert faults.server_shutdown("user", grace_s=0.25) == 2 + 1  # two sessions, one stream
    assert fake_api.shutdowns == [0.25] and streams.shutdowns[-1] == (0.25, "user")
    # The notice comes from the streams themselves: no connection is cut from outside.
    assert market.cut_with is None and user.cut_with is None and ws_api.cut_with is None
    assert faults.terminate_user_streams() == 3
    assert fake_api.terminated == 1


def test_status_reports_what_is_in_force_and_clear_lifts_it():
    faults, _, _ = make()
    faults.fail_next_orders(1, executed=False)
    faults.depth_gap("ETHUSDT")
    faults.duplicate_user_events(1)
    faults.clock_skew(10)
    status = faults.status()
    assert status["order_faults"] == [{"code": -1000, "status": 500, "executed": False}]
    assert status["clock_skew_ms"] == 10 and status["duplicate_user_events"] == 1
    json.dumps(status)  # JSON-ready, for GET /_sim/faults
    faults.clear()
    cleared = faults.status()
    assert cleared["order_faults"] == [] and cleared["depth_gaps"] == []
    assert cleared["clock_skew_ms"] == 0 and cleared["duplicate_user_events"] == 0
