"""track_event observers see accepted and rejected orders and can never break trading."""

from decimal import Decimal

import pytest

from daemon.context import StrategyContext
from daemon.hookspecs import hookimpl
from daemon.market import MarketCache
from daemon.orders import Accepted, OrderRequest, RejectCode, Rejection, Side, TimeInForce
from daemon.plugins import make_plugin_manager
from daemon.tracking import EventTracker


class Recorder:
    def __init__(self):
        self.seen = []

    @hookimpl
    def track_event(self, kind, payload):
        self.seen.append((kind, payload))


class Broken:
    @hookimpl
    def track_event(self, kind):
        raise RuntimeError("observer bug")


class FakeGateway:
    def __init__(self, answers):
        self.answers = list(answers)

    async def submit(self, request, *, strategy):
        return self.answers.pop(0)


REQUEST = OrderRequest(symbol="BTCUSDT", side=Side.BUY, quantity=Decimal("0.001"),
                       price=Decimal("100"), time_in_force=TimeInForce.GTC)


def _context(pm, answers):
    return StrategyContext("grid", gateway=FakeGateway(answers), store=None, market=MarketCache(),
                           params=None, tracker=EventTracker(pm))


async def test_accepted_and_rejected_orders_are_tracked_and_a_broken_observer_is_isolated():
    pm = make_plugin_manager()
    broken, recorder = Broken(), Recorder()
    pm.register(broken, "broken")
    pm.register(recorder, "recorder")
    ctx = _context(pm, [Accepted(symbol="BTCUSDT", client_order_id="grid-1", order_id=7, status="NEW"),
                        Rejection(code=RejectCode.LOT_SIZE, reason="LOT_SIZE: bad step")])
    assert (await ctx.submit(REQUEST)).accepted
    assert not (await ctx.submit(REQUEST)).accepted
    assert [kind for kind, _ in recorder.seen] == ["order.accepted", "order.rejected"]
    assert recorder.seen[0][1]["client_order_id"] == "grid-1"
    assert recorder.seen[1][1] == {"strategy": "grid", "symbol": "BTCUSDT", "code": "LOT_SIZE",
                                   "reason": "LOT_SIZE: bad step"}
    assert ctx._tracker.faults["broken"] == 2


def test_an_async_observer_is_reported_not_awaited():
    class AsyncObserver:
        @hookimpl
        async def track_event(self, kind, payload):
            raise AssertionError("never awaited")

    pm = make_plugin_manager()
    pm.register(AsyncObserver(), "async")
    tracker = EventTracker(pm)
    tracker("order.accepted", {})
    assert tracker.faults["async"] == 1


@pytest.mark.parametrize("kind", ["order.accepted", "fill.recorded"])
def test_no_observers_is_fine(kind):
    EventTracker(make_plugin_manager())(kind, {})


class FakeStreams:
    def __init__(self):
        self.calls = []

    def subscribe(self, streams):
        self.calls.append(("subscribe", streams))

    def unsubscribe(self, streams):
        self.calls.append(("unsubscribe", streams))


class FakeBooks:
    def book(self, symbol):
        return f"book:{symbol}"


def test_context_exposes_books_and_live_subscriptions():
    streams = FakeStreams()
    ctx = StrategyContext("grid", gateway=FakeGateway([]), store=None, market=MarketCache(),
                          params=None, books=FakeBooks(), streams=streams)
    assert ctx.book("btcusdt") == "book:BTCUSDT"
    ctx.subscribe("ethusdt@trade", "ethusdt@bookTicker")
    ctx.unsubscribe("ethusdt@trade")
    assert streams.calls == [("subscribe", ["ethusdt@trade", "ethusdt@bookTicker"]),
                             ("unsubscribe", ["ethusdt@trade"])]


def test_context_without_streams_says_so():
    ctx = StrategyContext("grid", gateway=FakeGateway([]), store=None, market=MarketCache(), params=None)
    assert ctx.book("BTCUSDT") is None
    with pytest.raises(RuntimeError, match="no live market streams"):
        ctx.subscribe("btcusdt@trade")
