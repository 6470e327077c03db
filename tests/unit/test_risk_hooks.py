"""daemon/risk_hooks.py: every check_order implementation runs; failures refuse (fail closed)."""

from __future__ import annotations

import logging
from decimal import Decimal as D

from daemon.hookspecs import hookimpl
from daemon.orders import OrderRequest, OrderType, RejectCode, Rejection, Side
from daemon.plugins import make_plugin_manager
from daemon.risk_hooks import collect_order_checks, make_risk_check

REQUEST = OrderRequest(symbol="BTCUSDT", side=Side.BUY, type=OrderType.MARKET, quantity=D("1"),
                       client_order_id="c-9")


class Refuses:
    def __init__(self, code=RejectCode.MAX_ORDER_NOTIONAL):
        self.code = code
        self.seen = []

    @hookimpl
    def check_order(self, ctx, request):
        self.seen.append((ctx, request))
        return Rejection(code=self.code, reason=f"{self.code.value}: no", detail={"limit": "x"})


class Allows:
    def __init__(self):
        self.calls = 0

    @hookimpl
    def check_order(self, request):  # a subset of the spec's arguments is fine
        self.calls += 1


class Raises:
    @hookimpl
    def check_order(self, ctx, request):
        raise ZeroDivisionError("division by zero")


class Async:
    @hookimpl
    async def check_order(self, ctx, request):
        return None


class Confused:
    @hookimpl
    def check_order(self, ctx, request):
        return "no thanks"


def manager(**plugins):
    pm = make_plugin_manager()
    for name, plugin in plugins.items():
        pm.register(plugin, name)
    return pm


def test_every_refusal_is_collected_and_addressed_to_the_order():
    first, second, allows = Refuses(RejectCode.KILL_SWITCH), Refuses(RejectCode.PRICE_BAND), Allows()
    pm = manager(a=first, b=allows, c=second)
    found = collect_order_checks(pm, "ctx", REQUEST)
    assert sorted(r.code.value for r in found) == ["KILL_SWITCH", "PRICE_BAND"]
    assert all(r.symbol == "BTCUSDT" and r.client_order_id == "c-9" for r in found)
    assert {r.detail["plugin"] for r in found} == {"a", "c"}
    assert first.seen == [("ctx", REQUEST)] and allows.calls == 1


def test_a_raising_check_refuses_and_the_others_still_run(caplog):
    allows, refuses = Allows(), Refuses()
    pm = manager(first=allows, broken=Raises(), last=refuses)
    with caplog.at_level(logging.ERROR, logger="daemon.risk_hooks"):
        found = collect_order_checks(pm, None, REQUEST)
    failed = [r for r in found if r.code is RejectCode.RISK_CHECK_FAILED]
    assert len(failed) == 1 and failed[0].reason == (
        "RISK_CHECK_FAILED: check_order of plugin broken raised ZeroDivisionError: division by zero")
    assert failed[0].detail == {"plugin": "broken", "error": "ZeroDivisionError"}
    assert allows.calls == 1 and len(refuses.seen) == 1
    assert [r.getMessage() for r in caplog.records] == ["risk.check_raised plugin=broken symbol=BTCUSDT"]


def test_async_and_nonsense_answers_fail_closed():
    found = collect_order_checks(manager(slow=Async(), odd=Confused()), None, REQUEST)
    reasons = sorted(r.reason for r in found)
    assert reasons == [
        "RISK_CHECK_FAILED: check_order of plugin odd returned str, expected a Rejection or None",
        "RISK_CHECK_FAILED: check_order of plugin slow is async; check_order must answer synchronously",
    ]


def test_no_plugins_means_no_refusals_and_the_gateway_adapter_finds_the_context():
    assert collect_order_checks(manager(), None, REQUEST) == []
    refuses = Refuses()
    contexts = {"grid": "grid-ctx"}
    check = make_risk_check(manager(r=refuses), contexts.__getitem__)
    assert [r.code for r in check("grid", REQUEST)] == [RejectCode.MAX_ORDER_NOTIONAL]
    assert refuses.seen == [("grid-ctx", REQUEST)]
