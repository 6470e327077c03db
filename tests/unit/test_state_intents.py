"""Write-ahead intents: attribution of orders and fills, and the outcome states."""

import json
from decimal import Decimal

import pytest

from daemon.errors import StateError
from daemon.orders import RejectCode
from state import Store
from state_factories import FixedClock, execution_report, rest_order, trade_report

REQUEST = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": "1.00000000",
           "price": "100.00000000", "newClientOrderId": "grid-0001"}


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "state.db", clock=FixedClock()) as s:
        yield s


def test_intent_attributes_stream_order_and_fill(store):
    store.record_intent("grid-0001", "grid", "BTCUSDT", REQUEST)
    assert store.strategy_for("grid-0001") == "grid"
    assert store.strategy_for("someone-else") is None
    applied = store.apply_execution_report(*execution_report())
    assert applied.order.strategy == "grid"
    fill = store.apply_execution_report(*trade_report(
        trade_id=3, last_qty="1.00000000", cum_qty="1.00000000", transaction_time=2_000)).fill
    assert fill.strategy == "grid"
    (intent,) = store.intents()
    assert (intent.state, intent.order_id, intent.request) == ("acked", 1, REQUEST)


def test_order_placed_outside_the_daemon_has_no_strategy(store):
    order = store.apply_execution_report(*execution_report(client_order_id="web_abc")).order
    assert order.strategy is None


def test_ack_stores_order_and_acks_intent(store):
    store.record_intent("grid-0001", "grid", "BTCUSDT", REQUEST)
    record = store.record_ack("grid-0001", rest_order(transact_time=1_234, time=0,
                                                      update_time=0))
    assert (record.strategy, record.source, record.status) == ("grid", "ack", "NEW")
    assert record.created_time == 1_234 and record.update_time == 1_234
    assert store.intents(states=["acked"])[0].order_id == 1
    with pytest.raises(StateError, match="carries order"):
        store.record_ack("grid-0002", rest_order())


def test_stream_before_ack_then_ack_keeps_the_newer_state(store):
    store.record_intent("grid-0001", "grid", "BTCUSDT", REQUEST)
    store.apply_execution_report(*trade_report(trade_id=3, last_qty="1.00000000",
                                               cum_qty="1.00000000", transaction_time=2_000))
    record = store.record_ack("grid-0001", rest_order(transact_time=1_500))
    assert record.status == "FILLED" and record.executed_qty == Decimal(1)


def test_unknown_outcome_is_resolved_when_the_order_shows_up(store):
    store.record_intent("grid-0001", "grid", "BTCUSDT", REQUEST)
    store.record_send_error("grid-0001", "HTTP 503", outcome_unknown=True)
    assert [i.state for i in store.intents(states=("pending", "unknown"))] == ["unknown"]
    assert store.counts()["unresolved_intents"] == 1
    store.upsert_rest_order(rest_order())
    (intent,) = store.intents()
    assert (intent.state, intent.error, intent.order_id) == ("acked", "HTTP 503", 1)
    assert store.counts()["unresolved_intents"] == 0


def test_late_send_error_never_unacks(store):
    store.record_intent("grid-0001", "grid", "BTCUSDT", REQUEST)
    store.apply_execution_report(*execution_report())
    store.record_send_error("grid-0001", "read timeout", outcome_unknown=True)
    assert store.intents()[0].state == "acked"
    assert store.journal(kind="send_error")  # still audited


def test_definite_send_error(store):
    store.record_intent("grid-0001", "grid", "BTCUSDT", REQUEST)
    store.record_send_error("grid-0001", "[-2010] insufficient balance", outcome_unknown=False)
    assert store.intents()[0].state == "error"


def test_send_error_without_intent_is_a_state_error(store):
    with pytest.raises(StateError, match="no intent"):
        store.record_send_error("ghost", "boom", outcome_unknown=False)


def test_intent_is_idempotent_but_an_id_cannot_be_reused(store):
    store.record_intent("grid-0001", "grid", "BTCUSDT", REQUEST)
    store.record_intent("grid-0001", "grid", "BTCUSDT", REQUEST)
    assert len(store.intents()) == 1 and len(store.journal(kind="intent")) == 1
    with pytest.raises(StateError, match="already recorded"):
        store.record_intent("grid-0001", "other", "BTCUSDT", REQUEST)


def test_secrets_are_never_stored(store, tmp_path):
    store.record_intent("grid-0001", "grid", "BTCUSDT",
                        {**REQUEST, "signature": "deadbeefsecret", "apiKey": "KEYSECRET"})
    assert "signature" not in store.intents()[0].request
    data = (tmp_path / "state.db").read_bytes() + (tmp_path / "state.db-wal").read_bytes()
    assert b"deadbeefsecret" not in data and b"KEYSECRET" not in data


def test_rejection_is_journalled_and_fails_its_intent(store):
    store.record_rejection("grid", "", "BTCUSDT", RejectCode.LOT_SIZE, "quantity off step",
                           {"filter": "LOT_SIZE", "stepSize": "0.001", "quantity": "0.0105"})
    (entry,) = store.journal(kind="rejection")
    payload = json.loads(entry["payload"])
    assert payload["code"] == "LOT_SIZE" and payload["detail"]["stepSize"] == "0.001"
    store.record_intent("grid-0001", "grid", "BTCUSDT", REQUEST)
    store.record_rejection("grid", "grid-0001", "BTCUSDT", "EXCHANGE_REJECTED", "-2010", {})
    intent = store.intents()[0]
    assert (intent.state, intent.error) == ("error", "EXCHANGE_REJECTED: -2010")
    assert len(store.journal(kind="rejection")) == 2
