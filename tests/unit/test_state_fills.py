"""Fills: one row per (symbol, trade id), however often and from wherever it arrives."""

from decimal import Decimal

import pytest

from daemon.errors import StateError
from state import Store
from state_factories import (FixedClock, dump, execution_report, rest_order, rest_trade,
                             trade_report)


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "state.db", clock=FixedClock()) as s:
        yield s


def test_trade_report_records_its_fill(store):
    store.record_intent("grid-0001", "grid", "BTCUSDT", {"side": "BUY"})
    ev, raw = trade_report(trade_id=42, last_qty="0.25000000", cum_qty="0.25000000",
                           price="101.50000000", transaction_time=5_000, maker=True)
    fill = store.apply_execution_report(ev, raw=raw).fill
    assert (fill.symbol, fill.trade_id, fill.order_id, fill.side) == ("BTCUSDT", 42, 1, "BUY")
    assert fill.price == Decimal("101.5") and fill.quantity == Decimal("0.25")
    assert fill.quote_qty == Decimal("25.375") and fill.commission == Decimal("0.0001")
    assert (fill.commission_asset, fill.is_maker, fill.trade_time) == ("BNB", True, 5_000)
    assert (fill.client_order_id, fill.strategy, fill.source) == ("grid-0001", "grid", "stream")
    assert store.fills() == [fill]


def test_missing_last_quote_qty_is_price_times_qty(store):
    ev, raw = execution_report(x="TRADE", status="PARTIALLY_FILLED", last_qty="0.30000000",
                               cum_qty="0.30000000", last_price="99.10000000", trade_id=7,
                               commission_asset="USDT")
    assert ev.last_quote_qty == 0
    assert store.apply_execution_report(ev).fill.quote_qty == Decimal("29.73")


def test_same_trade_from_stream_then_rest_is_one_fill(store, tmp_path):
    ev, raw = trade_report(trade_id=500, last_qty="0.40000000", cum_qty="0.40000000",
                           transaction_time=2_000)
    assert store.apply_execution_report(ev, raw=raw).fill is not None
    before = dump(tmp_path / "state.db")
    assert store.record_rest_fill(rest_trade(id=500)) is None
    assert dump(tmp_path / "state.db") == before
    assert len(store.fills()) == 1


def test_rest_fill_first_then_stream_trade_changes_only_the_order(store):
    store.record_intent("grid-0001", "grid", "BTCUSDT", {"side": "BUY"})
    store.upsert_rest_order(rest_order())
    recovered = store.record_rest_fill(rest_trade(id=500))
    assert recovered is not None and recovered.strategy == "grid"
    assert recovered.client_order_id == "grid-0001" and recovered.source == "reconcile"
    assert store.record_rest_fill(rest_trade(id=500)) is None
    applied = store.apply_execution_report(*trade_report(
        trade_id=500, last_qty="0.40000000", cum_qty="0.40000000", transaction_time=2_000))
    assert applied.fill is None
    assert applied.order.executed_qty == Decimal("0.4")
    assert [f.source for f in store.fills()] == ["reconcile"]


def test_rest_fill_of_unknown_order_has_no_attribution(store):
    fill = store.record_rest_fill(rest_trade(id=1, order_id=77, is_buyer=False))
    assert (fill.side, fill.client_order_id, fill.strategy) == ("SELL", None, None)


def test_same_trade_id_on_another_symbol_is_another_fill(store):
    store.record_rest_fill(rest_trade(id=9))
    assert store.record_rest_fill(rest_trade(id=9, symbol="ETHUSDT")) is not None
    assert len(store.fills()) == 2
    assert [f.symbol for f in store.fills(symbol="ETHUSDT")] == ["ETHUSDT"]


def test_fills_since_and_limit(store):
    for trade_id in range(1, 6):
        store.record_rest_fill(rest_trade(id=trade_id, time=trade_id * 1_000))
    assert [f.trade_id for f in store.fills(since_ms=3_000)] == [3, 4, 5]
    assert [f.trade_id for f in store.fills(limit=2)] == [4, 5]
    assert [f.trade_id for f in store.fills(since_ms=2_000, limit=10)] == [2, 3, 4, 5]


def test_trade_without_trade_id_is_refused_and_rolled_back(store, tmp_path):
    before = dump(tmp_path / "state.db")
    ev, raw = execution_report(x="TRADE", status="PARTIALLY_FILLED", last_qty="0.1",
                               cum_qty="0.1", last_price="100", trade_id=-1)
    with pytest.raises(StateError, match="without trade id"):
        store.apply_execution_report(ev, raw=raw)
    assert dump(tmp_path / "state.db") == before  # neither journal nor order written
