"""Write-ahead order intents: what a strategy asked for, recorded before it leaves.

Why write-ahead: between sending an order and reading the answer the process
can die, or the answer can be lost (5xx, dropped connection).  The intent row,
committed before the request is sent, is what lets the restart find out: its
``client_order_id`` is the key to query the exchange with, and it says which
strategy owns the order when it later shows up on the stream or in a snapshot.

States: ``pending`` (written, answer not yet known), ``acked`` (the exchange
has the order; terminal), ``error`` (refused for sure), ``unknown`` (the
outcome is not known: resolve by querying, never by resending blindly).  Any
sighting of the order on the exchange moves the intent to ``acked``; a late
error never moves an acked intent back.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import msgspec

from daemon.errors import StateError
from state.codec import canonical_json, without_secrets

PENDING, ACKED, ERROR, UNKNOWN = "pending", "acked", "error", "unknown"
STATES = (PENDING, ACKED, ERROR, UNKNOWN)


class IntentRecord(msgspec.Struct, frozen=True, kw_only=True):
    client_order_id: str
    strategy: str
    symbol: str
    request: dict[str, str]
    state: str
    order_id: int | None
    error: str | None
    created_at: int
    updated_at: int


_COLUMNS = ("client_order_id", "strategy", "symbol", "request", "state", "order_id", "error",
            "created_at", "updated_at")


def record(conn: sqlite3.Connection, *, client_order_id: str, strategy: str, symbol: str,
           request: dict[str, Any], now: int) -> bool:
    """Insert a pending intent; True if new.  Reusing an id for another request is an error."""
    if not client_order_id:
        raise StateError("intent without client_order_id")
    request_json = canonical_json(without_secrets(request))
    cursor = conn.execute(
        "INSERT OR IGNORE INTO intents (client_order_id, strategy, symbol, request, state, "
        "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (client_order_id, strategy, symbol, request_json, PENDING, now, now),
    )
    if cursor.rowcount == 1:
        return True
    existing = conn.execute(
        "SELECT strategy, symbol, request FROM intents WHERE client_order_id = ?",
        (client_order_id,),
    ).fetchone()
    if existing != (strategy, symbol, request_json):
        raise StateError(
            f"client_order_id {client_order_id} already recorded for another intent "
            f"(strategy={existing[0]} symbol={existing[1]})"
        )
    return False


def strategy_for(conn: sqlite3.Connection, client_order_id: str) -> str | None:
    row = conn.execute("SELECT strategy FROM intents WHERE client_order_id = ?",
                       (client_order_id,)).fetchone()
    return row[0] if row else None


def link(conn: sqlite3.Connection, client_order_id: str, order_id: int, now: int) -> bool:
    """The exchange has this order: the intent is acked (whatever it said before)."""
    cursor = conn.execute(
        "UPDATE intents SET state = ?, order_id = ?, updated_at = ? "
        "WHERE client_order_id = ? AND (state != ? OR order_id IS NOT ?)",
        (ACKED, int(order_id), now, client_order_id, ACKED, int(order_id)),
    )
    return cursor.rowcount == 1


def fail(conn: sqlite3.Connection, client_order_id: str, error: str, state: str,
         now: int) -> str:
    """Record a failed send as ``error`` or ``unknown``; returns the state now stored.

    An acked intent stays acked: the order exists, whatever the late error says.
    """
    if state not in (ERROR, UNKNOWN):
        raise StateError(f"intent failure state must be {ERROR} or {UNKNOWN}, not {state!r}")
    row = conn.execute("SELECT state FROM intents WHERE client_order_id = ?",
                       (client_order_id,)).fetchone()
    if row is None:
        raise StateError(f"no intent recorded for client_order_id {client_order_id}")
    if row[0] == ACKED:
        return ACKED
    conn.execute(
        "UPDATE intents SET state = ?, error = ?, updated_at = ? WHERE client_order_id = ?",
        (state, error, now, client_order_id),
    )
    return state


def query(conn: sqlite3.Connection, states: tuple[str, ...] | None = None) -> list[IntentRecord]:
    """Intents oldest first, optionally only those in ``states``."""
    sql, params = f"SELECT {', '.join(_COLUMNS)} FROM intents", []
    if states:
        sql += f" WHERE state IN ({', '.join('?' for _ in states)})"
        params.extend(states)
    rows = conn.execute(sql + " ORDER BY created_at, client_order_id", params).fetchall()
    result = []
    for row in rows:
        values = dict(zip(_COLUMNS, row))
        values["request"] = json.loads(values["request"])
        result.append(IntentRecord(**values))
    return result
