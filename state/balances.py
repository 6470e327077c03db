"""Balances per asset: authoritative positions, deltas, and REST snapshots.

Why the update-time rules: the stream sends two kinds of balance news that
overlap.  ``outboundAccountPosition`` states free/locked outright as of its
``last_update_time``; ``balanceUpdate`` states a delta (deposit, transfer...)
cleared at ``clear_time``, and a position sent after it already includes it.
Keeping, per asset, the exchange time the row is valid at resolves both:

- a position replaces the row unless it is older than the row (a stale
  position replayed after a reconnect must not roll the balance back);
- a delta is added only if it cleared after the row's time (otherwise the row
  came from a position that already counts it), and then moves the time on.

So position-then-delta and delta-then-position both end with the delta
counted once, and each event applied twice is a no-op.
"""

from __future__ import annotations

import logging
import sqlite3
from decimal import Decimal
from typing import Any, Iterable

from state.codec import money, money_text, to_decimal

log = logging.getLogger(__name__)

_SELECT_ONE = "SELECT free, locked, update_time FROM balances WHERE asset = ?"
_UPSERT = (
    "INSERT INTO balances (asset, free, locked, update_time, source) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (asset) DO UPDATE SET free = excluded.free, locked = excluded.locked, "
    "update_time = excluded.update_time, source = excluded.source"
)


def _load(conn: sqlite3.Connection, asset: str) -> tuple[Decimal, Decimal, int] | None:
    row = conn.execute(_SELECT_ONE, (asset,)).fetchone()
    return (money(row[0]), money(row[1]), row[2]) if row else None


def _set(conn: sqlite3.Connection, asset: str, free: Decimal, locked: Decimal,
         update_time: int, source: str,
         stored: tuple[Decimal, Decimal, int] | None) -> bool:
    """Write the row when any of its values differ; True if written."""
    if stored is not None and stored == (free, locked, update_time):
        return False
    conn.execute(_UPSERT, (asset, money_text(free, f"{asset}.free"),
                           money_text(locked, f"{asset}.locked"), update_time, source))
    return True


def apply_position(conn: sqlite3.Connection, ev: Any, source: str) -> bool:
    """outboundAccountPosition: each listed asset is set outright unless the row is newer."""
    update_time = int(ev.last_update_time)
    changed = False
    for balance in ev.balances:
        stored = _load(conn, balance.asset)
        if stored is not None and update_time < stored[2]:
            log.debug("balance.stale_position asset=%s update_time=%d stored=%d",
                      balance.asset, update_time, stored[2])
            continue
        free = to_decimal(balance.free, f"{balance.asset}.free")
        locked = to_decimal(balance.locked, f"{balance.asset}.locked")
        changed |= _set(conn, balance.asset, free, locked, update_time, source, stored)
    return changed


def apply_delta(conn: sqlite3.Connection, ev: Any, source: str) -> bool:
    """balanceUpdate: add the delta to free only if it cleared after the row's time."""
    clear_time = int(ev.clear_time)
    delta = to_decimal(ev.delta, f"{ev.asset}.delta")
    stored = _load(conn, ev.asset)
    if stored is not None and clear_time <= stored[2]:
        log.debug("balance.delta_included asset=%s clear_time=%d stored=%d",
                  ev.asset, clear_time, stored[2])
        return False
    free, locked = (stored[0], stored[1]) if stored else (Decimal(0), Decimal(0))
    return _set(conn, ev.asset, free + delta, locked, clear_time, source, stored)


def replace(conn: sqlite3.Connection, balances: Iterable[Any], update_time: int,
            source: str) -> bool:
    """A REST snapshot: the table becomes the snapshot, except rows the stream moved later.

    Assets missing from the snapshot are zero on the exchange (``omitZeroBalances``)
    and are deleted.  A row newer than the snapshot came from the stream after the
    snapshot was taken and is kept.
    """
    update_time = int(update_time)
    changed = False
    seen = set()
    for balance in balances:
        seen.add(balance.asset)
        stored = _load(conn, balance.asset)
        if stored is not None and stored[2] > update_time:
            log.info("balance.snapshot_older asset=%s snapshot=%d stored=%d",
                     balance.asset, update_time, stored[2])
            continue
        free = to_decimal(balance.free, f"{balance.asset}.free")
        locked = to_decimal(balance.locked, f"{balance.asset}.locked")
        changed |= _set(conn, balance.asset, free, locked, update_time, source, stored)
    for (asset,) in conn.execute("SELECT asset FROM balances WHERE update_time <= ?",
                                 (update_time,)).fetchall():
        if asset not in seen:
            conn.execute("DELETE FROM balances WHERE asset = ?", (asset,))
            changed = True
    return changed


def snapshot(conn: sqlite3.Connection, nonzero: bool = False) -> dict[str, tuple[Decimal, Decimal]]:
    """asset -> (free, locked), sorted by asset; ``nonzero`` drops all-zero assets."""
    result = {}
    for asset, free, locked in conn.execute(
            "SELECT asset, free, locked FROM balances ORDER BY asset"):
        amounts = (money(free), money(locked))
        if nonzero and not any(amounts):
            continue
        result[asset] = amounts
    return result
