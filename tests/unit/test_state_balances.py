"""Balance rules: positions are authoritative at their time, deltas count once."""

from decimal import Decimal

import pytest

from state import Store
from state_factories import FixedClock, account_position, balance_update, dump, rest_balance

D = Decimal


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "state.db", clock=FixedClock()) as s:
        yield s


def test_position_then_newer_delta_adds_it(store):
    assert store.apply_account_position(*account_position(100, USDT=("50.00", "10.00"))).balances_changed
    applied = store.apply_balance_update(*balance_update("USDT", "25.50000000", 200))
    assert applied.balances_changed
    assert store.balances() == {"USDT": (D("75.5"), D("10"))}


def test_position_that_already_includes_the_delta_is_not_double_counted(store):
    store.apply_account_position(*account_position(300, USDT=("75.50", "10.00")))
    applied = store.apply_balance_update(*balance_update("USDT", "25.50000000", 200))
    assert not applied.duplicate and not applied.balances_changed
    assert store.balances() == {"USDT": (D("75.5"), D("10"))}


def test_delta_then_position_ends_at_the_position(store):
    store.apply_account_position(*account_position(100, BTC=("1.0", "0")))
    store.apply_balance_update(*balance_update("BTC", "0.5", 200))
    assert store.balances()["BTC"] == (D("1.5"), D(0))
    store.apply_account_position(*account_position(250, BTC=("1.5", "0.1")))
    assert store.balances()["BTC"] == (D("1.5"), D("0.1"))


def test_older_position_is_ignored(store):
    store.apply_account_position(*account_position(500, ETH=("2", "0")))
    applied = store.apply_account_position(*account_position(400, ETH=("9", "9")))
    assert not applied.duplicate and not applied.balances_changed
    assert store.balances() == {"ETH": (D(2), D(0))}


def test_position_older_than_an_applied_delta_is_ignored(store):
    store.apply_account_position(*account_position(100, BTC=("1", "0")))
    store.apply_balance_update(*balance_update("BTC", "-0.25", 300))
    store.apply_account_position(*account_position(200, BTC=("1", "0")))  # sent before the delta
    assert store.balances()["BTC"] == (D("0.75"), D(0))


def test_position_only_touches_listed_assets(store):
    store.apply_account_position(*account_position(100, BTC=("1", "0"), USDT=("10", "0")))
    store.apply_account_position(*account_position(200, USDT=("5", "5")))
    assert store.balances() == {"BTC": (D(1), D(0)), "USDT": (D(5), D(5))}


def test_delta_for_an_unknown_asset_starts_from_zero(store):
    store.apply_balance_update(*balance_update("BNB", "0.00100000", 50))
    assert store.balances() == {"BNB": (D("0.001"), D(0))}


def test_two_deltas_each_count_once(store):
    store.apply_balance_update(*balance_update("USDT", "10", 100))
    store.apply_balance_update(*balance_update("USDT", "5", 200))
    store.apply_balance_update(*balance_update("USDT", "10", 100))  # replay: duplicate
    assert store.balances()["USDT"] == (D(15), D(0))


def test_nonzero_filter(store):
    store.apply_account_position(*account_position(1, BTC=("0.00000000", "0.00000000"),
                                                   ETH=("0", "0.1")))
    assert set(store.balances()) == {"BTC", "ETH"}
    assert set(store.balances(nonzero=True)) == {"ETH"}


def test_replace_balances_mirrors_snapshot_but_keeps_newer_stream_rows(store, tmp_path):
    store.apply_account_position(*account_position(100, BTC=("1", "0"), DOGE=("5", "0")))
    store.apply_balance_update(*balance_update("ETH", "3", 900))  # after the snapshot
    changed = store.replace_balances([rest_balance("BTC", "0.9", "0.1"),
                                      rest_balance("USDT", "100"), rest_balance("ETH", "1")],
                                     update_time=500)
    assert changed
    assert store.balances() == {"BTC": (D("0.9"), D("0.1")), "ETH": (D(3), D(0)),
                                "USDT": (D(100), D(0))}  # DOGE gone: zero on the exchange
    before = dump(tmp_path / "state.db")
    assert not store.replace_balances([rest_balance("BTC", "0.9", "0.1"),
                                       rest_balance("USDT", "100"), rest_balance("ETH", "1")],
                                      update_time=500)
    assert dump(tmp_path / "state.db") == before
    # a buffered stream position older than the snapshot, drained afterwards, is ignored
    store.apply_account_position(*account_position(400, USDT=("1", "0")))
    assert store.balances()["USDT"] == (D(100), D(0))
    assert [e["kind"] for e in store.journal(kind="balances.snapshot")] == ["balances.snapshot"]


def test_delta_cleared_at_the_position_time_is_already_included(store):
    store.apply_account_position(*account_position(200, USDT=("75.5", "0")))
    assert not store.apply_balance_update(*balance_update("USDT", "25.5", 200)).balances_changed
    assert store.balances()["USDT"] == (D("75.5"), D(0))
