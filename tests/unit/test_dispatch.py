"""daemon.dispatch: per-plugin inboxes, fault isolation, conflation, ordering."""

from __future__ import annotations

import logging

import pytest
import trio

from daemon.dispatch import Dispatcher
from daemon.errors import TradingdError
from daemon.hookspecs import hookimpl
from daemon.plugins import make_plugin_manager


class Recorder:
    """Records every event it gets, with the ctx it got it with."""

    def __init__(self) -> None:
        self.seen: list[tuple] = []

    @hookimpl
    def on_start(self, ctx):
        self.seen.append(("start", ctx))

    @hookimpl
    def on_trade(self, ctx, trade):
        self.seen.append(("trade", trade))

    @hookimpl
    async def on_fill(self, ctx, fill):
        await trio.sleep(0)
        self.seen.append(("fill", fill))

    @hookimpl
    def on_stop(self, ctx):
        self.seen.append(("stop", ctx))

    def of(self, kind):
        return [value for k, value in self.seen if k == kind]


class Raiser:
    def __init__(self) -> None:
        self.calls = 0

    @hookimpl
    def on_trade(self, trade):
        self.calls += 1
        raise ValueError(f"bad trade {trade}")


class Gate:
    """Blocks in on_start until released, so events pile up in its inbox."""

    def __init__(self) -> None:
        self.release = trio.Event()
        self.seen: list[tuple] = []

    @hookimpl
    async def on_start(self):
        await self.release.wait()

    @hookimpl
    def on_trade(self, trade):
        self.seen.append(("trade", trade))

    @hookimpl
    def on_order_update(self, order):
        self.seen.append(("order", order))


def manager(**plugins):
    pm = make_plugin_manager()
    for name, plugin in plugins.items():
        pm.register(plugin, name=f"strategy:{name}")
    return pm


async def wait_until(predicate, timeout=5.0, poll=0.001):
    with trio.fail_after(timeout):
        while not predicate():
            await trio.sleep(poll)


async def test_on_start_first_then_events_in_order_then_on_stop_with_own_ctx():
    rec = Recorder()
    contexts: dict[str, object] = {}
    dispatcher = Dispatcher(manager(a=rec), contexts)
    contexts["strategy:a"] = "ctx-a"  # filled after construction, as the daemon does
    dispatcher.publish("on_trade", trade=1)  # before run: queued behind on_start
    async with trio.open_nursery() as nursery:
        await nursery.start(dispatcher.run)
        dispatcher.publish("on_fill", fill="f1")
        dispatcher.publish("on_trade", trade=2)
        await dispatcher.stop()
        assert dispatcher.publish("on_trade", trade=3) == 0  # after stop: refused
    assert rec.seen == [("start", "ctx-a"), ("trade", 1), ("fill", "f1"), ("trade", 2), ("stop", "ctx-a")]
    stats = dispatcher.stats()["strategy:a"]
    assert (stats.delivered, stats.faults, stats.dropped, stats.discarded) == (5, 0, 0, 1)


async def test_bare_strategy_name_context_and_plain_plugins_get_none():
    rec, other = Recorder(), Recorder()
    pm = manager(a=rec)
    pm.register(other, name="audit")
    dispatcher = Dispatcher(pm, {"a": "ctx-a"})
    async with trio.open_nursery() as nursery:
        await nursery.start(dispatcher.run)
        await dispatcher.stop()
    assert rec.of("start") == ["ctx-a"] and other.of("start") == [None]


async def test_raising_plugin_does_not_affect_another(caplog):
    rec, bad = Recorder(), Raiser()
    dispatcher = Dispatcher(manager(bad=bad, good=rec), {})
    async with trio.open_nursery() as nursery:
        await nursery.start(dispatcher.run)
        for i in range(3):
            dispatcher.publish("on_trade", trade=i)
        await dispatcher.stop()
    assert rec.of("trade") == [0, 1, 2]
    assert bad.calls == 3
    stats = dispatcher.stats()
    assert stats["strategy:bad"].faults == 3 and not stats["strategy:bad"].disabled
    assert stats["strategy:good"].faults == 0
    failures = [r for r in caplog.records if "dispatch.hook_failed" in r.getMessage()]
    assert len(failures) == 3
    assert "plugin=strategy:bad hook=on_trade" in failures[0].getMessage()
    assert failures[0].exc_info and isinstance(failures[0].exc_info[1], ValueError)


