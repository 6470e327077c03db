"""orders.iceberg_qty: migration 0003, every way it is filled, and the gateway's iceberg count.

The gateway counts open icebergs (MAX_NUM_ICEBERG_ORDERS and its EXCHANGE_
variant) from the store's rows, so an iceberg placed before a restart must
still be one when the store is reopened.
"""

from __future__ import annotations

import sqlite3
from decimal import Decimal as D

import msgspec
import pytest
from sqlite_utils import Database

from daemon.gateway import Gateway
from daemon.orders import OrderRequest, OrderType, RejectCode, Side, TimeInForce
from daemon.venues.binance.models import ExchangeInfo, RestOrder, SymbolInfo, decode_user_event
from gateway_fakes import FakeRest, Journal
from state import Store
from state import intents as intent_rows
from state.migrations import MIGRATION_SET, SCHEMA_VERSION, migrations
from state.orders import OrderRecord, merge
from state_factories import FixedClock, execution_report, rest_order

STEP = "0003_orders_iceberg_qty"
#: The orders table as 0001/0002 wrote it.
COLUMNS_0002 = ("symbol", "order_id", "client_order_id", "strategy", "side", "type",
                "time_in_force", "price", "quantity", "stop_price", "executed_qty",
                "cum_quote_qty", "status", "order_list_id", "created_time", "update_time",
                "last_event_time", "source")


def _report(iceberg: str, **kw):
    """An executionReport whose ``F`` (icebergQty) is ``iceberg``, and its raw bytes."""
    _, raw = execution_report(**kw)
    wire = msgspec.json.decode(raw)
    wire["F"] = iceberg
    raw = msgspec.json.encode(wire)
    return decode_user_event(raw), raw


def _stored_text(path, order_id: int) -> str:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT iceberg_qty FROM orders WHERE order_id = ?",
                            (order_id,)).fetchone()[0]
    finally:
        conn.close()


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "state.db", clock=FixedClock()) as s:
        yield s


# ------------------------------------------------------------------ migration 0003


def _order_row_0002(order_id: int, cid: str, strategy: str | None) -> tuple:
    return ("BTCUSDT", order_id, cid, strategy, "BUY", "LIMIT", "GTC", "100.00000000",
            "1.00000000", "0.00000000", "0.40000000", "40.00000000", "PARTIALLY_FILLED", -1,
            1_000 + order_id, 2_000, 2_001, "stream")


def _build_0002_database(path) -> list[tuple]:
    """A file as the 0002 build left it: three open orders, two of them with intents."""
    conn = sqlite3.connect(path)
    db = Database(conn)
    migrations.apply(db, stop_before=STEP)
    conn.execute("PRAGMA user_version = 2")
    rows = [_order_row_0002(1, "grid-ice", "grid"), _order_row_0002(2, "grid-plain", "grid"),
            _order_row_0002(3, "web-ice", None)]
    with conn:
        intent_rows.record(conn, client_order_id="grid-ice", strategy="grid", symbol="BTCUSDT",
                           request={"symbol": "BTCUSDT", "icebergQty": "0.1"}, now=900)
        intent_rows.record(conn, client_order_id="grid-plain", strategy="grid", symbol="BTCUSDT",
                           request={"symbol": "BTCUSDT", "quantity": "1"}, now=901)
        conn.executemany(f"INSERT INTO orders ({', '.join(COLUMNS_0002)}) "
                         f"VALUES ({', '.join('?' for _ in COLUMNS_0002)})", rows)
    conn.close()
    return rows


