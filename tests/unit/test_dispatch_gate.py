"""The dispatch gate: pass-through when open, ordered hold when closed, bounded market backlog."""

from __future__ import annotations

import pytest

from daemon.dispatch_gate import DispatchGate
from daemon.errors import TradingdError


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def publish(self, hook, **kwargs):
        self.calls.append((None, hook, kwargs))
        return 1

    def publish_to(self, plugin_name, hook, **kwargs):
        self.calls.append((plugin_name, hook, kwargs))
        return True


def test_open_gate_passes_straight_through():
    recorder = Recorder()
    gate = DispatchGate(recorder)
    assert gate.publish("on_trade", trade="t1") == 1
    assert gate.publish_to("strategy:a", "on_fill", fill="f1") is True
    assert recorder.calls == [(None, "on_trade", {"trade": "t1"}),
                              ("strategy:a", "on_fill", {"fill": "f1"})]


def test_closed_gate_holds_in_order_and_releases_on_open():
    recorder = Recorder()
    gate = DispatchGate(recorder)
    gate.close()
    gate.publish_to("strategy:a", "on_order_update", order="o1")
    gate.publish("on_account_position", position="p1")
    gate.publish_to("strategy:a", "on_fill", fill="f1")
    assert recorder.calls == [] and gate.pending == 3 and gate.is_closed
    assert gate.open() == 3
    assert [c[1] for c in recorder.calls] == ["on_order_update", "on_account_position", "on_fill"]
    assert not gate.is_closed and gate.pending == 0
    gate.publish("on_trade", trade="t")
    assert recorder.calls[-1] == (None, "on_trade", {"trade": "t"})


def test_held_market_events_keep_only_the_newest_but_account_events_all():
    recorder = Recorder()
    gate = DispatchGate(recorder, market_limit=3)
    gate.close()
    for i in range(10):
        gate.publish("on_book_ticker", ticker=i)
        gate.publish_to("strategy:a", "on_fill", fill=i)
    gate.open()
    tickers = [c[2]["ticker"] for c in recorder.calls if c[1] == "on_book_ticker"]
    fills = [c[2]["fill"] for c in recorder.calls if c[1] == "on_fill"]
    assert tickers == [7, 8, 9]
    assert fills == list(range(10))
    assert gate.dropped_market == 7


def test_long_hold_compacts_dead_market_entries():
    gate = DispatchGate(Recorder(), market_limit=2)
    gate.close()
    for i in range(1000):
        gate.publish("on_trade", trade=i)
    assert gate.pending == 2
    assert len(gate._held) <= 2 * 2 + 1  # memory stays bounded while closed


def test_closing_twice_and_opening_an_open_gate_are_harmless():
    recorder = Recorder()
    gate = DispatchGate(recorder)
    assert gate.open() == 0
    gate.close()
    gate.close()
    gate.publish("on_trade", trade=1)
    assert gate.open() == 1


def test_misspelt_hook_fails_at_the_publisher_even_when_held():
    gate = DispatchGate(Recorder())
    gate.close()
    with pytest.raises(TradingdError, match="on_flil"):
        gate.publish_to("strategy:a", "on_flil", fill=1)
    with pytest.raises(TradingdError):
        gate.publish("on_start")
