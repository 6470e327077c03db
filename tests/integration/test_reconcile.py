"""Reconciliation against the real simulator: intents, snapshots, missed fills, strategies told once."""

from __future__ import annotations

from decimal import Decimal

import pytest
import trio
from reconcile_env import SYMBOL, place, reconcile_env

from daemon.errors import TransportError
from daemon.reconcile import Reconciler
from daemon.unknown_orders import UnknownOrderFetcher


def _store_view(store):
    balances = {a: fl for a, fl in store.balances().items() if fl[0] or fl[1]}
    orders = {(o.symbol, o.order_id): (o.status, o.executed_qty, o.cum_quote_qty)
              for o in store.orders()}
    fills = {(f.symbol, f.trade_id): (f.order_id, f.price, f.quantity, f.commission)
             for f in store.fills()}
    return balances, orders, fills


async def _exchange_view(env):
    account = await env.rest.account()
    balances = {b.asset: (b.free, b.locked) for b in account.balances if b.free or b.locked}
    orders = {(o.symbol, o.order_id): (o.status, o.executed_qty, o.cum_quote)
              for o in env.exchange_orders()}
    fills = {(t.symbol, t.id): (t.order_id, t.price, t.qty, t.commission)
             for t in await env.rest.my_trades(SYMBOL, limit=1000)}
    return balances, orders, fills


def _intent(store, cid, side="BUY", type_="LIMIT", strategy="alpha"):
    store.record_intent(cid, strategy, SYMBOL, {"symbol": SYMBOL, "side": side, "type": type_,
                                                "quantity": "0.001"})


async def test_crash_between_send_and_ack_is_resolved_by_client_id(tmp_path):
    async with reconcile_env(tmp_path) as env:
        _, ask = await env.best()
        # The daemon wrote the intent, the MARKET order executed, the process died.
        _intent(env.store, "alpha-market-1", type_="MARKET")
        await place(env.rest, side="BUY", type_="MARKET", client_order_id="alpha-market-1")
        # A resting order whose answer was lost (5xx) and never resolved.
        _intent(env.store, "alpha-rest-1")
        env.store.record_send_error("alpha-rest-1", "OutcomeUnknown: [-1000] boom", True)
        await place(env.rest, side="BUY", price=ask - Decimal("50"), client_order_id="alpha-rest-1")

        reconciler = Reconciler(env.rest, env.store, env.gate)
        await reconciler.on_connected()

        intents = {i.client_order_id: i for i in env.store.intents()}
        assert intents["alpha-market-1"].state == "acked"
        assert intents["alpha-rest-1"].state == "acked"
        market = env.store.orders(symbol=SYMBOL)
        assert {o.client_order_id: o.status for o in market} == {"alpha-market-1": "FILLED",
                                                                 "alpha-rest-1": "NEW"}
        assert all(o.strategy == "alpha" for o in market)
        fills = env.store.fills()
        assert fills and {f.client_order_id for f in fills} == {"alpha-market-1"}
        assert sum(f.quantity for f in fills) == Decimal("0.001")
        assert _store_view(env.store) == await _exchange_view(env)
        # The strategy heard of both orders and of each fill, once.
        assert {c["order"].client_order_id for c in env.recorder.of("on_order_update")} == \
            {"alpha-market-1", "alpha-rest-1"}
        assert sorted(c["fill"].trade_id for c in env.recorder.of("on_fill")) == \
            sorted(f.trade_id for f in fills)
        assert all(target == "strategy:alpha" for target, _, _ in env.recorder.calls)
        # Nothing was sent again: each client id exists once on the exchange.
        cids = [o.client_order_id for o in env.exchange_orders()]
        assert sorted(cids) == ["alpha-market-1", "alpha-rest-1"]


async def test_an_intent_that_never_reached_the_exchange_becomes_error(tmp_path):
    async with reconcile_env(tmp_path) as env:
        _intent(env.store, "alpha-lost-1", type_="MARKET")
        await trio.sleep(0.01)  # the daemon restarts after the intent was written
        reconciler = Reconciler(env.rest, env.store, env.gate, settle_s=0.5)
        with trio.fail_after(5):
            started = trio.current_time()
            report = await reconciler.reconcile()
        # "No such order" about a fresh intent is believed only once it is settle_s old.
        assert trio.current_time() - started >= 0.4
        assert report.intents_missing == 1
        intent = env.store.intents()[0]
        assert intent.state == "error" and "no order" in intent.error
        assert env.exchange_orders() == []  # asked, never re-sent


