"""The read side: time ranges, strategy filters, journal tails, last trade id, sync modes."""

from decimal import Decimal

import pytest

from daemon.errors import StateError
from state import Store
from state_factories import (FixedClock, account_position, balance_update, execution_report,
                             rest_trade, trade_report)


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "state.db", clock=FixedClock(start=10_000)) as s:
        yield s


def test_last_trade_id_is_the_highest_per_symbol_whatever_the_arrival_order(store):
    assert store.last_trade_id("BTCUSDT") is None
    store.apply_execution_report(*trade_report(trade_id=70, last_qty="0.5", cum_qty="0.5",
                                               transaction_time=2_000))
    store.record_rest_fill(rest_trade(id=65, time=1_900))  # an older fill recovered later
    store.record_rest_fill(rest_trade(symbol="ETHUSDT", id=9_000, order_id=5))
    assert store.last_trade_id("BTCUSDT") == 70
    assert store.last_trade_id("ETHUSDT") == 9_000
    assert store.last_trade_id("BNBUSDT") is None


def test_orders_filter_by_strategy_and_creation_time(store):
    store.record_intent("grid-1", "grid", "BTCUSDT", {"symbol": "BTCUSDT"})
    store.record_intent("mm-1", "mm", "BTCUSDT", {"symbol": "BTCUSDT"})
    for order_id, client_id, created in ((1, "grid-1", 1_000), (2, "mm-1", 2_000),
                                         (3, "web-1", 3_000)):
        store.apply_execution_report(*execution_report(
            order_id=order_id, client_order_id=client_id, order_time=created,
            transaction_time=created))
    assert [o.order_id for o in store.orders(strategy="grid")] == [1]
    assert [o.order_id for o in store.orders(since_ms=2_000)] == [2, 3]
    assert [o.order_id for o in store.orders(until_ms=2_000)] == [1]
    assert [o.order_id for o in store.orders(since_ms=1_000, until_ms=3_000, limit=1)] == [2]
    # Time filters use the creation time: a later fill does not bring an old order in.
    store.apply_execution_report(*trade_report(order_id=1, client_order_id="grid-1", trade_id=5,
                                               last_qty="1", cum_qty="1", transaction_time=5_000,
                                               order_time=1_000))
    assert [o.order_id for o in store.orders(since_ms=4_000)] == []


def test_fills_filter_by_half_open_trade_time_range(store):
    for trade_id, when in ((1, 1_000), (2, 2_000), (3, 3_000)):
        store.record_rest_fill(rest_trade(id=trade_id, time=when))
    assert [f.trade_id for f in store.fills(since_ms=2_000)] == [2, 3]
    assert [f.trade_id for f in store.fills(until_ms=3_000)] == [1, 2]
    assert [f.trade_id for f in store.fills(since_ms=1_000, until_ms=3_000, limit=1)] == [2]


def test_journal_filters_by_symbol_time_and_position(store):
    store.apply_execution_report(*execution_report(symbol="BTCUSDT", order_id=1))
    store.apply_execution_report(*execution_report(symbol="ETHUSDT", order_id=1))
    store.apply_balance_update(*balance_update("BTC", "1", 500))
    store.record_rejection("grid", "", "ETHUSDT", "LOT_SIZE", "qty too small", {})
    entries = store.journal()
    assert [e["symbol"] for e in entries] == ["BTCUSDT", "ETHUSDT", None, "ETHUSDT"]
    assert [e["kind"] for e in store.journal(symbol="ETHUSDT")] == ["executionReport",
                                                                     "rejection"]
    times = [e["recorded_at"] for e in entries]
    assert store.journal(since_ms=times[1], until_ms=times[3]) == entries[1:3]
    assert store.journal(after_id=entries[1]["id"]) == entries[2:]
    assert store.journal(after_id=entries[1]["id"], limit=1) == entries[3:]
    assert store.last_journal_id() == entries[-1]["id"]


def test_balance_rows_filter_and_keep_the_most_recently_updated(store):
    store.apply_account_position(*account_position(1_000, BTC=("1", "0"), ETH=("0", "0")))
    store.apply_account_position(*account_position(2_000, USDT=("50.5", "4.5")))
    assert [b.asset for b in store.balance_rows()] == ["BTC", "ETH", "USDT"]
    assert [b.asset for b in store.balance_rows(nonzero=True)] == ["BTC", "USDT"]
    assert [b.asset for b in store.balance_rows(since_ms=1_500)] == ["USDT"]
    assert [b.asset for b in store.balance_rows(until_ms=1_500, nonzero=True)] == ["BTC"]
    assert [b.asset for b in store.balance_rows(limit=1)] == ["USDT"]
    usdt = store.balance_rows(asset="USDT")[0]
    assert (usdt.free, usdt.locked, usdt.total) == (Decimal("50.5"), Decimal("4.5"),
                                                    Decimal("55.0"))


@pytest.mark.parametrize("kwargs", [{"since_ms": 1.5}, {"until_ms": "1000"}, {"limit": -1},
                                    {"limit": True}])
def test_bad_query_bounds_are_refused(store, kwargs):
    with pytest.raises(StateError):
        store.fills(**kwargs)


@pytest.mark.parametrize("mode, expected", [("FULL", 2), ("normal", 1)])
def test_synchronous_mode_is_chosen_at_open(tmp_path, mode, expected):
    with Store.open(tmp_path / "state.db", synchronous=mode) as store:
        with store._reading() as conn:
            assert conn.execute("PRAGMA synchronous").fetchone()[0] == expected


def test_unknown_synchronous_mode_is_refused_before_touching_the_file(tmp_path):
    with pytest.raises(StateError, match="synchronous"):
        Store.open(tmp_path / "state.db", synchronous="OFF")
    assert not (tmp_path / "state.db").exists()
