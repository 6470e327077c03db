"""Rate limits of the simulator without sockets: windows, headers, 429 -> 418, orders, weights."""

from __future__ import annotations

import sys
import types

import pytest

from sim.limits import DEFAULT_BAN_LADDER_S, Limits, LimitsConfig, client_key
from sim.weighing import DEFAULT_WEIGHT, Weigher, load_weigher, table_lookup

SERVER_MS = 1_700_000_000_000


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make(clock: FakeClock, time_factor: float = 1.0, **config) -> Limits:
    return Limits(LimitsConfig(**config), time_factor=time_factor,
                  server_time_ms=lambda: SERVER_MS, clock=clock)


def test_weight_counts_by_request_weight_and_resets_with_the_minute():
    clock = FakeClock(600.0)  # the start of a minute window
    limits = make(clock)
    for weight in (1, 5, 10):
        assert limits.admit("1.2.3.4", weight).allowed
    assert limits.used_weight("1.2.3.4") == {"1M": 16}
    assert limits.raw_requests("1.2.3.4") == {"5M": 3}
    assert limits.used_weight("5.6.7.8") == {"1M": 0}  # per IP
    assert dict(limits.weight_headers("1.2.3.4")) == {
        b"x-mbx-used-weight-1m": b"16", b"x-mbx-used-weight": b"16"}
    clock.now = 659.9
    assert limits.used_weight("1.2.3.4") == {"1M": 16}
    clock.now = 660.0  # fixed windows: the next minute starts from zero
    assert limits.used_weight("1.2.3.4") == {"1M": 0}
    assert limits.raw_requests("1.2.3.4") == {"5M": 3}


def test_over_the_weight_limit_429_with_retry_after_then_the_ban():
    clock = FakeClock(600.0)
    limits = make(clock, request_weight_per_minute=10, ban_after_ignored=2)
    assert limits.admit("ip", 10).allowed
    clock.now = 630.2
    over = limits.admit("ip", 1)
    assert (over.status, over.code) == (429, -1003)
    assert over.msg == ("Too much request weight used; current limit is 10 request weight per 1 "
                        "MINUTE. Please use the websocket for live updates to avoid polling the API.")
    assert over.retry_after_s == 30  # ceil(660 - 630.2)
    assert over.retry_at_ms == SERVER_MS + 29_800
    clock.now = 631.0
    ignored = limits.admit("ip", 1)  # inside the back-off: counted, still 429
    assert ignored.status == 429
    clock.now = 632.0
    banned = limits.admit("ip", 1)  # the second ignored 429: banned for 2 minutes
    assert (banned.status, banned.code, banned.retry_after_s) == (418, -1003, 120)
    assert banned.msg == (f"Way too much request weight used; IP banned until {SERVER_MS + 120_000}."
                          " Please use the websocket for live updates to avoid bans.")
    clock.now = 700.0  # a new window, but the ban holds
    assert (limits.admit("ip", 1).status, limits.admit("ip", 1).retry_after_s) == (418, 52)
    assert limits.admit("other", 1).allowed  # bans are per IP
    assert limits.snapshot()["banned"] == {"ip": 52.0}
    clock.now = 752.0
    assert limits.admit("ip", 1).allowed


