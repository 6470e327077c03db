"""BinanceRest's endpoint methods against the simulator over loopback.

Trade history, market trades, average price, test orders, OCO lists and the bulk
cancel, each through the daemon's own client (signing, governor, decoding), and
checked against what the in-process exchange holds.  The market is paused, so the
trades are exactly the ones the test causes.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from daemon.credentials import Credentials
from daemon.errors import OrderRejected, UnknownOrder
from daemon.venues.binance.market_history import RestMarketHistory
from daemon.venues.binance.models import RestAggTrade, RestOrder, RestOrderList, RestPublicTrade
from daemon.venues.binance.rest import BinanceRest
from sim import SimConfig, SimHandle, run_simulator

SYMBOL = "BTCUSDT"


@pytest.fixture
async def sim(nursery) -> SimHandle:
    handle = await nursery.start(run_simulator, SimConfig(participant_interval_ms=10_000))
    handle.exchange.pause_market()
    yield handle
    handle.shutdown()


@pytest.fixture
async def rest(sim):
    client = BinanceRest(sim.rest_url, Credentials(sim.api_key, sim.api_secret))
    await client.sync_clock()
    yield client
    await client.aclose()


def best(sim: SimHandle, side: str) -> Decimal:
    return sim.exchange.books[SYMBOL].best(side)[0]


async def market(rest: BinanceRest, side: str, cid: str) -> RestOrder:
    return await rest.new_order({"symbol": SYMBOL, "side": side, "type": "MARKET",
                                 "quantity": "0.01", "newClientOrderId": cid})


def oco_params(sim: SimHandle, list_id: str) -> dict[str, str]:
    last = sim.exchange.last_price(SYMBOL)
    return {"symbol": SYMBOL, "side": "SELL", "quantity": "0.01",
            "price": str(best(sim, "SELL") + 100), "stopPrice": str(last - 100),
            "stopLimitPrice": str(last - 150), "stopLimitTimeInForce": "GTC",
            "listClientOrderId": list_id, "limitClientOrderId": f"{list_id}-limit",
            "stopClientOrderId": f"{list_id}-stop"}


async def test_my_trades_by_order_id_from_id_and_time(sim, rest):
    first = await market(rest, "BUY", "mt-1")
    second = await market(rest, "SELL", "mt-2")
    every = await rest.my_trades(SYMBOL, limit=1000)
    assert {t.order_id for t in every} == {first.order_id, second.order_id}
    of_second = await rest.my_trades(SYMBOL, order_id=second.order_id)
    assert of_second and {t.order_id for t in of_second} == {second.order_id}
    assert sum(t.qty for t in of_second) == second.executed_qty
    ids = sorted(t.id for t in every)
    assert [t.id for t in await rest.my_trades(SYMBOL, from_id=ids[1])] == ids[1:]
    paged = await rest.my_trades(SYMBOL, order_id=second.order_id, from_id=of_second[-1].id)
    assert [t.id for t in paged] == [of_second[-1].id]
    now = sim.exchange.now_ms()
    timed = await rest.my_trades(SYMBOL, start_time=now - 60_000, end_time=now + 1)
    assert sorted(t.id for t in timed) == ids
    assert await rest.my_trades(SYMBOL, end_time=min(t.time for t in every) - 1) == []


async def test_recent_historical_and_aggregate_trades_match_the_tape(sim, rest):
    for _ in range(30):
        sim.exchange.step()
    kept = sim.exchange.tape[SYMBOL].trades()
    assert len(kept) > 5
    recent = await rest.recent_trades(SYMBOL, limit=3)
    assert all(isinstance(t, RestPublicTrade) for t in recent)
    assert [(t.id, t.price, t.qty) for t in recent] == [
        (t.trade_id, t.price, t.qty) for t in kept[-3:]]
    old = await rest.historical_trades(SYMBOL, from_id=kept[1].trade_id, limit=2)
    assert [t.id for t in old] == [kept[1].trade_id, kept[2].trade_id]
    assert [t.id for t in await rest.historical_trades(SYMBOL, limit=2)] == [
        t.trade_id for t in kept[-2:]]
    aggs = await rest.agg_trades(SYMBOL, limit=1000)
    assert all(isinstance(a, RestAggTrade) for a in aggs)
    assert (aggs[0].first_trade_id, aggs[-1].last_trade_id) == (kept[0].trade_id, kept[-1].trade_id)
    assert sum(a.quantity for a in aggs) == sum(t.qty for t in kept)
    second = await rest.agg_trades(SYMBOL, from_id=aggs[1].agg_trade_id, limit=1)
    assert second == [aggs[1]]
    now = sim.exchange.now_ms()
    assert await rest.agg_trades(SYMBOL, start_time=now - 3_600_000, end_time=now) == aggs


async def test_market_history_uses_historical_trades_or_falls_back_without_a_key(sim, rest):
    for _ in range(20):
        sim.exchange.step()
    kept = sim.exchange.tape[SYMBOL].trades()
    history = RestMarketHistory(rest)
    after = await history.trades_after(SYMBOL, kept[0].trade_id, limit=3)
    assert [t.trade_id for t in after] == [t.trade_id for t in kept[1:4]]
    aggs = await history.agg_trades_after(SYMBOL, 0, limit=1000)
    assert aggs[-1].last_trade_id == kept[-1].trade_id
    async with BinanceRest(sim.rest_url, None) as public:
        keyless = RestMarketHistory(public)
        fallback = await keyless.trades_after(SYMBOL, kept[0].trade_id, limit=3)
        assert [t.trade_id for t in fallback] == [t.trade_id for t in kept[1:4]]
        assert keyless._use_api_key is False


async def test_avg_price_is_the_exchanges(sim, rest):
    for _ in range(10):
        sim.exchange.step()
    price = await rest.avg_price(SYMBOL)
    assert isinstance(price, Decimal)
    assert price == sim.exchange.avg_price(SYMBOL).quantize(Decimal("0.00000001"))


async def test_test_order_validates_and_executes_nothing(sim, rest):
    bid = best(sim, "BUY")
    limit = {"symbol": SYMBOL, "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
             "quantity": "0.001", "price": str(bid)}
    assert await rest.test_order(limit) is None
    assert sim.exchange.default_account.orders == {}
    assert await rest.open_orders(SYMBOL) == []
    with pytest.raises(OrderRejected) as refused:
        await rest.test_order({**limit, "quantity": "0.0001"})
    assert (refused.value.code, refused.value.exchange_message) == (
        -1013, "Filter failure: MIN_NOTIONAL")


async def test_oco_lifecycle_and_the_orders_count(sim, rest):
    counts: list[tuple[int | None, int | None]] = []
    rest.on_order_counts = lambda c10s, c1d: counts.append((c10s, c1d))
    placed = await rest.new_oco(oco_params(sim, "list-1"))
    assert isinstance(placed, RestOrderList)
    assert (placed.symbol, placed.list_client_order_id, placed.list_status_type,
            placed.list_order_status) == (SYMBOL, "list-1", "EXEC_STARTED", "EXECUTING")
    assert sorted(r.client_order_id for r in placed.order_reports) == ["list-1-limit",
                                                                      "list-1-stop"]
    assert {r.order_list_id for r in placed.order_reports} == {placed.order_list_id}
    assert counts and counts[-1][0] == 2 and counts[-1][1] == 2   # an OCO counts two orders
    by_id = await rest.get_order_list(order_list_id=placed.order_list_id)
    by_client = await rest.get_order_list(orig_client_order_id="list-1")
    assert by_id == by_client and by_id.order_reports == ()
    assert [o.order_id for o in by_id.orders] == [o.order_id for o in placed.orders]
    assert await rest.open_order_lists() == [by_id]
    canceled = await rest.cancel_order_list(SYMBOL, list_client_order_id="list-1")
    assert (canceled.list_status_type, canceled.list_order_status) == ("ALL_DONE", "ALL_DONE")
    assert {r.status for r in canceled.order_reports} == {"CANCELED"}
    assert await rest.open_order_lists() == []
    with pytest.raises(UnknownOrder):
        await rest.get_order_list(order_list_id=placed.order_list_id + 100)
    with pytest.raises(OrderRejected):   # prices on the wrong sides of the last price
        await rest.new_oco({**oco_params(sim, "list-2"), "price": str(best(sim, "BUY") - 200)})


async def test_cancel_open_orders_returns_orders_and_lists(sim, rest):
    resting = await rest.new_order({"symbol": SYMBOL, "side": "BUY", "type": "LIMIT",
                                    "timeInForce": "GTC", "quantity": "0.001",
                                    "price": str(best(sim, "BUY") - 10)})
    placed = await rest.new_oco(oco_params(sim, "list-3"))
    canceled = await rest.cancel_open_orders(SYMBOL)
    orders = [c for c in canceled if isinstance(c, RestOrder)]
    lists = [c for c in canceled if isinstance(c, RestOrderList)]
    assert [o.order_id for o in orders] == [resting.order_id]
    assert orders[0].status == "CANCELED"
    assert [lst.order_list_id for lst in lists] == [placed.order_list_id]
    assert await rest.open_orders(SYMBOL) == []
    with pytest.raises(UnknownOrder):
        await rest.cancel_open_orders(SYMBOL)
