"""Orders only move forward, whatever order their views arrive in."""

import itertools
from decimal import Decimal

import pytest

from state import Store
from state.orders import OrderRecord, merge
from state_factories import FixedClock, execution_report, rest_order, trade_report


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "state.db", clock=FixedClock()) as s:
        yield s


def _lifecycle():
    """NEW, a partial fill, the final fill: the three reports of one order."""
    return [
        execution_report(transaction_time=1_000),
        trade_report(trade_id=11, last_qty="0.40000000", cum_qty="0.40000000",
                     transaction_time=2_000),
        trade_report(trade_id=12, last_qty="0.60000000", cum_qty="1.00000000",
                     transaction_time=3_000),
    ]


def test_new_report_creates_the_order(store):
    ev, raw = execution_report(price="100.12345678", quantity="0.00100000")
    applied = store.apply_execution_report(ev, raw=raw)
    assert not applied.duplicate and applied.fill is None
    order = applied.order
    assert (order.symbol, order.order_id, order.status, order.strategy) == ("BTCUSDT", 1, "NEW", None)
    assert order.price == Decimal("100.12345678") and order.quantity == Decimal("0.00100000")
    assert order.is_open and order.remaining_qty == Decimal("0.001")
    assert store.orders() == [order]


@pytest.mark.parametrize("permutation", list(itertools.permutations(range(3))))
def test_any_arrival_order_ends_filled_with_both_fills(tmp_path, permutation):
    events = _lifecycle()
    with Store.open(tmp_path / "state.db") as store:
        for index in permutation:
            store.apply_execution_report(*events[index])
        (order,) = store.orders()
        assert order.status == "FILLED" and not order.is_open
        assert order.executed_qty == Decimal("1") and order.cum_quote_qty == Decimal("100")
        assert order.update_time == 3_000
        assert [f.trade_id for f in store.fills()] == [11, 12]


def test_late_partial_fill_after_filled_records_fill_but_keeps_order(store):
    new, partial, final = _lifecycle()
    store.apply_execution_report(*new)
    store.apply_execution_report(*final)
    applied = store.apply_execution_report(*partial)
    assert applied.order is None  # the order did not move
    assert applied.fill is not None and applied.fill.trade_id == 11
    (order,) = store.orders()
    assert (order.status, order.executed_qty) == ("FILLED", Decimal("1.00000000"))


def test_cancel_after_partial_fill_is_terminal_and_keeps_quantity(store):
    new, partial, _ = _lifecycle()
    store.apply_execution_report(*new)
    store.apply_execution_report(*partial)
    cancel, raw = execution_report(x="CANCELED", status="CANCELED", client_order_id="cancel-77",
                                   orig_client_order_id="grid-0001", cum_qty="0.40000000",
                                   cum_quote="40.00000000", transaction_time=4_000)
    order = store.apply_execution_report(cancel, raw=raw).order
    assert order.status == "CANCELED" and order.executed_qty == Decimal("0.4")
    assert order.client_order_id == "grid-0001"  # the order's own id, not the cancel's
    # a NEW report replayed afterwards cannot reopen it
    store.apply_execution_report(*execution_report(transaction_time=999, event_time=5_000))
    assert store.orders()[0].status == "CANCELED"
    assert store.orders(open_only=True) == []


def test_stale_rest_snapshot_does_not_regress_stream_state(store):
    new, partial, final = _lifecycle()
    for event in (new, partial, final):
        store.apply_execution_report(*event)
    before = store.orders()[0]
    after = store.upsert_rest_order(rest_order(status="PARTIALLY_FILLED",
                                               executed_qty=Decimal("0.4"), update_time=2_000))
    assert after == before


def test_rest_snapshot_moves_an_order_forward(store):
    store.apply_execution_report(*execution_report())
    record = store.upsert_rest_order(rest_order(status="CANCELED", update_time=9_000))
    assert record.status == "CANCELED" and record.update_time == 9_000
    assert record.source == "reconcile"


def test_unknown_status_never_overwrites_a_known_one(store):
    store.apply_execution_report(*execution_report())
    store.apply_execution_report(*execution_report(x="WEIRD", status="SOMETHING_NEW",
                                                   transaction_time=7_000))
    order = store.orders()[0]
    assert order.status == "NEW" and order.update_time == 7_000


def test_merge_is_idempotent_and_order_independent():
    base = dict(symbol="X", order_id=1, client_order_id="c", strategy=None, side="BUY",
                type="LIMIT", time_in_force="GTC", price=Decimal(1), quantity=Decimal(2),
                stop_price=Decimal(0), order_list_id=-1, created_time=1, source="stream")
    a = OrderRecord(**base, executed_qty=Decimal(1), cum_quote_qty=Decimal(1),
                    status="PARTIALLY_FILLED", update_time=5, last_event_time=5)
    b = OrderRecord(**base, executed_qty=Decimal(0), cum_quote_qty=Decimal(0),
                    status="CANCELED", update_time=3, last_event_time=3)
    assert merge(a, a) == a
    ab, ba = merge(a, b), merge(b, a)
    assert (ab.status, ab.executed_qty, ab.update_time) == ("CANCELED", Decimal(1), 5)
    assert (ba.status, ba.executed_qty, ba.update_time) == ("CANCELED", Decimal(1), 5)


def test_orders_filters_and_limit_keeps_newest(store):
    for order_id in range(1, 6):
        symbol = "ETHUSDT" if order_id % 2 == 0 else "BTCUSDT"
        store.apply_execution_report(*execution_report(
            symbol=symbol, order_id=order_id, client_order_id=f"c{order_id}",
            order_time=order_id * 100, transaction_time=order_id * 100))
    store.apply_execution_report(*execution_report(
        order_id=5, client_order_id="c5", x="CANCELED", status="CANCELED", transaction_time=900))
    assert [o.order_id for o in store.orders()] == [1, 2, 3, 4, 5]
    assert [o.order_id for o in store.orders(symbol="ETHUSDT")] == [2, 4]
    assert [o.order_id for o in store.orders(limit=2)] == [4, 5]
    assert [o.order_id for o in store.orders(symbol="BTCUSDT", open_only=True)] == [1, 3]
    assert store.order("BTCUSDT", 5).status == "CANCELED"
    assert store.order("BTCUSDT", 99) is None
