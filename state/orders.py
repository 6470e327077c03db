"""Orders: the record, how exchange views of an order merge, and its SQL.

Why a merge instead of "last write wins": the same order is seen through the
user-data stream, the REST acknowledgement and the reconcile snapshot, and
those views arrive out of order (a REST answer sent before a fill can land
after it; a reconnect can deliver a stale snapshot).  An order only moves
forward, so each mutable field is merged monotonically: the larger cumulative
filled quantity, the later status in NEW < PARTIALLY_FILLED < terminal, the
later update time.  An older view therefore can never undo a newer one, and
applying the same view twice leaves the row untouched.
"""

from __future__ import annotations

import logging
import sqlite3
from decimal import Decimal
from typing import Any

import msgspec

from daemon.errors import StateError
from state.codec import money, money_text, to_decimal, where_clause

log = logging.getLogger(__name__)

#: Statuses after which an order can no longer trade.
TERMINAL_STATUSES = frozenset({"FILLED", "CANCELED", "EXPIRED", "REJECTED", "EXPIRED_IN_MATCH"})

_STATUS_RANK = {"PENDING_NEW": 0, "NEW": 1, "PARTIALLY_FILLED": 2, "PENDING_CANCEL": 3}
_TERMINAL_RANK = 4
_UNKNOWN_RANK = -1


def status_rank(status: str) -> int:
    """Position of a status in an order's life; unknown statuses never win a merge."""
    if status in TERMINAL_STATUSES:
        return _TERMINAL_RANK
    return _STATUS_RANK.get(status, _UNKNOWN_RANK)


class OrderRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One order as the store knows it.  ``strategy`` is None for orders placed elsewhere."""

    symbol: str
    order_id: int
    client_order_id: str
    strategy: str | None
    side: str
    type: str
    time_in_force: str | None
    price: Decimal
    quantity: Decimal
    stop_price: Decimal
    executed_qty: Decimal
    cum_quote_qty: Decimal
    status: str
    order_list_id: int
    created_time: int
    update_time: int
    last_event_time: int
    source: str
    #: The visible part of an iceberg; 0 = not an iceberg (Binance: "icebergQty > 0").
    iceberg_qty: Decimal = Decimal(0)

    @property
    def is_open(self) -> bool:
        return self.status not in TERMINAL_STATUSES

    @property
    def remaining_qty(self) -> Decimal:
        return self.quantity - self.executed_qty


def from_execution_report(ev: Any, strategy: str | None, source: str) -> OrderRecord:
    """The order as one executionReport describes it.

    On a cancel, ``c`` is the cancel request's own id and ``C`` the order's, so
    the original id is preferred.
    """
    return OrderRecord(
        symbol=ev.symbol, order_id=int(ev.order_id),
        client_order_id=ev.orig_client_order_id or ev.client_order_id, strategy=strategy,
        side=ev.side, type=ev.order_type, time_in_force=ev.time_in_force,
        price=to_decimal(ev.price, "price"), quantity=to_decimal(ev.quantity, "quantity"),
        stop_price=to_decimal(ev.stop_price, "stop_price"),
        iceberg_qty=to_decimal(getattr(ev, "iceberg_qty", 0), "iceberg_qty"),
        executed_qty=to_decimal(ev.cum_qty, "cum_qty"),
        cum_quote_qty=to_decimal(ev.cum_quote_qty, "cum_quote_qty"),
        status=ev.status, order_list_id=int(ev.order_list_id),
        created_time=int(ev.order_time or ev.transaction_time),
        update_time=int(ev.transaction_time), last_event_time=int(ev.event_time), source=source,
    )


def from_rest_order(order: Any, strategy: str | None, source: str) -> OrderRecord:
    """The order as a REST answer (RestOrder-like) describes it."""
    created = int(getattr(order, "time", 0) or getattr(order, "transact_time", 0) or 0)
    updated = int(getattr(order, "update_time", 0) or getattr(order, "transact_time", 0)
                  or created)
    return OrderRecord(
        symbol=order.symbol, order_id=int(order.order_id), client_order_id=order.client_order_id,
        strategy=strategy, side=order.side, type=order.type, time_in_force=order.time_in_force,
        price=to_decimal(order.price, "price"), quantity=to_decimal(order.orig_qty, "orig_qty"),
        stop_price=to_decimal(order.stop_price, "stop_price"),
        iceberg_qty=to_decimal(getattr(order, "iceberg_qty", 0), "iceberg_qty"),
        executed_qty=to_decimal(order.executed_qty, "executed_qty"),
        cum_quote_qty=to_decimal(order.cummulative_quote_qty, "cummulative_quote_qty"),
        status=order.status, order_list_id=int(order.order_list_id),
        created_time=created, update_time=updated, last_event_time=updated, source=source,
    )


def merge(stored: OrderRecord, incoming: OrderRecord) -> OrderRecord:
    """Combine two views of one order, each mutable field moving only forward.

    Identity fields (side, price, quantity...) are kept from the first view:
    Binance never changes them.  ``iceberg_qty`` is one too, but a view may
    not carry it (an ACK answer, a row older than the column): a non-zero
    value is kept once known, and a '0' takes the first non-zero one seen.
    ``source`` names whoever last moved the row.
    """
    status = stored.status
    if status_rank(incoming.status) > status_rank(stored.status):
        status = incoming.status
    merged = msgspec.structs.replace(
        stored,
        strategy=stored.strategy or incoming.strategy,
        iceberg_qty=stored.iceberg_qty or incoming.iceberg_qty or stored.iceberg_qty,
        executed_qty=max(stored.executed_qty, incoming.executed_qty),
        cum_quote_qty=max(stored.cum_quote_qty, incoming.cum_quote_qty),
        status=status,
        created_time=stored.created_time or incoming.created_time,
        update_time=max(stored.update_time, incoming.update_time),
        last_event_time=max(stored.last_event_time, incoming.last_event_time),
    )
    if merged != stored:
        merged = msgspec.structs.replace(merged, source=incoming.source)
    return merged


_COLUMNS = ("symbol", "order_id", "client_order_id", "strategy", "side", "type",
            "time_in_force", "price", "quantity", "stop_price", "executed_qty", "cum_quote_qty",
            "status", "order_list_id", "created_time", "update_time", "last_event_time", "source",
            "iceberg_qty")
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM orders"
_UPSERT = (
    f"INSERT INTO orders ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' for _ in _COLUMNS)}) "
    "ON CONFLICT (symbol, order_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS[2:])
)
_MONEY = {"price", "quantity", "stop_price", "executed_qty", "cum_quote_qty", "iceberg_qty"}


def _row(record: OrderRecord) -> tuple:
    return tuple(money_text(getattr(record, c), c) if c in _MONEY else getattr(record, c)
                 for c in _COLUMNS)


def _record(row: tuple) -> OrderRecord:
    values = dict(zip(_COLUMNS, row))
    for column in _MONEY:
        values[column] = money(values[column])
    return OrderRecord(**values)


def load(conn: sqlite3.Connection, symbol: str, order_id: int) -> OrderRecord | None:
    row = conn.execute(f"{_SELECT} WHERE symbol = ? AND order_id = ?",
                       (symbol, int(order_id))).fetchone()
    return _record(row) if row else None


def save(conn: sqlite3.Connection, incoming: OrderRecord) -> tuple[OrderRecord, bool]:
    """Insert or merge ``incoming``; returns (the stored record, whether the row changed)."""
    if status_rank(incoming.status) == _UNKNOWN_RANK:
        log.warning("order.unknown_status symbol=%s order_id=%d status=%s",
                    incoming.symbol, incoming.order_id, incoming.status)
    stored = load(conn, incoming.symbol, incoming.order_id)
    if stored is None and not incoming.iceberg_qty:
        asked = intent_iceberg_qty(conn, incoming.client_order_id)
        if asked:
            incoming = msgspec.structs.replace(incoming, iceberg_qty=asked)
    merged = incoming if stored is None else merge(stored, incoming)
    if merged == stored:
        return stored, False
    conn.execute(_UPSERT, _row(merged))
    return merged, True


def intent_iceberg_qty(conn: sqlite3.Connection, client_order_id: str) -> Decimal:
    """The ``icebergQty`` the intent of ``client_order_id`` asked for; 0 without one.

    Used when a row is first created from a view that may not carry it (an ACK
    answer).  An unreadable value is logged and read as 0 rather than failing
    the event's transaction: the next REST view of the order brings it.
    """
    row = conn.execute(
        "SELECT json_extract(request, '$.icebergQty') FROM intents "
        "WHERE client_order_id = ? AND json_valid(request)", (client_order_id,)).fetchone()
    if row is None or row[0] is None:
        return Decimal(0)
    try:
        qty = to_decimal(row[0] if isinstance(row[0], str) else str(row[0]), "icebergQty")
    except StateError:
        qty = Decimal(-1)
    if qty < 0:
        log.warning("order.bad_intent_iceberg_qty client_order_id=%s value=%r",
                    client_order_id, row[0])
        return Decimal(0)
    return qty


def query(conn: sqlite3.Connection, *, symbol: str | None = None, open_only: bool = False,
          limit: int | None = None, client_order_id: str | None = None,
          strategy: str | None = None, since_ms: int | None = None,
          until_ms: int | None = None) -> list[OrderRecord]:
    """Orders oldest first; ``limit`` keeps the newest ``limit`` of them.

    ``since_ms``/``until_ms`` bound the creation time as [since, until): "the
    orders placed in the last hour", whatever has happened to them since.
    """
    where, params = where_clause(
        ("symbol = ?", symbol), ("client_order_id = ?", client_order_id),
        ("strategy = ?", strategy), ("created_time >= ?", since_ms), ("created_time < ?", until_ms),
        (f"status NOT IN ({', '.join('?' for _ in TERMINAL_STATUSES)})",
         sorted(TERMINAL_STATUSES) if open_only else None))
    inner = f"{_SELECT}{where} ORDER BY created_time DESC, order_id DESC"
    if limit is not None:
        inner += " LIMIT ?"
        params.append(int(limit))
    rows = conn.execute(f"SELECT * FROM ({inner}) ORDER BY created_time, order_id",
                        params).fetchall()
    return [_record(row) for row in rows]


def count_open(conn: sqlite3.Connection) -> int:
    terminal = sorted(TERMINAL_STATUSES)
    sql = f"SELECT count(*) FROM orders WHERE status NOT IN ({', '.join('?' for _ in terminal)})"
    return conn.execute(sql, terminal).fetchone()[0]