async def test_settle_wait_finds_an_order_that_lands_late(tmp_path):
    async with reconcile_env(tmp_path) as env:
        bid, _ = await env.best()
        _intent(env.store, "alpha-late-1")
        # The intent is a previous process's: strictly older than this reconciler
        # (pending intents from its own millisecond on are the live gateway's).
        await trio.sleep(0.005)
        reconciler = Reconciler(env.rest, env.store, env.gate, settle_s=30.0)

        async def lands_late():
            await trio.sleep(0.3)
            await place(env.rest, side="BUY", price=bid - Decimal("100"),
                        client_order_id="alpha-late-1")

        async with trio.open_nursery() as nursery:
            nursery.start_soon(lands_late)
            report = await reconciler.reconcile()
        assert report.intents_found == 1
        assert env.store.intents()[0].state == "acked"


async def test_orders_that_filled_while_away_and_missed_fills_are_recovered(tmp_path):
    async with reconcile_env(tmp_path) as env:
        env.clear_book()
        # Two resting SELLs the store knows as acked and open.
        for n in (1, 2):
            cid = f"alpha-sell-{n}"
            _intent(env.store, cid, side="SELL")
            order = await place(env.rest, side="SELL", quantity="0.002",
                                price=Decimal(30000 + n), client_order_id=cid)
            env.store.record_ack(cid, order)
        # While "down": the other account takes both orders, in two bites each.
        for _ in range(4):
            await place(env.other, side="BUY", price=Decimal(30002), tif="IOC")
        trades = sorted(await env.rest.my_trades(SYMBOL), key=lambda t: t.id)
        assert len(trades) == 4
        # The store saw only the newest fill (events reordered, then the crash).
        env.store.record_rest_fills([trades[-1]], source="stream")
        reconciler = Reconciler(env.rest, env.store, env.gate)
        await reconciler.on_connected()
        assert reconciler.last_report.fills_recovered == 3
        assert {o.status for o in env.store.orders()} == {"FILLED"}
        assert _store_view(env.store) == await _exchange_view(env)
        assert sorted(c["fill"].trade_id for c in env.recorder.of("on_fill")) == \
            sorted(t.id for t in trades[:-1])
        assert {c["order"].client_order_id for c in env.recorder.of("on_order_update")} == \
            {"alpha-sell-1", "alpha-sell-2"}


async def test_a_trade_of_an_order_placed_elsewhere_fetches_that_order(tmp_path):
    async with reconcile_env(tmp_path) as env:
        _intent(env.store, "alpha-m-1", type_="MARKET")
        env.store.record_ack("alpha-m-1", await place(env.rest, side="BUY", type_="MARKET",
                                                      client_order_id="alpha-m-1"))
        reconciler = Reconciler(env.rest, env.store, env.gate)
        await reconciler.reconcile()
        assert env.store.fills()
        # Someone trades on the same account from the web UI.
        outside = await place(env.rest, side="SELL", type_="MARKET", client_order_id="web-1")
        await reconciler.reconcile()
        stored = env.store.order(SYMBOL, outside.order_id)
        assert stored is not None and stored.strategy is None and stored.status == "FILLED"
        assert _store_view(env.store) == await _exchange_view(env)


async def test_second_run_changes_nothing_and_tells_nobody(tmp_path):
    async with reconcile_env(tmp_path) as env:
        _intent(env.store, "alpha-m-1", type_="MARKET")
        await place(env.rest, side="BUY", type_="MARKET", client_order_id="alpha-m-1")
        reconciler = Reconciler(env.rest, env.store, env.gate)
        await reconciler.on_connected()
        calls, journal = len(env.recorder.calls), env.store.last_journal_id()
        await reconciler.on_connected()
        assert reconciler.last_report.orders_updated == 0
        assert reconciler.last_report.fills_recovered == 0
        assert len(env.recorder.calls) == calls
        assert env.store.last_journal_id() == journal


