"""A database written by the 0001-only schema migrates to 0002 with its data intact.

The old database is built by running only the first step, then filled the way
the 0001 build wrote it: the row helpers for the tables 0002 leaves alone, and
the journal through 0001's own column list (0002 adds ``journal.symbol``).
"""

import sqlite3
from decimal import Decimal

import msgspec
from sqlite_utils import Database

from state import Store
from state import balances as balance_rules
from state import fills as fill_rows
from state import intents as intent_rows
from state import orders as order_rows
from state.migrations import MIGRATION_SET, SCHEMA_VERSION, migrations
from state_factories import (FixedClock, account_position, execution_report, list_status,
                             trade_report)

SECOND_STEP = "0002_order_lists_automation_settings"
OLD_TABLES = ("orders", "intents", "fills", "balances")
#: The orders table as 0001 wrote it (0003 adds ``iceberg_qty``).
ORDER_COLUMNS_0001 = ("symbol", "order_id", "client_order_id", "strategy", "side", "type",
                      "time_in_force", "price", "quantity", "stop_price", "executed_qty",
                      "cum_quote_qty", "status", "order_list_id", "created_time", "update_time",
                      "last_event_time", "source")


def _journal_0001(conn, recorded_at, kind, key, payload):
    conn.execute("INSERT INTO journal (recorded_at, source, kind, dedupe_key, payload) "
                 "VALUES (?, ?, ?, ?, ?)", (recorded_at, "stream", kind, key, payload))


def _order_0001(conn, record):
    values = [format(v, "f") if isinstance(v, Decimal) else v
              for v in (getattr(record, c) for c in ORDER_COLUMNS_0001)]
    conn.execute(f"INSERT INTO orders ({', '.join(ORDER_COLUMNS_0001)}) "
                 f"VALUES ({', '.join('?' for _ in ORDER_COLUMNS_0001)})", values)


def _build_0001_database(path):
    """A file exactly as the 0001 build left it, with orders, a fill, balances, a journal."""
    conn = sqlite3.connect(path)
    db = Database(conn)
    migrations.apply(db, stop_before=SECOND_STEP)
    conn.execute("PRAGMA user_version = 1")
    new, new_raw = execution_report(order_id=1, client_order_id="grid-0001")
    fill, fill_raw = trade_report(order_id=1, client_order_id="grid-0001", trade_id=500,
                                  last_qty="0.40000000", cum_qty="0.40000000",
                                  transaction_time=2_000)
    position, position_raw = account_position(2_001, BTC=("0.40000000", "0.00000000"),
                                               USDT=("960.00000000", "0.00000000"))
    with conn:
        intent_rows.record(conn, client_order_id="grid-0001", strategy="grid", symbol="BTCUSDT",
                           request={"symbol": "BTCUSDT", "side": "BUY"}, now=900)
        _order_0001(conn, order_rows.merge(order_rows.from_execution_report(new, "grid", "stream"),
                                           order_rows.from_execution_report(fill, "grid", "stream")))
        fill_rows.insert(conn, fill_rows.from_execution_report(fill, "grid-0001", "grid", "stream"))
        balance_rules.apply_position(conn, position, "stream")
        _journal_0001(conn, 10, "intent", "intent:grid-0001:abc",
                      '{"client_order_id":"grid-0001","request":{},"strategy":"grid",'
                      '"symbol":"BTCUSDT"}')
        _journal_0001(conn, 11, "executionReport", "sha256:new", new_raw.decode())
        wrapped = msgspec.json.encode({"subscriptionId": 0, "event": msgspec.json.decode(fill_raw)})
        _journal_0001(conn, 12, "executionReport", "sha256:fill", wrapped.decode())
        _journal_0001(conn, 13, "outboundAccountPosition", "sha256:pos", position_raw.decode())
    conn.close()
    return fill_raw


def _rows(path, table):
    """The rows of ``table``; for orders only the columns 0001 wrote."""
    columns = ", ".join(ORDER_COLUMNS_0001) if table == "orders" else "*"
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f"SELECT {columns} FROM {table} ORDER BY 1, 2").fetchall()
    finally:
        conn.close()


def test_first_step_alone_builds_the_0001_schema(tmp_path):
    path = tmp_path / "old.db"
    _build_0001_database(path)
    conn = sqlite3.connect(path)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        journal_columns = [r[1] for r in conn.execute("PRAGMA table_info(journal)")]
    finally:
        conn.close()
    assert "order_lists" not in tables and "settings" not in tables
    assert "symbol" not in journal_columns


def test_0001_database_migrates_with_its_data_intact(tmp_path):
    path = tmp_path / "old.db"
    fill_raw = _build_0001_database(path)
    before = {table: _rows(path, table) for table in OLD_TABLES}
    old_journal = _rows(path, "journal")

    with Store.open(path, clock=FixedClock()) as store:
        assert {t: _rows(path, t) for t in OLD_TABLES} == before
        assert [row[:6] for row in _rows(path, "journal")] == old_journal
        entries = store.journal()
        assert [(e["kind"], e["symbol"]) for e in entries] == [
            ("intent", "BTCUSDT"), ("executionReport", "BTCUSDT"),
            ("executionReport", "BTCUSDT"), ("outboundAccountPosition", None)]
        # The old data still reads, and still dedupes.
        assert store.balances()["USDT"] == (Decimal("960"), Decimal("0"))
        assert store.orders()[0].executed_qty == Decimal("0.4")
        assert store.last_trade_id("BTCUSDT") == 500
        assert store.record_rest_fill(_rest_trade_of(fill_raw)) is None
        # The new tables work at once.
        ev, raw = list_status()
        assert store.apply_list_status(ev, raw=raw).order_list.order_list_id == 7
        assert store.set_setting("risk.kill_switch", "on")
        store.record_automation_run("dust", 1, 2, "dry-run", {"assets": ["XRP"]})

    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        steps = [r[0] for r in conn.execute(
            "SELECT name FROM _sqlite_migrations WHERE migration_set = ? ORDER BY id",
            (MIGRATION_SET,))]
    finally:
        conn.close()
    assert steps[:2] == ["0001_initial", SECOND_STEP] and len(steps) == SCHEMA_VERSION


def _rest_trade_of(fill_raw):
    """The myTrades row of the journalled stream fill: must be recognised as known."""
    from state_factories import rest_trade

    ev = msgspec.json.decode(fill_raw)
    return rest_trade(id=ev["t"], order_id=ev["i"], qty=Decimal(ev["l"]), time=ev["T"])


def test_reopening_a_migrated_database_applies_nothing(tmp_path):
    path = tmp_path / "old.db"
    _build_0001_database(path)
    Store.open(path).close()
    snapshot = {t: _rows(path, t) for t in OLD_TABLES + ("journal",)}
    Store.open(path).close()
    assert {t: _rows(path, t) for t in OLD_TABLES + ("journal",)} == snapshot
    assert len(_rows(path, "_sqlite_migrations")) == SCHEMA_VERSION


def test_new_constraints_hold_in_sql(tmp_path):
    path = tmp_path / "state.db"
    Store.open(path).close()
    conn = sqlite3.connect(path)
    try:
        for status, started, finished in (("maybe", 1, 2), ("ok", 5, 4)):
            try:
                conn.execute("INSERT INTO automation_runs (job, started_at, finished_at, status, "
                             "detail) VALUES ('dust', ?, ?, ?, '{}')", (started, finished, status))
            except sqlite3.IntegrityError:
                continue
            raise AssertionError(f"automation_runs accepted {status} {started}->{finished}")
    finally:
        conn.close()