def test_0002_database_gains_iceberg_qty_with_its_orders_intact(tmp_path):
    path = tmp_path / "old.db"
    rows = _build_0002_database(path)
    with Store.open(path, clock=FixedClock()) as store:
        orders = {o.client_order_id: o for o in store.orders(open_only=True)}
        assert orders["grid-plain"].iceberg_qty == D(0)
        assert orders["web-ice"].iceberg_qty == D(0)   # unknown until a REST view says so
        assert orders["grid-ice"].iceberg_qty == D("0.1")   # from its intent
        assert orders["grid-plain"].executed_qty == D("0.4") and orders["grid-plain"].is_open
        # A later REST view of the foreign iceberg fills it in.
        store.upsert_rest_order(rest_order(order_id=3, client_order_id="web-ice",
                                           iceberg_qty=D("0.25000000"), time=1_003))
        assert store.order("BTCUSDT", 3).iceberg_qty == D("0.25")

    conn = sqlite3.connect(path)
    try:
        info = {r[1]: r for r in conn.execute("PRAGMA table_info(orders)")}
        assert info["iceberg_qty"][2:5] == ("TEXT", 1, "'0'")   # type, NOT NULL, default
        old = conn.execute(f"SELECT {', '.join(COLUMNS_0002)} FROM orders WHERE order_id != 3 "
                           "ORDER BY order_id").fetchall()
        assert old == [r for r in rows if r[1] != 3]
        plain = conn.execute("SELECT iceberg_qty FROM orders WHERE order_id = 2").fetchone()
        assert plain == ("0",)   # the column's default
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION >= 3
        steps = [r[0] for r in conn.execute(
            "SELECT name FROM _sqlite_migrations WHERE migration_set = ? ORDER BY id",
            (MIGRATION_SET,))]
    finally:
        conn.close()
    assert steps[:3] == ["0001_initial", "0002_order_lists_automation_settings", STEP]


def test_migration_ignores_an_unreadable_intent_iceberg_qty(tmp_path):
    path = tmp_path / "old.db"
    _build_0002_database(path)
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE intents SET request = ? WHERE client_order_id = 'grid-plain'",
                     ('{"icebergQty":"1e-3x"}',))
    conn.close()
    with Store.open(path) as store:
        assert store.order("BTCUSDT", 2).iceberg_qty == D(0)


# ------------------------------------------------------------------ apply paths


def test_execution_report_with_f_records_the_iceberg(store):
    applied = store.apply_execution_report(*_report("0.10000000"))
    assert applied.order.iceberg_qty == D("0.1")
    assert _stored_text(store.path, 1) == "0.10000000"   # money text, exponent kept
    assert store.orders(open_only=True)[0].iceberg_qty == D("0.1")


def test_plain_execution_report_stores_zero(store):
    applied = store.apply_execution_report(*execution_report())
    assert applied.order.iceberg_qty == D(0)
    assert _stored_text(store.path, 1) == "0.00000000"


def test_iceberg_qty_never_changes_once_known(store):
    store.apply_execution_report(*_report("0.10000000", transaction_time=1_000))
    later = store.apply_execution_report(
        *_report("0.00000000", x="CANCELED", status="CANCELED", transaction_time=2_000))
    assert later.order.status == "CANCELED" and later.order.iceberg_qty == D("0.1")
    store.upsert_rest_order(rest_order(status="CANCELED", update_time=3_000))  # no icebergQty
    assert store.order("BTCUSDT", 1).iceberg_qty == D("0.1")


def test_a_zero_row_takes_the_first_non_zero_view():
    base = dict(symbol="BTCUSDT", order_id=1, client_order_id="c", strategy=None, side="BUY",
                type="LIMIT", time_in_force="GTC", price=D(100), quantity=D(1), stop_price=D(0),
                executed_qty=D(0), cum_quote_qty=D(0), status="NEW", order_list_id=-1,
                created_time=1, update_time=1, last_event_time=1, source="ack")
    plain, ice = OrderRecord(**base), OrderRecord(**base, iceberg_qty=D("0.2"))
    assert merge(plain, ice).iceberg_qty == D("0.2")
    assert merge(ice, plain).iceberg_qty == D("0.2")
    assert merge(ice, OrderRecord(**base, iceberg_qty=D("0.3"))).iceberg_qty == D("0.2")
    assert merge(plain, plain) == plain


def test_rest_ack_with_iceberg_qty(store):
    store.record_intent("grid-0001", "grid", "BTCUSDT", {"symbol": "BTCUSDT", "icebergQty": "0.1"})
    record = store.record_ack("grid-0001", rest_order(iceberg_qty=D("0.10000000")))
    assert record.iceberg_qty == D("0.1") and store.order("BTCUSDT", 1).iceberg_qty == D("0.1")


def test_ack_without_iceberg_qty_takes_it_from_the_intent(store):
    """An ACK answer carries no icebergQty: the intent's request says what was sent."""
    store.record_intent("grid-0001", "grid", "BTCUSDT", {"symbol": "BTCUSDT", "icebergQty": "0.1"})
    record = store.record_ack("grid-0001", RestOrder(symbol="BTCUSDT", order_id=1,
                                                     client_order_id="grid-0001", transact_time=5))
    assert record.iceberg_qty == D("0.1")


