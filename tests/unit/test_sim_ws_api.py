"""WebSocket API requests without sockets: envelope, signature, subscriptions, wrapping, limits."""

from __future__ import annotations

import hashlib
import hmac
import json
from decimal import Decimal

import pytest
import trio

from sim.accounts import AccountRegistry
from sim.hub import EventHub, user_topic
from sim.limits import Limits, LimitsConfig
from sim.ws_api import Session, WsApi
from sim.ws_api_methods import handle_text

# web-socket-api.md, "SIGNED request example (HMAC)".
DOC_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
DOC_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
NOW = 1_700_000_000_000


def sign_params(secret: str, params: dict) -> str:
    """The docs' recipe, written independently: sorted name=value pairs, HMAC-SHA256 hex."""
    payload = "&".join(f"{name}={value}" for name, value in sorted(params.items()))
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


class Setup:
    def __init__(self, **limit_config) -> None:
        self.hub = EventHub()
        self.accounts = AccountRegistry()
        self.account = self.accounts.add(DOC_KEY, DOC_SECRET, {"USDT": Decimal(1)},
                                         maker_rate=Decimal(0), taker_rate=Decimal(0))
        self.now = NOW
        self.limits = Limits(LimitsConfig(**limit_config), time_factor=1.0,
                             server_time_ms=lambda: self.now, clock=lambda: 5.0)
        self.api = WsApi(self.hub, self.accounts, self.limits, lambda: self.now)
        self.session = Session(self.api, "ip", NOW - 10, return_rate_limits=True)

    def ask(self, request: dict | str) -> list[dict]:
        handle_text(self.session, request if isinstance(request, str) else json.dumps(request))
        return self.drain()

    def drain(self) -> list[dict]:
        frames = []
        while True:
            try:
                frame = self.session.outgoing.receive_nowait()
            except trio.WouldBlock:
                return frames
            frames.append(json.loads(frame) if frame else {"closed": self.session.close_code})

    def subscribe_request(self, request_id=1, **overrides) -> str:
        params = {"apiKey": DOC_KEY, "timestamp": NOW - 100, **overrides}
        params["signature"] = sign_params(DOC_SECRET, params)
        return json.dumps({"id": request_id, "method": "userDataStream.subscribe.signature",
                           "params": params})


def test_the_docs_signature_example_is_reproduced():
    params = {"symbol": "BTCUSDT", "side": "SELL", "type": "LIMIT", "timeInForce": "GTC",
              "quantity": "0.01000000", "price": "52000.00", "recvWindow": 100,
              "timestamp": 1645423376532, "apiKey": DOC_KEY}
    assert sign_params(DOC_SECRET, params) == \
        "aa1b5712c094bc4e57c05a1a5c1fd8d88dcd628338ea863fec7b88e59fe2db24"


def test_ping_time_and_rate_limits_in_every_answer():
    setup = Setup()
    (pong,) = setup.ask({"id": "a", "method": "ping"})
    assert pong == {"id": "a", "status": 200, "result": {}, "rateLimits": [
        {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
         "limit": 1200, "count": 1}]}
    (clock,) = setup.ask({"id": 2, "method": "v3/time"})
    assert clock["result"] == {"serverTime": NOW} and clock["rateLimits"][0]["count"] == 2
    (quiet,) = setup.ask({"id": None, "method": "time", "params": {"returnRateLimits": False}})
    assert quiet == {"id": None, "status": 200, "result": {"serverTime": NOW}}
    setup.session.return_rate_limits = False  # ?returnRateLimits=false on the URL
    assert "rateLimits" not in setup.ask({"id": 3, "method": "ping"})[0]
    assert "rateLimits" in setup.ask({"id": 4, "method": "ping",
                                      "params": {"returnRateLimits": True}})[0]


