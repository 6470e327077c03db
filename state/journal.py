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
"""

from __future__ import annotations

import sqlite3
from typing import Any

from state.codec import canonical_json, event_payload, money_text, raw_text, sha256_hex

_INSERT = (
    "INSERT OR IGNORE INTO journal (recorded_at, source, kind, dedupe_key, payload) "
    "VALUES (?, ?, ?, ?, ?)"
)


def append(conn: sqlite3.Connection, *, recorded_at: int, source: str, kind: str,
           dedupe_key: str, payload: str) -> bool:
    """Insert one entry; False when an entry with the same key already exists."""
    cursor = conn.execute(_INSERT, (recorded_at, source, kind, dedupe_key, payload))
    return cursor.rowcount == 1


def append_event(conn: sqlite3.Connection, *, recorded_at: int, source: str, kind: str,
                 natural_key: str, event: Any, raw: bytes | str | None) -> bool:
    """Journal an exchange event, keyed by its raw bytes when given, else by ``natural_key``."""
    if raw is not None:
        key, payload = f"sha256:{sha256_hex(raw)}", raw_text(raw)
    else:
        key, payload = natural_key, event_payload(event)
    return append(conn, recorded_at=recorded_at, source=source, kind=kind,
                  dedupe_key=key, payload=payload)


def append_record(conn: sqlite3.Connection, *, recorded_at: int, source: str, kind: str,
                  subject: str, payload: dict[str, Any]) -> bool:
    """Journal a local decision (intent, ack, rejection, snapshot) keyed by its content.

    The same call repeated with the same content is one entry; different
    content about the same subject (a second send error) is another.
    """
    text = canonical_json(payload)
    key = f"{kind}:{subject}:{sha256_hex(text)[:32]}"
    return append(conn, recorded_at=recorded_at, source=source, kind=kind,
                  dedupe_key=key, payload=text)


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


def entries(conn: sqlite3.Connection, *, limit: int | None = None,
            kind: str | None = None) -> list[dict[str, Any]]:
    """Entries oldest first; ``limit`` keeps the newest ``limit`` of them."""
    where, params = ("WHERE kind = ?", [kind]) if kind is not None else ("", [])
    inner = f"SELECT id, recorded_at, source, kind, dedupe_key, payload FROM journal {where} ORDER BY id DESC"
    if limit is not None:
        inner += " LIMIT ?"
        params.append(int(limit))
    rows = conn.execute(f"SELECT * FROM ({inner}) ORDER BY id", params).fetchall()
    columns = ("id", "recorded_at", "source", "kind", "dedupe_key", "payload")
    return [dict(zip(columns, row)) for row in rows]