def test_stream_report_first_takes_the_intent_when_f_is_missing(store):
    store.record_intent("grid-0001", "grid", "BTCUSDT", {"symbol": "BTCUSDT", "icebergQty": "0.1"})
    _, raw = execution_report()
    wire = msgspec.json.decode(raw)
    del wire["F"]
    raw = msgspec.json.encode(wire)
    applied = store.apply_execution_report(decode_user_event(raw), raw=raw)
    assert applied.order.iceberg_qty == D("0.1")


def test_upsert_rest_order_records_the_iceberg(store):
    record = store.upsert_rest_order(rest_order(iceberg_qty=D("0.30000000")))
    assert record.iceberg_qty == D("0.3") and _stored_text(store.path, 1) == "0.30000000"


# ------------------------------------------------------------------ gateway across a restart

PRICE = {"filterType": "PRICE_FILTER", "minPrice": "0.01", "maxPrice": "1000000",
         "tickSize": "0.01"}
LOT = {"filterType": "LOT_SIZE", "minQty": "0.00001", "maxQty": "9000", "stepSize": "0.00001"}


def _info(exchange_wide: bool) -> ExchangeInfo:
    name = "EXCHANGE_MAX_NUM_ICEBERG_ORDERS" if exchange_wide else "MAX_NUM_ICEBERG_ORDERS"
    spec = {"filterType": name, "maxNumIcebergOrders": 1}
    symbol = SymbolInfo(symbol="BTCUSDT", status="TRADING", base_asset="BTC", quote_asset="USDT",
                        order_types=tuple(t.value for t in OrderType), iceberg_allowed=True,
                        filters=(PRICE, LOT) + (() if exchange_wide else (spec,)))
    return ExchangeInfo(symbols=(symbol,), exchange_filters=(spec,) if exchange_wide else ())


def _gateway(store: Store, exchange_wide: bool) -> Gateway:
    balances = {"USDT": (D("100000"), D("0")), "BTC": (D("1"), D("0"))}
    return Gateway(FakeRest(Journal()), store, _info(exchange_wide), balances=lambda: balances,
                   reference_price=lambda symbol: D("100"),
                   best_bid_ask=lambda symbol: (None, None))


def _buy(cid: str, iceberg: str | None = "0.1") -> OrderRequest:
    return OrderRequest(symbol="BTCUSDT", side=Side.BUY, type=OrderType.LIMIT,
                        time_in_force=TimeInForce.GTC, quantity=D("1"), price=D("100"),
                        iceberg_qty=D(iceberg) if iceberg else None, client_order_id=cid)


@pytest.mark.parametrize("exchange_wide", [False, True])
async def test_iceberg_placed_before_a_restart_still_counts(tmp_path, exchange_wide):
    path = tmp_path / "state.db"
    with Store.open(path) as store:
        assert (await _gateway(store, exchange_wide).submit(_buy("ice-1"), strategy="s")).accepted
    # The fake exchange answers like an ACK (no icebergQty): the row has it from the intent.
    with Store.open(path) as store:   # a restart: a fresh gateway that never saw ice-1 leave
        (stored,) = store.orders(open_only=True)
        assert stored.client_order_id == "ice-1" and stored.iceberg_qty == D("0.1")
        gateway = _gateway(store, exchange_wide)
        refused = await gateway.submit(_buy("ice-2"), strategy="s")
        assert refused.code is (RejectCode.EXCHANGE_MAX_NUM_ICEBERG_ORDERS if exchange_wide
                                else RejectCode.MAX_NUM_ICEBERG_ORDERS)
        assert refused.detail["open"] == "1"
        assert gateway.explain(_buy("plain", iceberg=None)) == []   # plain orders still go


async def test_a_foreign_iceberg_known_only_from_the_stream_counts(tmp_path):
    path = tmp_path / "state.db"
    with Store.open(path) as store:
        store.apply_execution_report(*_report("0.20000000", client_order_id="web-1"))
    with Store.open(path) as store:
        refused = await _gateway(store, False).submit(_buy("ice-2"), strategy="s")
        assert refused.code is RejectCode.MAX_NUM_ICEBERG_ORDERS
