"""Order lists (OCO) from listStatus: idempotent, forward-only, attributed to strategies."""

import itertools

import pytest

from state import ListMember, Store
from state_factories import FixedClock, dump, list_status


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "state.db", clock=FixedClock()) as s:
        yield s


def _members(*pairs):
    return tuple(ListMember(symbol="BTCUSDT", order_id=i, client_order_id=c) for i, c in pairs)


def test_exec_started_inserts_the_list_with_its_members(store):
    ev, raw = list_status()
    applied = store.apply_list_status(ev, raw=raw)
    assert not applied.duplicate and applied.order is None and applied.fill is None
    stored = store.order_list("BTCUSDT", 7)
    assert applied.order_list == stored
    assert stored.is_active and stored.contingency_type == "OCO"
    assert (stored.list_status_type, stored.list_order_status) == ("EXEC_STARTED", "EXECUTING")
    assert stored.orders == _members((11, "oco-0001-a"), (12, "oco-0001-b"))
    assert stored.reject_reason is None and stored.source == "stream"
    assert stored.transaction_time == 1_000 and stored.last_event_time == 1_003
    assert store.journal(kind="listStatus")[0]["symbol"] == "BTCUSDT"


def test_same_event_twice_changes_nothing(store, tmp_path):
    ev, raw = list_status()
    store.apply_list_status(ev, raw=raw)
    before = dump(tmp_path / "state.db")
    assert store.apply_list_status(ev, raw=raw).duplicate
    assert dump(tmp_path / "state.db") == before
    # Without the raw bytes the journal key differs, so the event is journalled
    # once more, but the list itself does not move; the second time is a duplicate.
    again = store.apply_list_status(ev)
    assert not again.duplicate and again.order_list is None
    assert store.apply_list_status(ev).duplicate
    assert dump(tmp_path / "state.db")["order_lists"] == before["order_lists"]


def test_all_done_ends_the_list_and_a_stale_start_cannot_reopen_it(store):
    store.apply_list_status(*list_status(transaction_time=1_000))
    done = store.apply_list_status(*list_status(list_status_type="ALL_DONE",
                                                list_order_status="ALL_DONE",
                                                transaction_time=2_000))
    assert done.order_list.list_order_status == "ALL_DONE" and not done.order_list.is_active
    stale = store.apply_list_status(*list_status(transaction_time=1_500))
    assert not stale.duplicate and stale.order_list is None
    stored = store.order_list("BTCUSDT", 7)
    assert (stored.list_status_type, stored.list_order_status) == ("ALL_DONE", "ALL_DONE")
    assert stored.transaction_time == 2_000
    assert store.order_lists(active_only=True) == []


def test_reject_is_terminal_like_all_done(store):
    store.apply_list_status(*list_status(transaction_time=1_000))
    store.apply_list_status(*list_status(list_status_type="EXEC_STARTED",
                                         list_order_status="REJECT", reject_reason="OCO_BAD_PRICES",
                                         transaction_time=1_100))
    store.apply_list_status(*list_status(list_status_type="ALL_DONE",
                                         list_order_status="ALL_DONE", transaction_time=1_200))
    stored = store.order_list("BTCUSDT", 7)
    assert stored.list_order_status == "REJECT" and stored.reject_reason == "OCO_BAD_PRICES"


def test_updated_replaces_the_members_of_an_executing_list(store):
    store.apply_list_status(*list_status(transaction_time=1_000))
    applied = store.apply_list_status(*list_status(
        list_status_type="UPDATED", transaction_time=1_500,
        members=((11, "renamed-a"), (12, "oco-0001-b"))))
    assert applied.order_list.list_status_type == "UPDATED"
    assert applied.order_list.orders[0].client_order_id == "renamed-a"
    assert store.order_list("BTCUSDT", 7).is_active


def test_a_refused_action_on_a_known_list_does_not_end_it(store):
    """RESPONSE + REJECT answers a failed action (e.g. a refused cancel), not the list's state."""
    store.apply_list_status(*list_status(transaction_time=1_000))
    applied = store.apply_list_status(*list_status(
        list_status_type="RESPONSE", list_order_status="REJECT",
        reject_reason="ORDER_CANCEL_REJECTED", transaction_time=1_500))
    assert not applied.duplicate and applied.order_list is None
    assert store.order_list("BTCUSDT", 7).is_active
    assert len(store.journal(kind="listStatus")) == 2


def test_a_response_about_an_unknown_list_is_stored_as_rejected(store):
    applied = store.apply_list_status(*list_status(
        order_list_id=99, list_status_type="RESPONSE", list_order_status="REJECT",
        reject_reason="INSUFFICIENT_BALANCES", members=()))
    assert applied.order_list.list_order_status == "REJECT"
    assert applied.order_list.orders == () and not applied.order_list.is_active


def test_final_state_does_not_depend_on_arrival_order(tmp_path):
    events = [
        list_status(transaction_time=1_000),
        list_status(list_status_type="UPDATED", transaction_time=1_500,
                    members=((11, "renamed-a"), (12, "oco-0001-b"))),
        list_status(list_status_type="ALL_DONE", list_order_status="ALL_DONE",
                    transaction_time=2_000, members=((11, "renamed-a"), (12, "oco-0001-b"))),
    ]
    finals = set()
    for n, order in enumerate(itertools.permutations(events)):
        with Store.open(tmp_path / f"{n}.db") as store:
            for ev, raw in order:
                store.apply_list_status(ev, raw=raw)
            finals.add(store.order_list("BTCUSDT", 7))
    assert len(finals) == 1
    final = finals.pop()
    assert (final.list_status_type, final.list_order_status) == ("ALL_DONE", "ALL_DONE")
    assert final.orders[0].client_order_id == "renamed-a" and final.last_event_time == 2_003


def test_list_is_attributed_through_the_intents(store):
    store.record_intent("oco-0002-a", "grid", "BTCUSDT", {"symbol": "BTCUSDT"})
    applied = store.apply_list_status(*list_status(
        order_list_id=8, list_client_order_id="external-list",
        members=((21, "oco-0002-a"), (22, "oco-0002-b"))))
    assert applied.order_list.strategy == "grid"
    outside = store.apply_list_status(*list_status(order_list_id=9, list_client_order_id="web",
                                                   members=((31, "web-a"),)))
    assert outside.order_list.strategy is None


def test_lists_of_different_symbols_do_not_collide(store):
    store.apply_list_status(*list_status(symbol="BTCUSDT", order_list_id=1))
    store.apply_list_status(*list_status(symbol="ETHUSDT", order_list_id=1))
    assert [(ol.symbol, ol.order_list_id) for ol in store.order_lists()] == [
        ("BTCUSDT", 1), ("ETHUSDT", 1)]
    assert [ol.symbol for ol in store.order_lists(symbol="ETHUSDT")] == ["ETHUSDT"]
