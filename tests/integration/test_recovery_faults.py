"""The daemon against the simulator's faults: lost answers, duplicated and reordered events, drops.

Each test runs the real daemon (embedded simulator, market paused so only the
test trades) with a strategy driven by hand, injects one fault through the
simulator's Python API, and checks the promise: the database equals the
exchange, no order was sent twice, and the strategy heard of each fill once.
"""

from __future__ import annotations

import contextlib
from decimal import Decimal

import pytest
import trio

from daemon.app import Daemon
from daemon.config import parse_config
from daemon.credentials import Credentials
from daemon.orders import Accepted, OrderRequest, OrderType, RejectCode, Rejection, Side, TimeInForce
from daemon.venues.binance.rest import BinanceRest

SYMBOL = "BTCUSDT"
OTHER_KEY = "FaultTestOtherKey000000000000000000000000000000000000000000000001"
OTHER_SECRET = "FaultTestOtherSecret0000000000000000000000000000000000000000000001"
SETTLE_TIMEOUT_S = 10


class Harness:
    def __init__(self, daemon: Daemon, other: BinanceRest) -> None:
        self.daemon = daemon
        self.other = other
        self.strategy = daemon.strategies["s"]

    @property
    def exchange(self):
        return self.daemon.sim_handle.exchange

    @property
    def faults(self):
        return self.daemon.sim_handle.faults

    @property
    def store(self):
        return self.daemon.store

    def best(self, side: str) -> Decimal:
        return self.exchange.books[SYMBOL].best(side)[0]

    def orders_with(self, client_order_id: str) -> list:
        return [o for o in self.exchange.default_account.orders.values()
                if o.client_order_id == client_order_id]

    def clear_book(self) -> None:
        for order in list(self.exchange.books[SYMBOL].resting()):
            if order.owner is None:
                self.exchange.participant_cancel(order)

    async def submit(self, side: Side, price: Decimal, cid: str, qty: str = "0.001",
                     tif: TimeInForce = TimeInForce.IOC):
        return await self.strategy.ctx.submit(OrderRequest(
            symbol=SYMBOL, side=side, type=OrderType.LIMIT, quantity=Decimal(qty), price=price,
            time_in_force=tif, client_order_id=cid))

    def views(self):
        account = self.exchange.default_account
        theirs = (
            {a: (b.free, b.locked) for a, b in account.balances.items() if b.free or b.locked},
            {(o.symbol, o.order_id): (o.status, o.executed_qty) for o in account.orders.values()},
            {(t.symbol, t.trade_id): (t.order_id, t.qty, t.commission)
             for t in account.trades.get(SYMBOL, [])},
        )
        ours = (
            {a: fl for a, fl in self.store.balances().items() if fl[0] or fl[1]},
            {(o.symbol, o.order_id): (o.status, o.executed_qty) for o in self.store.orders()},
            {(f.symbol, f.trade_id): (f.order_id, f.quantity, f.commission)
             for f in self.store.fills()},
        )
        return ours, theirs

    async def settled(self) -> None:
        """Wait until the database equals the exchange and the strategy heard every fill."""
        ours = theirs = None
        with trio.move_on_after(SETTLE_TIMEOUT_S):
            while True:
                ours, theirs = self.views()
                if ours == theirs and len(self.strategy.fills) >= len(theirs[2]):
                    break
                await trio.sleep(0.05)
        assert ours[0] == theirs[0], "balances differ"
        assert ours[1] == theirs[1], "orders differ"
        assert ours[2] == theirs[2], "fills differ"
        delivered = [f.trade_id for f in self.strategy.fills]
        assert sorted(delivered) == sorted(t for _, t in theirs[2]), "each fill once to the strategy"


@contextlib.asynccontextmanager
async def running_daemon(tmp_path):
    config = parse_config({
        "daemon": {"database": str(tmp_path / "state.sqlite")},
        "venue": {"kind": "sim"},
        "sim": {"seed": 21, "participant_interval_ms": 50},
        "strategies": {"s": {"kind": "scripted_strategy:ScriptedStrategy"}},
    }, base_dir=tmp_path)
    daemon = Daemon(config)
    async with trio.open_nursery() as nursery:
        await nursery.start(daemon.run)
        strategy = daemon.strategies["s"]
        with trio.fail_after(10):  # a last price first: the gateway's filters need one
            await strategy.started.wait()
            while strategy.ctx.last_price(SYMBOL) is None:
                await trio.sleep(0.02)
        daemon.sim_handle.exchange.pause_market()
        daemon.sim_handle.exchange.accounts.add(
            OTHER_KEY, OTHER_SECRET, {"USDT": Decimal("1000000"), "BTC": Decimal("100")},
            maker_rate=Decimal("0.001"), taker_rate=Decimal("0.001"))
        other = BinanceRest(daemon.sim_handle.rest_url, Credentials(OTHER_KEY, OTHER_SECRET))
        harness = Harness(daemon, other)
        try:
            yield harness
        finally:
            with trio.CancelScope(shield=True):
                await other.aclose()
            daemon.request_stop()