def test_bans_grow_for_repeat_offenders_up_to_three_days():
    clock = FakeClock(0.0)
    limits = make(clock, request_weight_per_minute=1, ban_after_ignored=1)
    durations = []
    for _ in range(len(DEFAULT_BAN_LADDER_S) + 2):
        clock.now = (clock.now // 60 + 1) * 60  # the start of a fresh window
        assert limits.admit("ip", 2).status == 429
        verdict = limits.admit("ip", 1)
        assert verdict.status == 418
        durations.append(verdict.retry_after_s)
        clock.now += verdict.retry_after_s
    assert durations[0] == 120 and durations[-1] == 3 * 86400
    assert durations == sorted(durations)
    assert durations[-3:] == [3 * 86400] * 3


def test_a_client_that_backs_off_is_never_banned():
    clock = FakeClock(0.0)
    limits = make(clock, request_weight_per_minute=5, ban_after_ignored=1)
    for minute in range(5):
        clock.now = minute * 60.0
        assert limits.admit("ip", 5).allowed
        verdict = limits.admit("ip", 1)
        assert verdict.status == 429
        clock.now += verdict.retry_after_s  # waits as told
    assert limits.ban_remaining_s("ip") == 0


def test_raw_requests_limit_and_its_message():
    clock = FakeClock(0.0)
    limits = make(clock, raw_requests_per_5_minutes=3)
    assert all(limits.admit("ip", 0).allowed for _ in range(3))
    over = limits.admit("ip", 0)
    assert over.status == 429 and over.retry_after_s == 300
    assert over.msg.startswith("Too many requests; current limit is 3 requests per 5 MINUTE.")


def test_windows_and_bans_scale_with_the_time_factor():
    clock = FakeClock(0.0)
    limits = make(clock, time_factor=60, request_weight_per_minute=2, ban_after_ignored=1)
    assert limits.admit("ip", 2).allowed
    clock.now = 0.5
    over = limits.admit("ip", 1)
    assert over.status == 429 and over.retry_after_s == 1  # 0.5 s left, whole seconds
    assert over.retry_at_ms == SERVER_MS + 500
    clock.now = 0.6
    ban = limits.admit("ip", 1)
    assert ban.status == 418 and ban.retry_after_s == 2  # 120 s / 60
    clock.now = 2.7
    assert limits.admit("ip", 1).allowed and limits.used_weight("ip") == {"1M": 1}
    unscaled = make(FakeClock(0.0), time_factor=60, scale_windows=False)
    assert unscaled.admit("ip", 1).allowed
    unscaled._clock.now = 59.0
    assert unscaled.used_weight("ip") == {"1M": 1}


def test_order_limits_per_account():
    clock = FakeClock(0.0)
    limits = make(clock, orders_per_10_seconds=3, orders_per_day=4)
    assert limits.admit_orders(1, 2).allowed
    limits.record_orders(1, 2)
    assert limits.order_count(1) == {"10S": 2, "1D": 2}
    assert dict(limits.order_headers(1)) == {b"x-mbx-order-count-10s": b"2",
                                             b"x-mbx-order-count-1d": b"2"}
    refused = limits.admit_orders(1, 2)  # an OCO would make 4 > 3
    assert (refused.status, refused.code, refused.retry_after_s) == (429, -1015, None)
    assert refused.msg == "Too many new orders; current limit is 3 orders per 10 SECOND."
    assert limits.admit_orders(2, 3).allowed  # another account
    clock.now = 10.0
    limits.record_orders(1, 2)
    assert limits.order_count(1) == {"10S": 2, "1D": 4}
    refused = limits.admit_orders(1, 1)
    assert refused.msg == "Too many new orders; current limit is 4 orders per 1 DAY."
    assert limits.ban_remaining_s("1") == 0  # order limits never ban


def test_websocket_api_rate_limit_status():
    limits = make(FakeClock(0.0))
    limits.admit("ip", 7)
    limits.record_orders(3, 1)
    assert limits.status("ip") == [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE",
                                    "intervalNum": 1, "limit": 1200, "count": 7}]
    assert [entry["count"] for entry in limits.status("ip", account_id=3)] == [1, 1, 7]


def test_sapi_endpoints_have_their_own_ip_and_uid_limits():
    clock = FakeClock(0.0)
    limits = make(clock, sapi_ip_weight_per_minute=10, sapi_uid_weight_per_minute=20)
    assert limits.admit_sapi("ip", "/sapi/v1/a", 10).allowed
    assert limits.admit_sapi("ip", "/sapi/v1/b", 10).allowed  # per endpoint
    assert limits.admit_sapi("ip", "/sapi/v1/a", 1).status == 429
    assert limits.used_weight("ip") == {"1M": 0}  # /api weight untouched
    assert dict(limits.sapi_headers("ip", "/sapi/v1/b")) == {b"x-sapi-used-ip-weight-1m": b"10"}
    assert limits.admit_sapi_uid(4, "/sapi/v1/asset/dust", 20).allowed
    assert limits.admit_sapi_uid(4, "/sapi/v1/asset/dust", 10).status == 429
    assert dict(limits.sapi_uid_headers(4, "/sapi/v1/asset/dust")) == {
        b"x-sapi-used-uid-weight-1m": b"30"}


