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

``externalLockUpdate`` (today's API: part of the spot balance locked or
unlocked by an outside system, e.g. as margin collateral) is a delta of the
same kind, moving ``delta`` from free to locked (a negative delta unlocks); it
follows the same rule with its ``transaction_time``.  The docs do not state the
sign; "locked/unlocked" with a positive example delta reads as positive = lock.
"""

from __future__ import annotations

import logging
import sqlite3
from decimal import Decimal
from typing import Any, Iterable

import msgspec

from state.codec import money, money_text, to_decimal, where_clause

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
    delta = to_decimal(ev.delta, f"{ev.asset}.delta")
    return _move(conn, ev.asset, int(ev.clear_time), delta, Decimal(0), source, "delta")


def apply_lock(conn: sqlite3.Connection, ev: Any, source: str) -> bool:
    """externalLockUpdate: move ``delta`` from free to locked if it happened after the row's time."""
    delta = to_decimal(ev.delta, f"{ev.asset}.delta")
    return _move(conn, ev.asset, int(ev.transaction_time), -delta, delta, source, "lock")


def _move(conn: sqlite3.Connection, asset: str, when: int, free_change: Decimal,
          locked_change: Decimal, source: str, kind: str) -> bool:
    """Apply a change stamped ``when`` unless the stored row (a position) already includes it.

    A position (``outboundAccountPosition``) is absolute at its time, so a change
    at or before the row's time is already in it: applying it again would count
    it twice.
    """
    stored = _load(conn, asset)
    if stored is not None and when <= stored[2]:
        log.debug("balance.%s_included asset=%s time=%d stored=%d", kind, asset, when, stored[2])
        return False
    free, locked = (stored[0], stored[1]) if stored else (Decimal(0), Decimal(0))
    free, locked = free + free_change, locked + locked_change
    if free < 0 or locked < 0:
        # Our row is behind the exchange (a position is on its way); keep the
        # arithmetic honest and let the next position or reconcile correct it.
        log.warning("balance.negative_after_%s asset=%s free=%s locked=%s", kind, asset, free, locked)
    return _set(conn, asset, free, locked, when, source, stored)


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


class BalanceRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One asset's balance row, with the exchange time it is valid at and who wrote it."""

    asset: str
    free: Decimal
    locked: Decimal
    update_time: int
    source: str

    @property
    def total(self) -> Decimal:
        return self.free + self.locked


def query(conn: sqlite3.Connection, *, asset: str | None = None, nonzero: bool = False,
          since_ms: int | None = None, until_ms: int | None = None,
          limit: int | None = None) -> list[BalanceRecord]:
    """Rows sorted by asset; ``since_ms``/``until_ms`` bound ``update_time`` as [since, until).

    ``limit`` keeps the ``limit`` most recently updated rows.  ``nonzero`` is
    decided in Python: the amounts are TEXT, and ``"0.00000000" != 0`` in SQL.
    """
    where, params = where_clause(("asset = ?", asset), ("update_time >= ?", since_ms),
                                 ("update_time < ?", until_ms))
    sql = (f"SELECT asset, free, locked, update_time, source FROM balances{where} "
           "ORDER BY update_time DESC, asset")
    records = []
    for asset_name, free, locked, update_time, source in conn.execute(sql, params):
        record = BalanceRecord(asset=asset_name, free=money(free), locked=money(locked),
                               update_time=update_time, source=source)
        if nonzero and not (record.free or record.locked):
            continue
        records.append(record)
        if limit is not None and len(records) >= limit:
            break
    return sorted(records, key=lambda r: r.asset)


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