async def test_sync_async_and_subset_argument_impls():
    class Subsets:
        def __init__(self):
            self.seen = []

        @hookimpl
        def on_start(self):  # declares no argument at all
            self.seen.append("start")

        @hookimpl
        async def on_trade(self, trade):  # no ctx
            await trio.sleep(0)
            self.seen.append(("trade", trade))

        @hookimpl
        def on_fill(self, ctx):  # ctx only
            self.seen.append(("fill", ctx))

        @hookimpl
        def on_book_ticker(self, ticker, ctx):  # any order
            self.seen.append(("ticker", ticker, ctx))

    plugin = Subsets()
    dispatcher = Dispatcher(manager(s=plugin), {"strategy:s": "C"})
    async with trio.open_nursery() as nursery:
        await nursery.start(dispatcher.run)
        dispatcher.publish("on_trade", trade=7)
        dispatcher.publish("on_fill", fill="ignored")
        dispatcher.publish("on_book_ticker", ticker="bt")
        await dispatcher.stop()
    assert plugin.seen == ["start", ("trade", 7), ("fill", "C"), ("ticker", "bt", "C")]


async def test_slow_plugin_does_not_delay_a_fast_one(autojump_clock):
    class Slow:
        def __init__(self):
            self.done = 0

        @hookimpl
        async def on_trade(self, trade):
            await trio.sleep(10)
            self.done += 1

    class Fast:
        def __init__(self):
            self.times = []

        @hookimpl
        def on_trade(self, trade):
            self.times.append(trio.current_time())

    slow, fast = Slow(), Fast()
    dispatcher = Dispatcher(manager(slow=slow, fast=fast), {})
    async with trio.open_nursery() as nursery:
        await nursery.start(dispatcher.run)
        start = trio.current_time()
        for i in range(5):
            dispatcher.publish("on_trade", trade=i)
        await wait_until(lambda: len(fast.times) == 5)
        assert max(fast.times) - start < 0.01
        assert slow.done == 0
        await wait_until(lambda: slow.done == 5, timeout=100, poll=1.0)
        await dispatcher.stop()


async def test_market_events_conflate_oldest_first_and_log_once_per_burst(caplog):
    caplog.set_level(logging.INFO, logger="daemon.dispatch")
    gate = Gate()
    dispatcher = Dispatcher(manager(g=gate), {}, inbox_size=3)
    async with trio.open_nursery() as nursery:
        await nursery.start(dispatcher.run)
        for i in range(10):
            dispatcher.publish("on_trade", trade=i)
        stats = dispatcher.stats()["strategy:g"]
        assert (stats.dropped, stats.pending) == (7, 3)
        gate.release.set()
        await wait_until(lambda: dispatcher.stats()["strategy:g"].pending == 0)
        await dispatcher.stop()
    assert gate.seen == [("trade", 7), ("trade", 8), ("trade", 9)]
    messages = [r.getMessage() for r in caplog.records]
    assert sum("dispatch.market_dropped plugin=strategy:g" in m for m in messages) == 1
    assert any("dispatch.market_drop_burst_end plugin=strategy:g dropped=7" in m for m in messages)


async def test_order_events_are_never_dropped_and_keep_their_order():
    gate = Gate()
    dispatcher = Dispatcher(manager(g=gate), {}, inbox_size=2)
    async with trio.open_nursery() as nursery:
        await nursery.start(dispatcher.run)
        for i in range(500):
            dispatcher.publish("on_trade", trade=i)
            dispatcher.publish("on_order_update", order=i)
        # dead market entries are compacted away: memory stays bounded by the live events
        assert len(dispatcher._inboxes["strategy:g"].queue) <= 500 + 2 * 2 + 1
        gate.release.set()
        await dispatcher.stop()
    orders = [value for kind, value in gate.seen if kind == "order"]
    trades = [value for kind, value in gate.seen if kind == "trade"]
    assert orders == list(range(500))
    assert trades == [498, 499]
    assert gate.seen[-3:] == [("order", 498), ("trade", 499), ("order", 499)]
    assert dispatcher.stats()["strategy:g"].dropped == 498


async def test_plugin_disabled_after_max_consecutive_faults(caplog):
    bad, rec = Raiser(), Recorder()
    dispatcher = Dispatcher(manager(bad=bad, good=rec), {}, max_faults=3)
    async with trio.open_nursery() as nursery:
        await nursery.start(dispatcher.run)
        for i in range(6):
            dispatcher.publish("on_trade", trade=i)
        await wait_until(lambda: len(rec.of("trade")) == 6)
        await wait_until(lambda: dispatcher.stats()["strategy:bad"].disabled)
        assert dispatcher.publish("on_trade", trade=99) == 1  # only the healthy plugin takes it
        await dispatcher.stop()
    assert bad.calls == 3
    stats = dispatcher.stats()["strategy:bad"]
    assert stats.disabled and stats.faults == 3 and stats.discarded == 4
    assert rec.of("trade") == [0, 1, 2, 3, 4, 5, 99] and rec.of("stop")
    assert any("dispatch.plugin_disabled plugin=strategy:bad" in r.getMessage() for r in caplog.records)