@pytest.mark.parametrize(("request_text", "code"), [
    ("{not json", -1135),
    ('["a list"]', -1135),
    ('{"method": "ping"}', -1102),
    ('{"id": 1}', -1102),
    ('{"id": 1, "method": "ping", "params": [1]}', -1130),
    ('{"id": 1, "method": "order.place"}', -1020),
    ('{"id": 1, "method": "userDataStream.subscribe"}', -1002),
])
def test_malformed_and_unsupported_requests(request_text, code):
    (answer,) = Setup().ask(request_text)
    assert answer["error"]["code"] == code and answer["status"] in (400, 401)


def test_subscribe_with_a_correct_signature_then_events_are_wrapped():
    setup = Setup()
    (answer,) = setup.ask(setup.subscribe_request(7, recvWindow=5000))
    assert answer["status"] == 200 and answer["result"] == {"subscriptionId": 0}
    assert answer["rateLimits"][0]["count"] == 2  # weight 2
    setup.hub.publish(user_topic(setup.account.account_id), {"e": "outboundAccountPosition", "B": []})
    assert setup.drain() == [{"subscriptionId": 0,
                              "event": {"e": "outboundAccountPosition", "B": []}}]
    (status,) = setup.ask({"id": 8, "method": "session.status"})
    assert status["result"] == {"apiKey": None, "authorizedSince": None, "connectedSince": NOW - 10,
                                "returnRateLimits": True, "serverTime": NOW, "userDataStream": True}
    (again,) = setup.ask(setup.subscribe_request(9))
    assert again["error"] == {"code": -2035, "msg": "User Data Stream subscription already active."}


def test_numbers_are_signed_as_sent_and_the_signature_is_case_insensitive():
    setup = Setup()
    raw = ('{"id":1,"method":"userDataStream.subscribe.signature","params":{"apiKey":"%s",'
           '"timestamp":%d,"recvWindow":6000.500,"signature":"%s"}}')
    signature = sign_params(DOC_SECRET, {"apiKey": DOC_KEY, "timestamp": NOW - 100,
                                         "recvWindow": "6000.500"})
    (answer,) = setup.ask(raw % (DOC_KEY, NOW - 100, signature.upper()))
    assert answer["status"] == 200, answer


@pytest.mark.parametrize(("overrides", "code", "status"), [
    ({"apiKey": "x" * 64}, -2015, 401),
    ({"apiKey": "bad key!"}, -2014, 401),
    ({"signature": "0" * 64}, -1022, 400),
    ({"timestamp": NOW + 1000}, -1021, 400),
    ({"timestamp": NOW - 6000}, -1021, 400),
    ({"recvWindow": 60001}, -1131, 400),
])
def test_subscribe_refusals(overrides, code, status):
    setup = Setup()
    params = {"apiKey": DOC_KEY, "timestamp": NOW - 100}
    params.update({k: v for k, v in overrides.items() if k != "signature"})
    params["signature"] = overrides.get("signature") or sign_params(DOC_SECRET, params)
    (answer,) = setup.ask({"id": 1, "method": "userDataStream.subscribe.signature",
                           "params": params})
    assert (answer["status"], answer["error"]["code"]) == (status, code)
    assert setup.session.subscriptions == {}


def test_a_signature_over_other_params_is_wrong():
    setup = Setup()
    params = {"apiKey": DOC_KEY, "timestamp": NOW - 100}
    params["signature"] = sign_params(DOC_SECRET, {**params, "recvWindow": 5000})
    (answer,) = setup.ask({"id": 1, "method": "userDataStream.subscribe.signature",
                           "params": params})
    assert answer["error"]["code"] == -1022


def test_microsecond_timestamps_are_accepted():
    setup = Setup()
    (answer,) = setup.ask(setup.subscribe_request(1, timestamp=(NOW - 100) * 1000))
    assert answer["status"] == 200


