"""Applying anything twice changes nothing; order/fill state is arrival-order independent."""

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from state import Store
from state_factories import (account_position, balance_update, dump, execution_report,
                             rest_balance, rest_order, rest_trade, trade_report)


def _events():
    """Two orders' lives plus balance news, as (kind, event, raw)."""
    return [
        ("er", *execution_report(order_id=1, client_order_id="a", transaction_time=1_000)),
        ("er", *trade_report(order_id=1, client_order_id="a", trade_id=11, last_qty="0.40000000",
                             cum_qty="0.40000000", transaction_time=2_000)),
        ("er", *trade_report(order_id=1, client_order_id="a", trade_id=12, last_qty="0.60000000",
                             cum_qty="1.00000000", transaction_time=3_000)),
        ("er", *execution_report(order_id=2, client_order_id="b", side="SELL",
                                 transaction_time=1_500)),
        ("er", *execution_report(order_id=2, client_order_id="b", side="SELL", x="CANCELED",
                                 status="CANCELED", transaction_time=4_000)),
        ("pos", *account_position(100, BTC=("1.00000000", "0.00000000"))),
        ("bu", *balance_update("BTC", "0.25000000", 200)),
        ("pos", *account_position(300, BTC=("1.25000000", "0.10000000"),
                                  USDT=("10.00000000", "0"))),
    ]


def _apply(store, kind, event, raw, use_raw):
    method = {"er": store.apply_execution_report, "pos": store.apply_account_position,
              "bu": store.apply_balance_update}[kind]
    return method(event, raw=raw if use_raw else None)


@pytest.mark.parametrize("use_raw", [True, False])
def test_every_apply_twice_leaves_identical_tables(tmp_path, use_raw):
    path = tmp_path / "state.db"
    with Store.open(path, clock=lambda: 1) as store:
        store.record_intent("a", "grid", "BTCUSDT", {"side": "BUY"})
        for kind, event, raw in _events():
            first = _apply(store, kind, event, raw, use_raw)
            assert not first.duplicate
            before = dump(path)
            second = _apply(store, kind, event, raw, use_raw)
            assert second.duplicate and second.order is None and second.fill is None
            assert not second.balances_changed
            assert dump(path) == before
        assert len(store.journal()) == len(_events()) + 1  # + the intent


def test_reconcile_and_order_path_calls_twice_leave_identical_tables(tmp_path):
    path = tmp_path / "state.db"
    calls = [
        lambda s: s.record_intent("a", "grid", "BTCUSDT", {"side": "BUY", "quantity": "1"}),
        lambda s: s.record_ack("a", rest_order(client_order_id="a", transact_time=900)),
        lambda s: s.upsert_rest_order(rest_order(client_order_id="a", status="PARTIALLY_FILLED",
                                                 executed_qty=rest_trade().qty,
                                                 update_time=2_000)),
        lambda s: s.record_rest_fill(rest_trade()),
        lambda s: s.replace_balances([rest_balance("BTC", "1"), rest_balance("USDT", "5")], 50),
        lambda s: s.record_send_error("a", "late timeout", outcome_unknown=True),
        lambda s: s.record_rejection("grid", "zz", "BTCUSDT", "LOT_SIZE", "step", {"k": "v"}),
    ]
    with Store.open(path, clock=lambda: 1) as store:
        for call in calls:
            call(store)
            before = dump(path)
            call(store)
            assert dump(path) == before


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(min_value=0, max_value=4), min_size=5, max_size=12).filter(
    lambda picks: set(picks) == set(range(5))))
def test_order_state_is_independent_of_arrival_order_and_repeats(picks):
    """Any arrival order of the order events, with repeats, ends in the same orders and fills."""
    events = _events()[:5]
    with tempfile.TemporaryDirectory() as tmp:
        with Store.open(Path(tmp) / "canonical.db", clock=lambda: 1) as canonical:
            for _, event, raw in events:
                canonical.apply_execution_report(event, raw=raw)
            expected = (canonical.orders(), canonical.fills())
        with Store.open(Path(tmp) / "shuffled.db", clock=lambda: 1) as shuffled:
            for index in picks:
                shuffled.apply_execution_report(events[index][1], raw=events[index][2])
            assert (shuffled.orders(), shuffled.fills()) == expected


@settings(max_examples=20, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=7), max_size=10))
def test_repeating_any_events_equals_applying_each_once(repeats):
    """Balance rules depend on stream order, but never on repeats: dedupe any replay."""
    events = _events()
    with tempfile.TemporaryDirectory() as tmp:
        once, repeated = Path(tmp) / "once.db", Path(tmp) / "repeated.db"
        with Store.open(once, clock=lambda: 1) as store:
            for kind, event, raw in events:
                _apply(store, kind, event, raw, True)
        with Store.open(repeated, clock=lambda: 1) as store:
            for position, (kind, event, raw) in enumerate(events):
                _apply(store, kind, event, raw, True)
                for index in repeats:
                    if index <= position:  # replay anything already seen
                        _apply(store, *events[index], True)
        assert dump(repeated) == dump(once)
