"""Operator settings that must survive a restart (a kill switch, a paused job...).

Why in the state database and not the config file: these are flipped at run
time (by the CLI or a plugin) and must hold after a crash, in the same file and
under the same transactions as the orders they govern.  Values are TEXT: the
caller decides the format (a Decimal as ``format(d, "f")``, a flag as
``"on"``/``"off"``), so nothing is silently turned into a float.

Secrets never go here: a key whose last dotted part names a credential
(``venue.api_secret``) is refused, as everywhere else in the store.
"""

from __future__ import annotations

import sqlite3

from daemon.errors import StateError
from state.codec import SECRET_KEYS


def check(key: str, value: object) -> None:
    """Refuse empty keys, secret-looking keys and non-text values."""
    if not isinstance(key, str) or not key:
        raise StateError(f"setting key must be a non-empty string, not {key!r}")
    if key.rsplit(".", 1)[-1].lower() in SECRET_KEYS:
        raise StateError(f"setting {key}: secrets are never stored in the state database")
    if not isinstance(value, str):
        raise StateError(f"setting {key}: value must be text, not {type(value).__name__} "
                         "(format numbers yourself, Decimal as format(d, 'f'))")


def get(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
    return row[0] if row else None


def put(conn: sqlite3.Connection, key: str, value: str, now: int) -> str | None:
    """Store ``value``; returns the previous value (None when the key was new)."""
    previous = get(conn, key)
    if previous != value:
        conn.execute(
            "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value, "
            "updated_at = excluded.updated_at", (key, value, int(now)))
    return previous


def all_settings(conn: sqlite3.Connection) -> dict[str, str]:
    return dict(conn.execute("SELECT key, value FROM settings ORDER BY key").fetchall())
