"""Automation runs (the audit trail) and operator settings."""

import sqlite3
from decimal import Decimal

import pytest

from daemon.errors import StateError
from state import Store
from state_factories import FixedClock, dump


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "state.db", clock=FixedClock()) as s:
        yield s


def test_runs_are_recorded_queried_and_journalled(store):
    first = store.record_automation_run("dust", 1_000, 1_250, "ok",
                                        {"converted": [{"asset": "XRP", "qty": Decimal("0.1")}]})
    store.record_automation_run("savings", 2_000, 2_100, "dry-run", {"would_move": "5"})
    store.record_automation_run("dust", 3_000, 3_010, "error", {"error": "timeout"})
    assert first.id > 0 and first.duration_ms == 250
    assert first.detail == {"converted": [{"asset": "XRP", "qty": "0.1"}]}
    assert [r.status for r in store.automation_runs(job="dust")] == ["ok", "error"]
    assert [r.job for r in store.automation_runs(since_ms=1_500, until_ms=3_000)] == ["savings"]
    assert [r.started_at for r in store.automation_runs(limit=2)] == [2_000, 3_000]
    assert store.automation_runs(status="dry-run")[0].detail == {"would_move": "5"}
    assert store.last_automation_run("dust").status == "error"
    assert store.last_automation_run("dust", status="ok").id == first.id
    assert store.last_automation_run("transfers") is None
    entries = store.journal(kind="automation.run")
    assert len(entries) == 3 and entries[0]["source"] == "automation"
    assert '"job":"dust"' in entries[0]["payload"]


def test_secrets_are_removed_from_the_detail_at_any_depth(store, tmp_path):
    run = store.record_automation_run("transfers", 1, 2, "ok", {
        "request": {"asset": "USDT", "signature": "abc123", "apiKey": "k"},
        "legs": [{"password": "hunter2", "amount": "5"}], "secret": "s"})
    assert run.detail == {"request": {"asset": "USDT"}, "legs": [{"amount": "5"}]}
    conn = sqlite3.connect(tmp_path / "state.db")
    try:
        text = " ".join(r[0] for r in conn.execute(
            "SELECT detail FROM automation_runs UNION ALL SELECT payload FROM journal"))
    finally:
        conn.close()
    for secret in ("abc123", "hunter2", '"k"', '"s"'):
        assert secret not in text


@pytest.mark.parametrize("job, started, finished, status", [
    ("dust", 1, 2, "maybe"), ("dust", 5, 4, "ok"), ("", 1, 2, "ok")])
def test_invalid_runs_are_refused_and_nothing_written(store, tmp_path, job, started, finished,
                                                      status):
    before = dump(tmp_path / "state.db")
    with pytest.raises(StateError):
        store.record_automation_run(job, started, finished, status)
    assert dump(tmp_path / "state.db") == before


def test_settings_get_set_default_and_survive_reopen(tmp_path):
    path = tmp_path / "state.db"
    with Store.open(path, clock=FixedClock()) as store:
        assert store.get_setting("risk.kill_switch") is None
        assert store.get_setting("risk.kill_switch", "off") == "off"
        assert store.set_setting("risk.kill_switch", "on") is True
        assert store.set_setting("risk.kill_switch", "on") is False
        assert store.set_setting("risk.max_notional", format(Decimal("250.50"), "f"))
    with Store.open(path) as store:
        assert store.get_setting("risk.kill_switch", "off") == "on"
        assert store.settings() == {"risk.kill_switch": "on", "risk.max_notional": "250.50"}


def test_every_setting_change_is_journalled_even_back_and_forth(store):
    for value in ("on", "off", "on", "on"):
        store.set_setting("risk.kill_switch", value)
    entries = store.journal(kind="setting")
    assert len(entries) == 3
    assert '"previous":"off","value":"on"' in entries[-1]["payload"]


@pytest.mark.parametrize("key, value", [
    ("", "x"), ("venue.api_secret", "x"), ("password", "x"), ("risk.max", Decimal("1")),
    ("risk.max", 1.5), ("risk.max", None)])
def test_bad_settings_are_refused(store, tmp_path, key, value):
    before = dump(tmp_path / "state.db")
    with pytest.raises(StateError):
        store.set_setting(key, value)
    assert dump(tmp_path / "state.db") == before