def test_disabled_limits_count_but_never_refuse_and_reset_forgets():
    clock = FakeClock(0.0)
    limits = make(clock, enabled=False, request_weight_per_minute=1)
    assert all(limits.admit("ip", 5).allowed for _ in range(10))
    assert limits.used_weight("ip") == {"1M": 50}
    assert limits.admit_orders(1, 10**6).allowed
    limits.reset()
    assert limits.used_weight("ip") == {"1M": 0}
    assert limits.snapshot() == {"weight": {}, "raw": {}, "orders": {}, "banned": {}}


def test_config_checks_and_exchange_info_entries():
    with pytest.raises(ValueError, match="request_weight_per_minute"):
        LimitsConfig(request_weight_per_minute=0)
    with pytest.raises(ValueError, match="ban_ladder_s"):
        LimitsConfig(ban_ladder_s=())
    assert LimitsConfig(ban_ladder_s=[60, 120]).ban_ladder_s == (60, 120)
    entries = [limit.describe() for limit in LimitsConfig(request_weight_per_minute=6000).rate_limits()]
    assert entries[0] == {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE",
                          "intervalNum": 1, "limit": 6000}
    assert [(e["rateLimitType"], e["limit"]) for e in entries[1:]] == [
        ("ORDERS", 50), ("ORDERS", 160000), ("RAW_REQUESTS", 6100)]


def test_client_key_is_the_ip_unless_the_test_names_itself():
    scope = {"client": ("127.0.0.1", 50000), "headers": [(b"host", b"x")]}
    assert client_key(scope) == "127.0.0.1"
    scope["headers"].append((b"x-sim-client", b"daemon"))
    assert client_key(scope) == "127.0.0.1|daemon"


# ------------------------------------------------------------------- weighing


def test_table_lookup_key_shapes_and_parameter_functions():
    lookup = table_lookup({
        ("GET", "/a"): 2,
        "POST /b": 3,
        "/c": lambda params: 50 if params.get("limit") == "5000" else 1,
    })
    assert lookup("GET", "/a", {}) == 2 and lookup("POST", "/a", {}) is None
    assert lookup("POST", "/b", {}) == 3
    assert lookup("GET", "/c", {"limit": "5000"}) == 50 and lookup("GET", "/c", {}) == 1
    weigher = Weigher([lookup])
    assert weigher("GET", "/unknown", {}) == DEFAULT_WEIGHT


def test_load_weigher_reads_weight_modules_and_skips_absent_ones(monkeypatch):
    rest = types.ModuleType("fake_weights")
    rest.weight_of = lambda method, path, params: 7 if path == "/api/v3/x" else None
    rest.ORDER_COUNTS = {"POST /api/v3/order/oco": 2}
    wallet = types.ModuleType("fake_wallet")
    wallet.WALLET_WEIGHTS = {("GET", "/sapi/v1/y"): 150}
    wallet.WALLET_UID_WEIGHTS = {("POST", "/sapi/v1/asset/dust"): 10}
    monkeypatch.setitem(sys.modules, "fake_weights", rest)
    monkeypatch.setitem(sys.modules, "fake_wallet", wallet)
    weigher = load_weigher(("fake_weights", "fake_wallet", "fake_absent_module"))
    assert weigher("GET", "/api/v3/x", {}) == 7
    assert weigher("GET", "/sapi/v1/y", {}) == 150
    assert weigher("GET", "/api/v3/other", {}) == 1
    assert weigher.orders("POST", "/api/v3/order/oco") == 2
    assert weigher.orders("GET", "/api/v3/order") == 0
    assert weigher.uid_weight("POST", "/sapi/v1/asset/dust", {}) == 10
    assert weigher.uid_weight("GET", "/sapi/v1/y", {}) is None


def test_a_broken_weight_module_is_not_mistaken_for_an_absent_one(monkeypatch, tmp_path):
    (tmp_path / "broken_weights_mod.py").write_text("import module_that_does_not_exist_anywhere\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError, match="module_that_does_not_exist_anywhere"):
        load_weigher(("broken_weights_mod",))


def test_the_simulators_own_weight_tables_are_found():
    weigher = load_weigher()
    assert weigher("GET", "/api/v3/depth", {"limit": "5000"}) == 50
    assert weigher("GET", "/api/v3/account", {}) == 10
    assert weigher.orders("POST", "/api/v3/order") == 1