async def test_strategies_are_held_until_reconciliation_succeeds(tmp_path):
    async with reconcile_env(tmp_path) as env:
        reconciler = Reconciler(env.rest, env.store, env.gate)
        real_account = env.rest.account
        entered, release = trio.Event(), trio.Event()

        async def slow_account():
            entered.set()
            await release.wait()
            return await real_account()

        env.rest.account = slow_account
        async with trio.open_nursery() as nursery:
            nursery.start_soon(reconciler.on_connected)
            await entered.wait()
            env.gate.publish("on_trade", trade="live")       # a live event meanwhile
            assert env.recorder.calls == [] and env.gate.is_closed
            release.set()
        assert env.recorder.calls == [(None, "on_trade", {"trade": "live"})]

        async def failing_account():
            raise TransportError("connection refused")

        env.rest.account = failing_account
        with pytest.raises(TransportError):
            await reconciler.on_connected()
        env.gate.publish("on_trade", trade="after failure")
        assert env.gate.is_closed and len(env.recorder.calls) == 1  # still held
        env.rest.account = real_account
        await reconciler.on_connected()
        assert env.recorder.calls[-1] == (None, "on_trade", {"trade": "after failure"})


async def test_unknown_order_seen_on_the_stream_is_fetched_with_its_fills(tmp_path):
    async with reconcile_env(tmp_path) as env:
        outside = await place(env.rest, side="BUY", type_="MARKET", client_order_id="web-2")
        fetcher = UnknownOrderFetcher(env.rest, env.store, retry_delays=())
        assert fetcher.request(SYMBOL, outside.order_id) is True
        assert fetcher.request(SYMBOL, outside.order_id) is False  # once per process
        async with trio.open_nursery() as nursery:
            await nursery.start(fetcher.run)
            with trio.fail_after(5):
                while fetcher.fetched == 0:
                    await trio.sleep(0.02)
            nursery.cancel_scope.cancel()
        stored = env.store.order(SYMBOL, outside.order_id)
        assert stored.status == "FILLED" and stored.strategy is None
        assert sum(f.quantity for f in env.store.fills_of_order(SYMBOL, outside.order_id)) == \
            stored.executed_qty


async def test_intents_left_unknown_are_resolved_without_a_reconnect(tmp_path):
    async with reconcile_env(tmp_path) as env:
        bid, _ = await env.best()
        for cid in ("alpha-old-1", "alpha-young-1"):
            _intent(env.store, cid)
            env.store.record_send_error(cid, "OutcomeUnknown: [-1007] timeout", True)
            await place(env.rest, side="BUY", price=bid - Decimal("100"), client_order_id=cid)
        now = [env.store.intents()[0].updated_at]
        reconciler = Reconciler(env.rest, env.store, env.gate, clock_ms=lambda: now[0])
        assert await reconciler.resolve_unknown(min_age_s=30) == 0  # the gateway may still ask
        now[0] += 31_000
        assert await reconciler.resolve_unknown(min_age_s=30) == 2
        assert {i.state for i in env.store.intents()} == {"acked"}
        assert {c["order"].client_order_id for c in env.recorder.of("on_order_update")} == \
            {"alpha-old-1", "alpha-young-1"}
        assert await reconciler.resolve_unknown(min_age_s=30) == 0

        async with trio.open_nursery() as nursery:  # the watcher task survives a failing REST
            real = env.rest.get_order
            calls = []

            async def failing(*args, **kwargs):
                calls.append(args)
                raise TransportError("down")

            _intent(env.store, "alpha-down-1")
            env.store.record_send_error("alpha-down-1", "OutcomeUnknown: [-1000]", True)
            now[0] = env.store.intents()[-1].updated_at + 60_000
            env.rest.get_order = failing
            await nursery.start(reconciler.watch_intents, 0.05)
            with trio.fail_after(5):
                while len(calls) < 2:
                    await trio.sleep(0.02)
            env.rest.get_order = real
            with trio.fail_after(5):
                while env.store.intents()[-1].state == "unknown":
                    await trio.sleep(0.02)
            nursery.cancel_scope.cancel()
        assert env.store.intents()[-1].state == "error"  # never placed: the exchange has none