@pytest.mark.parametrize("fault", ["fail_next_orders", "unknown_status_next_orders"])
async def test_lost_answer_of_an_executed_order_is_resolved_not_resent(tmp_path, fault):
    async with running_daemon(tmp_path) as h:
        getattr(h.faults, fault)(1, executed=True)
        result = await h.submit(Side.BUY, h.best("SELL"), "s-exec-1")
        assert isinstance(result, Accepted), result
        assert len(h.orders_with("s-exec-1")) == 1  # placed once, never re-sent
        assert [i.state for i in h.store.intents()] == ["acked"]
        await h.settled()
        assert len(h.strategy.fills) >= 1


@pytest.mark.parametrize("fault", ["fail_next_orders", "unknown_status_next_orders"])
async def test_lost_answer_of_an_order_never_executed_is_refused_not_resent(tmp_path, fault):
    async with running_daemon(tmp_path) as h:
        getattr(h.faults, fault)(1, executed=False)
        result = await h.submit(Side.BUY, h.best("SELL"), "s-lost-1")
        assert isinstance(result, Rejection) and result.code is RejectCode.EXCHANGE_REJECTED
        assert "no such order" in result.reason
        assert h.orders_with("s-lost-1") == []
        assert [i.state for i in h.store.intents()] == ["error"]
        await h.settled()
        with trio.fail_after(5):  # delivered through the strategy's inbox
            while not h.strategy.rejections:
                await trio.sleep(0.02)
        assert [r.client_order_id for r in h.strategy.rejections] == ["s-lost-1"]


async def test_duplicated_user_events_count_each_fill_once(tmp_path):
    async with running_daemon(tmp_path) as h:
        h.faults.duplicate_user_events(60)
        for n in range(3):
            assert isinstance(await h.submit(Side.BUY, h.best("SELL"), f"s-dup-{n}", qty="0.003"),
                              Accepted)
        await h.settled()
        assert h.faults.effects["duplicated_user_events"] > 0
        assert h.daemon.store.counts()["fills"] == len(h.strategy.fills)


async def test_reordered_user_events_never_move_an_order_backwards(tmp_path):
    async with running_daemon(tmp_path) as h:
        h.clear_book()
        h.faults.reorder_user_events(60)
        resting = [await h.submit(Side.SELL, Decimal(30000 + n), f"s-rest-{n}", qty="0.002",
                                  tif=TimeInForce.GTC) for n in range(3)]
        assert all(isinstance(r, Accepted) for r in resting)
        for _ in range(6):  # the other account takes them in bites of 0.001
            await h.other.new_order({"symbol": SYMBOL, "side": "BUY", "type": "LIMIT",
                                     "timeInForce": "IOC", "quantity": "0.001", "price": "30010"})
        await h.settled()
        assert h.faults.effects["reordered_user_events"] > 0
        assert {o.status for o in h.store.orders()} == {"FILLED"}


async def test_fills_during_a_user_stream_drop_are_recovered_and_delivered_once(tmp_path):
    async with running_daemon(tmp_path) as h:
        h.clear_book()
        for n in range(4):
            assert isinstance(await h.submit(Side.SELL, Decimal(30000 + n), f"s-drop-{n}",
                                             tif=TimeInForce.GTC), Accepted)
        await h.settled()
        dropped = h.faults.drop_connections("user")
        assert dropped >= 1
        for _ in range(4):  # they all fill while the daemon is not listening
            await h.other.new_order({"symbol": SYMBOL, "side": "BUY", "type": "LIMIT",
                                     "timeInForce": "IOC", "quantity": "0.001", "price": "30010"})
        await h.settled()
        recovered = [f for f in h.store.fills() if f.source == "reconcile"]
        assert recovered, "the fills were found by reconciliation, not by the stream"
        assert len(h.strategy.fills) == 4


async def test_duplicate_order_sent_is_proof_the_order_exists(tmp_path):
    async with running_daemon(tmp_path) as h:
        price = h.best("BUY") - Decimal(50)
        # An earlier attempt of this very intent got through (its answer was lost).
        rest = BinanceRest(h.daemon.sim_handle.rest_url,
                           Credentials(h.daemon.sim_handle.api_key, h.daemon.sim_handle.api_secret))
        try:
            await rest.new_order({"symbol": SYMBOL, "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
                                  "quantity": "0.001", "price": format(price, "f"),
                                  "newClientOrderId": "s-twice-1"})
        finally:
            await rest.aclose()
        result = await h.submit(Side.BUY, price, "s-twice-1", tif=TimeInForce.GTC)
        assert isinstance(result, Accepted), result
        assert len(h.orders_with("s-twice-1")) == 1
        assert [i.state for i in h.store.intents()] == ["acked"]
        await h.settled()
