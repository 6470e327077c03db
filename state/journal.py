"""The append-only journal: every event and every decision that changed state.

Why a journal next to the tables: the tables hold the *current* picture, the
journal holds *how we got there* (the raw exchange payloads, the write-ahead
intents, the rejections), so an operator can audit a fill and a replay can
rebuild the tables.  Its ``dedupe_key`` column is UNIQUE and doubles as the
idempotence guard of ``Store.apply_*``: an event whose key is already present
was applied in the same transaction that journalled it, so applying it again
must change nothing.

Keys: with the raw payload, ``sha256:<hex>`` of its bytes (exactly what the
exchange sent); without it, a key built from the event's natural identity
(see the ``*_key`` functions), so the same event decoded twice still dedupes.

``symbol`` (schema 0002) is copied from the event or record when it concerns
one symbol, so the operator's ``events --symbol`` is an index lookup rather
than a parse of every payload.  Balance events concern assets and leave it NULL.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from state.codec import canonical_json, event_payload, money_text, raw_text, sha256_hex, where_clause

_INSERT = (
    "INSERT OR IGNORE INTO journal (recorded_at, source, kind, dedupe_key, payload, symbol) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
_COLUMNS = ("id", "recorded_at", "source", "kind", "symbol", "dedupe_key", "payload")


def append(conn: sqlite3.Connection, *, recorded_at: int, source: str, kind: str,
           dedupe_key: str, payload: str, symbol: str | None = None) -> bool:
    """Insert one entry; False when an entry with the same key already exists.

    ``symbol`` (when the entry is about one) is what ``entries(symbol=...)`` filters on.
    """
    cursor = conn.execute(_INSERT, (recorded_at, source, kind, dedupe_key, payload, symbol))
    return cursor.rowcount == 1


def append_event(conn: sqlite3.Connection, *, recorded_at: int, source: str, kind: str,
                 natural_key: str, event: Any, raw: bytes | str | None) -> bool:
    """Journal an exchange event, keyed by its raw bytes when given, else by ``natural_key``."""
    if raw is not None:
        key, payload = f"sha256:{sha256_hex(raw)}", raw_text(raw)
    else:
        key, payload = natural_key, event_payload(event)
    return append(conn, recorded_at=recorded_at, source=source, kind=kind,
                  dedupe_key=key, payload=payload, symbol=getattr(event, "symbol", None))


def append_record(conn: sqlite3.Connection, *, recorded_at: int, source: str, kind: str,
                  subject: str, payload: dict[str, Any], symbol: str | None = None) -> bool:
    """Journal a local decision (intent, ack, rejection, snapshot) keyed by its content.

    The same call repeated with the same content is one entry; different
    content about the same subject (a second send error) is another.
    """
    text = canonical_json(payload)
    key = f"{kind}:{subject}:{sha256_hex(text)[:32]}"
    return append(conn, recorded_at=recorded_at, source=source, kind=kind,
                  dedupe_key=key, payload=text, symbol=symbol or None)


def execution_report_key(ev: Any) -> str:
    """symbol + order id + execution type + trade id + cumulative qty + transaction time."""
    return (f"executionReport:{ev.symbol}:{ev.order_id}:{ev.execution_type}:{ev.trade_id}:"
            f"{money_text(ev.cum_qty, 'cum_qty')}:{ev.transaction_time}")


def account_position_key(ev: Any) -> str:
    """Update time + a digest of the balances (distinct content at one time stays distinct)."""
    content = ",".join(
        f"{b.asset}={money_text(b.free, 'free')}/{money_text(b.locked, 'locked')}"
        for b in sorted(ev.balances, key=lambda b: b.asset)
    )
    return f"outboundAccountPosition:{ev.last_update_time}:{sha256_hex(content)[:32]}"


def balance_update_key(ev: Any) -> str:
    return f"balanceUpdate:{ev.asset}:{money_text(ev.delta, 'delta')}:{ev.clear_time}"


def external_lock_key(ev: Any) -> str:
    return (f"externalLockUpdate:{ev.asset}:{money_text(ev.delta, 'delta')}:"
            f"{ev.transaction_time}")


def list_status_key(ev: Any) -> str:
    """symbol + list id + both statuses + transaction time + a digest of the members.

    The members are in the key because an ``UPDATED`` event may change only a
    member's client order id, at the same time and statuses as another event.
    """
    members = ",".join(f"{o.symbol}:{o.order_id}:{o.client_order_id}" for o in ev.orders)
    return (f"listStatus:{ev.symbol}:{ev.order_list_id}:{ev.list_status_type}:"
            f"{ev.list_order_status}:{ev.transaction_time}:{sha256_hex(members)[:32]}")


def entries(conn: sqlite3.Connection, *, limit: int | None = None, kind: str | None = None,
            symbol: str | None = None, since_ms: int | None = None,
            until_ms: int | None = None, after_id: int | None = None) -> list[dict[str, Any]]:
    """Entries oldest first; ``limit`` keeps the newest ``limit`` of them.

    ``since_ms``/``until_ms`` bound ``recorded_at`` (our clock: when the entry
    was written) as the half-open range [since, until); ``after_id`` returns only
    entries written after the one with that id (how ``events --follow`` tails).
    """
    where, params = where_clause(("kind = ?", kind), ("symbol = ?", symbol),
                                 ("recorded_at >= ?", since_ms), ("recorded_at < ?", until_ms),
                                 ("id > ?", after_id))
    inner = f"SELECT {', '.join(_COLUMNS)} FROM journal{where} ORDER BY id DESC"
    if limit is not None:
        inner += " LIMIT ?"
        params.append(int(limit))
    rows = conn.execute(f"SELECT * FROM ({inner}) ORDER BY id", params).fetchall()
    return [dict(zip(_COLUMNS, row)) for row in rows]


def last_id(conn: sqlite3.Connection) -> int:
    """The id of the newest entry (0 for an empty journal)."""
    return conn.execute("SELECT coalesce(max(id), 0) FROM journal").fetchone()[0]
