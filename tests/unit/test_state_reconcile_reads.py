"""The store calls reconciliation relies on: page writes of REST fills and the fill-gap query."""

from __future__ import annotations

from decimal import Decimal

import pytest
from state_factories import dump, rest_order, rest_trade

from state import Store


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "s.sqlite", clock=lambda: 1_000) as opened:
        yield opened


def test_a_page_of_rest_fills_is_one_idempotent_write(store, tmp_path):
    store.record_intent("grid-0001", "grid", "BTCUSDT", {"side": "BUY"})
    store.record_ack("grid-0001", rest_order(executed_qty=Decimal("1"), status="FILLED"))
    page = [rest_trade(id=500, qty=Decimal("0.4")), rest_trade(id=501, qty=Decimal("0.6")),
            rest_trade(id=500, qty=Decimal("0.4"))]  # the exchange never repeats; we cope anyway
    new = store.record_rest_fills(page)
    assert [(f.trade_id, f.strategy, f.client_order_id) for f in new] == \
        [(500, "grid", "grid-0001"), (501, "grid", "grid-0001")]
    assert all(f.source == "reconcile" for f in new)
    before = dump(tmp_path / "s.sqlite")
    assert store.record_rest_fills(page) == []
    assert dump(tmp_path / "s.sqlite") == before
    assert len(store.journal(kind="fill.rest")) == 2


def test_fills_of_an_unknown_order_are_kept_unattributed(store):
    (fill,) = store.record_rest_fills([rest_trade(id=7, order_id=99)])
    assert fill.strategy is None and fill.client_order_id is None


def test_orders_missing_fills_compares_exactly(store):
    store.upsert_rest_order(rest_order(order_id=1, executed_qty=Decimal("1.00000000"),
                                       status="FILLED", update_time=5_000))
    store.upsert_rest_order(rest_order(order_id=2, client_order_id="b",
                                       executed_qty=Decimal("0.3"), status="PARTIALLY_FILLED",
                                       update_time=9_000))
    store.upsert_rest_order(rest_order(order_id=3, client_order_id="c", update_time=9_000))
    store.record_rest_fills([rest_trade(id=10, order_id=1, qty=Decimal("0.4")),
                             rest_trade(id=12, order_id=2, qty=Decimal("0.30000000"))])
    missing = store.orders_missing_fills()
    assert [(order.order_id, counted) for order, counted in missing] == [(1, Decimal("0.4"))]
    assert store.orders_missing_fills(since_ms=6_000) == []  # order 1 last moved at 5,000
    store.record_rest_fills([rest_trade(id=11, order_id=1, qty=Decimal("0.60000000"))])
    assert store.orders_missing_fills() == []
    assert [f.trade_id for f in store.fills_of_order("BTCUSDT", 1)] == [10, 11]


def test_active_symbols_come_from_orders_fills_and_intents(store):
    assert store.active_symbols() == []
    store.record_intent("x-1", "grid", "ETHUSDT", {"side": "BUY"})
    store.upsert_rest_order(rest_order(symbol="BTCUSDT"))
    store.record_rest_fills([rest_trade(symbol="BNBUSDT", id=1, order_id=5)])
    assert store.active_symbols() == ["BNBUSDT", "BTCUSDT", "ETHUSDT"]
