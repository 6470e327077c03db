"""externalLockUpdate: free moves to locked (and back), once, unless a position counts it."""

import logging
from decimal import Decimal

import pytest

from state import Store
from state_factories import FixedClock, account_position, dump, external_lock


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "state.db", clock=FixedClock()) as s:
        yield s


def test_lock_moves_free_to_locked_and_unlock_moves_it_back(store):
    store.apply_account_position(*account_position(1_000, NEO=("25.00000000", "1.00000000")))
    applied = store.apply_external_lock_update(*external_lock("NEO", "10.00000000", 1_100))
    assert applied.balances_changed and not applied.duplicate
    assert store.balances()["NEO"] == (Decimal("15"), Decimal("11"))
    store.apply_external_lock_update(*external_lock("NEO", "-4.00000000", 1_200))
    assert store.balances()["NEO"] == (Decimal("19"), Decimal("7"))
    row = store.balance_rows(asset="NEO")[0]
    assert row.update_time == 1_200 and row.source == "stream" and row.total == Decimal("26")


def test_same_lock_twice_is_counted_once(store, tmp_path):
    store.apply_account_position(*account_position(1_000, NEO=("25", "0")))
    ev, raw = external_lock("NEO", "10.00000000", 1_100)
    store.apply_external_lock_update(ev, raw=raw)
    before = dump(tmp_path / "state.db")
    assert store.apply_external_lock_update(ev, raw=raw).duplicate
    assert dump(tmp_path / "state.db") == before
    # Without raw bytes the journal key differs, but the balance rule still holds.
    again = store.apply_external_lock_update(ev)
    assert not again.duplicate and not again.balances_changed
    assert store.balances()["NEO"] == (Decimal("15"), Decimal("10"))


def test_lock_already_counted_by_a_later_position_is_skipped(store):
    store.apply_account_position(*account_position(2_000, NEO=("15", "10")))
    applied = store.apply_external_lock_update(*external_lock("NEO", "10", 1_500))
    assert not applied.balances_changed
    assert store.balances()["NEO"] == (Decimal("15"), Decimal("10"))


def test_position_after_the_lock_states_the_outcome(store):
    store.apply_account_position(*account_position(1_000, NEO=("25", "0")))
    store.apply_external_lock_update(*external_lock("NEO", "10", 1_100))
    store.apply_account_position(*account_position(1_100, NEO=("15", "10")))
    assert store.balances()["NEO"] == (Decimal("15"), Decimal("10"))


def test_lock_on_an_unknown_asset_is_kept_and_warned_about(store, caplog):
    caplog.set_level(logging.WARNING, logger="state.balances")
    store.apply_external_lock_update(*external_lock("ADA", "3.50000000", 1_000))
    assert store.balances()["ADA"] == (Decimal("-3.5"), Decimal("3.5"))
    assert "balance.negative_after_lock asset=ADA" in caplog.text


def test_lock_is_journalled_with_the_wrapped_payload(store):
    ev, raw = external_lock("NEO", "10.00000000", 1_100)
    store.apply_external_lock_update(ev, raw=raw)
    entry = store.journal(kind="externalLockUpdate")[0]
    assert entry["payload"] == raw.decode() and entry["dedupe_key"].startswith("sha256:")
    assert entry["symbol"] is None and entry["source"] == "stream"


def test_lock_with_float_delta_is_refused_and_nothing_written(store, tmp_path):
    from types import SimpleNamespace

    from daemon.errors import StateError

    before = dump(tmp_path / "state.db")
    with pytest.raises(StateError):
        store.apply_external_lock_update(SimpleNamespace(asset="NEO", delta=1.5,
                                                         transaction_time=5, event_time=6))
    assert dump(tmp_path / "state.db") == before
