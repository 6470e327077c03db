"""Order lists (OCO, OTO): the record, how ``listStatus`` views merge, and the SQL.

Why a merge, as for orders: the same list is reported several times
(``EXEC_STARTED`` when placed, ``UPDATED`` when a member's client id changes,
``ALL_DONE`` when finished) and a reconnect can replay an older event after a
newer one.  A list only moves forward: its ``list_order_status`` goes from
``EXECUTING`` to a terminal ``ALL_DONE`` or ``REJECT``, never back, and the
first terminal view is final; among executing views the later transaction time
wins (that is how an ``UPDATED`` member list replaces the placed one).

One exception, read from the enums page: ``list_status_type = RESPONSE`` with
``REJECT`` answers a *failed action* (for example a cancel that was refused).
About a list we already know, it says nothing of the list itself, which keeps
executing; it is journalled but does not touch the row.  About a list we do
not know, it is all we will ever hear, and it is stored as rejected.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

import msgspec

from state.codec import where_clause

log = logging.getLogger(__name__)

EXECUTING, ALL_DONE, REJECT = "EXECUTING", "ALL_DONE", "REJECT"
RESPONSE = "RESPONSE"

_STATUS_RANK = {EXECUTING: 1, ALL_DONE: 2, REJECT: 2}
_UNKNOWN_RANK = -1


def status_rank(list_order_status: str) -> int:
    """Position of a list order status in a list's life; unknown ones never win a merge."""
    return _STATUS_RANK.get(list_order_status, _UNKNOWN_RANK)


class ListMember(msgspec.Struct, frozen=True, kw_only=True):
    """One order of a list, as the list reports it."""

    symbol: str
    order_id: int
    client_order_id: str


class OrderListRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One order list as the store knows it.  ``strategy`` is None for lists placed elsewhere."""

    symbol: str
    order_list_id: int
    list_client_order_id: str
    strategy: str | None
    contingency_type: str
    list_status_type: str
    list_order_status: str
    reject_reason: str | None
    transaction_time: int
    last_event_time: int
    orders: tuple[ListMember, ...]
    source: str

    @property
    def is_active(self) -> bool:
        return self.list_order_status == EXECUTING


def from_list_status(ev: Any, strategy: str | None, source: str) -> OrderListRecord:
    """The list as one ``listStatus`` event (ListStatus-like) describes it."""
    return OrderListRecord(
        symbol=ev.symbol, order_list_id=int(ev.order_list_id),
        list_client_order_id=ev.list_client_order_id, strategy=strategy,
        contingency_type=ev.contingency_type, list_status_type=ev.list_status_type,
        list_order_status=ev.list_order_status,
        reject_reason=None if ev.reject_reason in (None, "", "NONE") else ev.reject_reason,
        transaction_time=int(ev.transaction_time), last_event_time=int(ev.event_time),
        orders=tuple(ListMember(symbol=o.symbol, order_id=int(o.order_id),
                                client_order_id=o.client_order_id) for o in ev.orders),
        source=source,
    )


def merge(stored: OrderListRecord, incoming: OrderListRecord) -> OrderListRecord:
    """Combine two views of one list; the status and the members only move forward."""
    if incoming.list_status_type == RESPONSE:
        log.info("order_list.response symbol=%s order_list_id=%d status=%s reason=%s",
                 incoming.symbol, incoming.order_list_id, incoming.list_order_status,
                 incoming.reject_reason)
        return stored
    stored_rank = status_rank(stored.list_order_status)
    incoming_rank = status_rank(incoming.list_order_status)
    forward = incoming_rank > stored_rank
    # Among executing views the later one wins (UPDATED renames a member); a
    # finished list is frozen: the first terminal view is the list's outcome.
    newer_same = (incoming_rank == stored_rank == _STATUS_RANK[EXECUTING]
                  and incoming.transaction_time >= stored.transaction_time)
    merged = stored
    if forward or newer_same:
        merged = msgspec.structs.replace(
            merged, list_status_type=incoming.list_status_type,
            list_order_status=incoming.list_order_status,
            reject_reason=incoming.reject_reason or stored.reject_reason,
            orders=incoming.orders or stored.orders)
    merged = msgspec.structs.replace(
        merged,
        strategy=stored.strategy or incoming.strategy,
        transaction_time=max(stored.transaction_time, incoming.transaction_time),
        last_event_time=max(stored.last_event_time, incoming.last_event_time),
    )
    if merged != stored:
        merged = msgspec.structs.replace(merged, source=incoming.source)
    return merged


_COLUMNS = ("symbol", "order_list_id", "list_client_order_id", "strategy", "contingency_type",
            "list_status_type", "list_order_status", "reject_reason", "transaction_time",
            "last_event_time", "orders", "source")
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM order_lists"
_UPSERT = (
    f"INSERT INTO order_lists ({', '.join(_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in _COLUMNS)}) "
    "ON CONFLICT (symbol, order_list_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS[2:])
)
_members_decoder = msgspec.json.Decoder(tuple[ListMember, ...])


def _row(record: OrderListRecord) -> tuple:
    values = msgspec.structs.asdict(record)
    values["orders"] = msgspec.json.encode(record.orders).decode()
    return tuple(values[c] for c in _COLUMNS)


def _record(row: tuple) -> OrderListRecord:
    values = dict(zip(_COLUMNS, row))
    values["orders"] = _members_decoder.decode(values["orders"])
    return OrderListRecord(**values)


def load(conn: sqlite3.Connection, symbol: str, order_list_id: int) -> OrderListRecord | None:
    row = conn.execute(f"{_SELECT} WHERE symbol = ? AND order_list_id = ?",
                       (symbol, int(order_list_id))).fetchone()
    return _record(row) if row else None


def save(conn: sqlite3.Connection, incoming: OrderListRecord) -> tuple[OrderListRecord, bool]:
    """Insert or merge ``incoming``; returns (the stored record, whether the row changed)."""
    if status_rank(incoming.list_order_status) == _UNKNOWN_RANK:
        log.warning("order_list.unknown_status symbol=%s order_list_id=%d status=%s",
                    incoming.symbol, incoming.order_list_id, incoming.list_order_status)
    stored = load(conn, incoming.symbol, incoming.order_list_id)
    merged = incoming if stored is None else merge(stored, incoming)
    if merged == stored:
        return stored, False
    conn.execute(_UPSERT, _row(merged))
    return merged, True


def query(conn: sqlite3.Connection, *, symbol: str | None = None, active_only: bool = False,
          limit: int | None = None) -> list[OrderListRecord]:
    """Lists oldest first (by transaction time); ``limit`` keeps the newest ``limit``."""
    where, params = where_clause(("symbol = ?", symbol),
                                 ("list_order_status = ?", EXECUTING if active_only else None))
    inner = f"{_SELECT}{where} ORDER BY transaction_time DESC, order_list_id DESC"
    if limit is not None:
        inner += " LIMIT ?"
        params.append(int(limit))
    rows = conn.execute(f"SELECT * FROM ({inner}) ORDER BY transaction_time, order_list_id",
                        params).fetchall()
    return [_record(row) for row in rows]
