"""Opening the store: fresh file, re-open, refusal of newer and non-SQLite files."""

import sqlite3
from decimal import Decimal

import pytest

from daemon.errors import SchemaError, StateError
from state import Store
from state.migrations import MIGRATION_SET, SCHEMA_VERSION
from state_factories import account_position, dump


def test_fresh_database_has_schema_wal_and_version(tmp_path):
    path = tmp_path / "state.db"
    store = Store.open(path)
    store.close()
    conn = sqlite3.connect(path)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"orders", "intents", "fills", "balances", "journal"} <= tables
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        steps = conn.execute("SELECT name FROM _sqlite_migrations WHERE migration_set = ?",
                             (MIGRATION_SET,)).fetchall()
        assert [int(name.split("_")[0]) for (name,) in steps] == list(range(1, SCHEMA_VERSION + 1))
    finally:
        conn.close()


def test_reopen_keeps_data_and_applies_nothing_twice(tmp_path):
    path = tmp_path / "state.db"
    with Store.open(path) as store:
        ev, raw = account_position(10, BTC=("0.50000000", "0.00000000"))
        store.apply_account_position(ev, raw=raw)
    before = dump(path)
    with Store.open(path) as store:
        assert store.balances()["BTC"][0] == Decimal("0.5")
        assert store.apply_account_position(ev, raw=raw).duplicate
    assert dump(path) == before
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("SELECT count(*) FROM _sqlite_migrations").fetchone()[0] == SCHEMA_VERSION
    finally:
        conn.close()


def test_database_from_a_newer_build_is_refused(tmp_path):
    path = tmp_path / "state.db"
    Store.open(path).close()
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
                 "VALUES (?, ?, 'later')", (MIGRATION_SET, f"{SCHEMA_VERSION + 1:04d}_future"))
    conn.commit()
    conn.close()
    with pytest.raises(SchemaError) as info:
        Store.open(path)
    message = str(info.value)
    assert str(path) in message
    assert f"version {SCHEMA_VERSION + 1}" in message and f"build's {SCHEMA_VERSION}" in message


def test_newer_user_version_alone_is_refused(tmp_path):
    path = tmp_path / "state.db"
    Store.open(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 3}")
    conn.close()
    with pytest.raises(SchemaError, match=f"version {SCHEMA_VERSION + 3}"):
        Store.open(path)


def test_other_migration_sets_do_not_count_as_newer(tmp_path):
    path = tmp_path / "state.db"
    Store.open(path).close()
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
                 "VALUES ('some.plugin', '0099_theirs', 'now')")
    conn.commit()
    conn.close()
    Store.open(path).close()


def test_garbage_file_is_refused_and_left_untouched(tmp_path):
    path = tmp_path / "state.db"
    content = b"definitely not sqlite\n" * 200
    path.write_bytes(content)
    with pytest.raises(SchemaError, match="not a SQLite database") as info:
        Store.open(path)
    assert str(path) in str(info.value)
    assert path.read_bytes() == content


def test_corrupt_file_with_sqlite_header_is_refused(tmp_path):
    path = tmp_path / "state.db"
    path.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
    with pytest.raises(SchemaError) as info:
        Store.open(path)
    assert str(path) in str(info.value)


def test_closed_store_refuses_calls(tmp_path):
    store = Store.open(tmp_path / "state.db")
    store.close()
    store.close()  # idempotent
    with pytest.raises(StateError, match="closed"):
        store.balances()
    ev, _ = account_position(1, BTC=("1", "0"))
    with pytest.raises(StateError, match="closed"):
        store.apply_account_position(ev)