async def test_successes_reset_the_consecutive_fault_count():
    class Flaky:
        @hookimpl
        def on_trade(self, trade):
            if trade % 2:
                raise RuntimeError("odd")

    dispatcher = Dispatcher(manager(f=Flaky()), {}, max_faults=2)
    async with trio.open_nursery() as nursery:
        await nursery.start(dispatcher.run)
        for i in range(10):
            dispatcher.publish("on_trade", trade=i)
        await dispatcher.stop()
    stats = dispatcher.stats()["strategy:f"]
    assert (stats.faults, stats.delivered, stats.disabled) == (5, 5, False)


async def test_publish_to_routes_to_one_plugin():
    a, b = Recorder(), Recorder()
    dispatcher = Dispatcher(manager(a=a, b=b), {})
    async with trio.open_nursery() as nursery:
        await nursery.start(dispatcher.run)
        assert dispatcher.publish_to("strategy:b", "on_fill", fill="mine") is True
        assert dispatcher.publish_to("strategy:gone", "on_fill", fill="orphan") is False
        assert dispatcher.publish_to("strategy:a", "on_order_update", order="x") is False
        await dispatcher.stop()
    assert a.of("fill") == [] and b.of("fill") == ["mine"]


async def test_stop_is_bounded_when_a_plugin_hangs(autojump_clock, caplog):
    class Hangs:
        @hookimpl
        async def on_stop(self):
            await trio.sleep_forever()

    rec = Recorder()
    dispatcher = Dispatcher(manager(h=Hangs(), r=rec), {})
    async with trio.open_nursery() as nursery:
        await nursery.start(dispatcher.run)
        before = trio.current_time()
        await dispatcher.stop(drain_timeout_s=2.0)
        assert trio.current_time() - before == pytest.approx(2.0)
    assert rec.of("stop")
    assert any("dispatch.stop_timeout" in r.getMessage() and "strategy:h" in r.getMessage()
               for r in caplog.records)


async def test_stop_before_run_and_twice():
    dispatcher = Dispatcher(manager(a=Recorder()), {})
    await dispatcher.stop()
    await dispatcher.stop()
    with pytest.raises(TradingdError, match="run"):
        await dispatcher.run()


@pytest.mark.parametrize("hook, kwargs", [
    ("on_trdae", {"trade": 1}),
    ("on_trade", {"tick": 1}),
    ("on_trade", {"trade": 1, "ctx": None}),
    ("on_start", {}),
    ("check_order", {"request": 1}),
])
def test_publish_misuse_fails_loudly(hook, kwargs):
    dispatcher = Dispatcher(manager(a=Recorder()), {})
    with pytest.raises(TradingdError):
        dispatcher.publish(hook, **kwargs)
    with pytest.raises(TradingdError):
        dispatcher.publish_to("strategy:a", hook, **kwargs)


def test_only_plugins_with_event_hooks_get_inboxes():
    class RiskOnly:
        @hookimpl
        def check_order(self, ctx, request):
            return None

    pm = manager(a=Recorder())
    pm.register(RiskOnly(), name="risk")
    assert Dispatcher(pm, {}).plugin_names == ["strategy:a"]


async def test_a_deep_inbox_of_sync_calls_yields_to_other_plugins():
    log: list[str] = []

    class Named:
        def __init__(self, name):
            self.name = name

        @hookimpl
        def on_trade(self, trade):
            log.append(self.name)

    dispatcher = Dispatcher(manager(a=Named("a"), b=Named("b")), {})
    async with trio.open_nursery() as nursery:
        await nursery.start(dispatcher.run)
        for i in range(5):
            dispatcher.publish("on_trade", trade=i)
        await dispatcher.stop()
    assert sorted(log) == ["a"] * 5 + ["b"] * 5
    # Interleaved, not one plugin's whole inbox first.  trio runs every runnable
    # task once per scheduling batch but in random order, and a plugin task may
    # still be starting when the first events are published, so the other one can
    # be one event ahead -- never its whole inbox.
    assert max(log.index("a"), log.index("b")) <= 2