def test_unsubscribe_ends_with_event_stream_terminated_before_the_answer():
    setup = Setup()
    other = setup.accounts.add("K2", "S2", {}, maker_rate=Decimal(0), taker_rate=Decimal(0))
    setup.ask(setup.subscribe_request(1))
    params = {"apiKey": "K2", "timestamp": NOW - 100}
    params["signature"] = sign_params("S2", params)
    (second,) = setup.ask({"id": 2, "method": "userDataStream.subscribe.signature", "params": params})
    assert second["result"] == {"subscriptionId": 1}
    (listing,) = setup.ask({"id": 3, "method": "session.subscriptions"})
    assert listing["result"] == [{"subscriptionId": 0}, {"subscriptionId": 1}]

    ended, answer = setup.ask({"id": 4, "method": "userDataStream.unsubscribe",
                               "params": {"subscriptionId": 1}})
    assert ended == {"subscriptionId": 1, "event": {"e": "eventStreamTerminated", "E": NOW}}
    assert answer["result"] == {}
    setup.hub.publish(user_topic(other.account_id), {"e": "balanceUpdate"})
    assert setup.drain() == []  # no longer subscribed
    (missing,) = setup.ask({"id": 5, "method": "userDataStream.unsubscribe",
                            "params": {"subscriptionId": 1}})
    assert missing["error"] == {"code": -2036, "msg": "User Data Stream subscription not active."}
    frames = setup.ask({"id": 6, "method": "userDataStream.unsubscribe"})
    assert frames[0]["event"]["e"] == "eventStreamTerminated" and frames[0]["subscriptionId"] == 0
    assert frames[1]["result"] == {} and setup.session.subscriptions == {}
    (next_id,) = setup.ask(setup.subscribe_request(7))
    assert next_id["result"] == {"subscriptionId": 2}  # ids are never reused on a connection


def test_server_side_termination_and_server_shutdown():
    setup = Setup()
    setup.api.sessions.add(setup.session)
    setup.ask(setup.subscribe_request(1))
    assert setup.api.terminate_subscriptions() == 1
    assert setup.drain() == [{"subscriptionId": 0, "event": {"e": "eventStreamTerminated", "E": NOW}}]
    assert setup.api.shutdown() == 1
    assert setup.drain() == [{"event": {"e": "serverShutdown", "E": NOW}}, {"closed": 1001}]
    assert setup.api.server_shutdown(0) == 0  # already closing


def test_rate_limited_requests_answer_429_then_418_and_disconnect():
    setup = Setup(request_weight_per_minute=2, ban_after_ignored=1)
    setup.ask({"id": 1, "method": "session.status"})
    (limited,) = setup.ask({"id": 2, "method": "ping"})
    assert limited["status"] == 429 and limited["error"]["code"] == -1003
    assert limited["error"]["data"]["serverTime"] == NOW
    assert limited["error"]["data"]["retryAfter"] == NOW + 55_000  # the minute ends at 60 s
    banned, closed = setup.ask({"id": 3, "method": "ping"})
    assert banned["status"] == 418 and banned["error"]["msg"].startswith(
        f"Way too much request weight used; IP banned until {NOW + 120_000}.")
    assert closed == {"closed": 1008}


class FakeMonitor:
    def __init__(self) -> None:
        self.sent: float | None = None

    def oldest_unanswered(self) -> float | None:
        return self.sent


async def test_a_session_whose_pongs_stop_is_closed(autojump_clock):
    from sim.stream_limits import StreamLimits

    setup = Setup()
    setup.api.connection_limits = StreamLimits(ping_interval_s=20, pong_timeout_s=60, lifetime_s=None)
    monitor = FakeMonitor()
    monitor.sent = trio.current_time() + 5  # a ping at 5 s that is never answered
    await setup.api._watch(setup.session, monitor)
    assert trio.current_time() == pytest.approx(65, abs=1.01)
    assert setup.drain() == [{"closed": 1008}]


async def test_a_session_ends_at_its_lifetime(autojump_clock):
    from sim.stream_limits import StreamLimits

    setup = Setup()
    setup.api.connection_limits = StreamLimits(lifetime_s=86400 / 3600)  # time_factor 3600
    await setup.api._watch(setup.session, FakeMonitor())
    assert trio.current_time() == pytest.approx(24)
    assert setup.drain() == [{"closed": 1001}]
