"""The state store: one SQLite file, one writer connection, one transaction per change.

Why one connection owned here (not ``sqlite_utils.Database(path)``): that one
is bound to the thread that opened it, and the daemon will call the store from
trio's thread and, later, from ``trio.to_thread`` workers.  The connection is
opened with ``check_same_thread=False`` and every public method takes a
``threading.Lock``, so calls are serialized whichever thread makes them.
sqlite-utils wraps the connection for the schema and migrations; events go
through prepared statements on the raw connection (the ``table.upsert`` path
costs ~10x more per event, see DESIGN "Known pitfalls").

Durability: WAL with ``synchronous=FULL`` by default.  With NORMAL, WAL
commits survive a process crash but the last ones can be lost on power failure.
The intent row is the one write that must not be lost: it is committed before
an order leaves, and a restart relies on it to attribute and resolve that
order.  The cost of FULL is one fsync per commit; user-data events arrive at
tens per second, market data never comes here, so FULL is affordable.
``Store.open(path, synchronous="NORMAL")`` exists for tools that rebuild a
database they can rebuild again (replays, benchmarks), and so ``bench/state.py``
can show what FULL costs.

Reads live in ``state.reads`` (the ``StoreReads`` mixin); this module holds
the lifecycle, the transaction machinery and every write.

Every public write is one transaction (``BEGIN IMMEDIATE``: the write lock is
taken up front, so a transaction never fails half-way on a busy database);
any SQLite error rolls it back and surfaces as ``StateError``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import msgspec
from sqlite_utils import Database

from daemon.crash_points import crash_point
from daemon.errors import SchemaError, StateError
from state import automation_runs as run_rows
from state import balances as balance_rules
from state import fills as fill_rows
from state import intents as intent_rows
from state import journal as journal_rows
from state import order_lists as list_rows
from state import orders as order_rows
from state import settings as setting_rows
from state.automation_runs import AutomationRunRecord
from state.codec import now_ms, without_secrets
from state.fills import FillRecord
from state.migrations import check_sqlite_file, migrate
from state.order_lists import OrderListRecord
from state.orders import OrderRecord
from state.reads import TABLES, StoreReads

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000
#: ``PRAGMA synchronous`` levels ``Store.open`` accepts (see the module docstring).
SYNCHRONOUS_MODES = ("FULL", "NORMAL")
__all__ = ["Applied", "DUPLICATE", "Store", "SYNCHRONOUS_MODES", "TABLES"]


class Applied(msgspec.Struct, frozen=True, kw_only=True):
    """What applying one exchange event changed.

    ``duplicate``: the event was applied before; nothing was touched.
    ``order``: the order row after the event, when the event inserted or moved it.
    ``fill``: the fill, when the event carried one not seen before.
    ``balances_changed``: some balance row changed.
    ``order_list``: the order list row after a ``listStatus`` that inserted or moved it.
    """

    duplicate: bool
    order: OrderRecord | None = None
    fill: FillRecord | None = None
    balances_changed: bool = False
    order_list: OrderListRecord | None = None


DUPLICATE = Applied(duplicate=True)


class Store(StoreReads):
    """Persistent account and order state.  Build with ``Store.open(path)``."""

    def __init__(self, db: Database, path: str, clock: Callable[[], int]) -> None:
        self._db = db
        self._conn = db.conn
        self._lock = threading.Lock()
        self._clock = clock
        self._closed = False
        self.path = path

    # ------------------------------------------------------------ lifecycle

    @classmethod
    def open(cls, path: str | os.PathLike[str], *,
             clock: Callable[[], int] | None = None, synchronous: str = "FULL") -> Store:
        """Open (creating and migrating as needed) the database at ``path``.

        ``clock`` returns wall milliseconds for ``recorded_at`` / intent times
        (tests pass a fixed one).  ``synchronous`` is ``"FULL"`` (the default:
        every commit is on disk) or ``"NORMAL"`` (see the module docstring).
        Raises ``SchemaError`` for a file that is not SQLite or was written by
        a newer build.
        """
        path = os.fspath(path)
        mode = str(synchronous).upper()
        if mode not in SYNCHRONOUS_MODES:
            raise StateError(f"synchronous must be one of {', '.join(SYNCHRONOUS_MODES)}, "
                             f"not {synchronous!r}")
        check_sqlite_file(path)
        try:
            conn = sqlite3.connect(path, check_same_thread=False)
        except sqlite3.Error as exc:
            raise StateError(f"{path}: cannot open state database: {exc}") from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            journal_mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if journal_mode.lower() != "wal":
                log.warning("state.wal_unavailable path=%s journal_mode=%s", path, journal_mode)
            conn.execute(f"PRAGMA synchronous = {mode}")
            db = Database(conn)
            version = migrate(db, path)
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise SchemaError(f"{path}: not a usable SQLite database: {exc}") from exc
        except BaseException:
            conn.close()
            raise
        log.info("state.opened path=%s schema_version=%d synchronous=%s", path, version, mode)
        return cls(db, path, clock or now_ms)

    def close(self) -> None:
        """Close the connection (idempotent).  A clean close checkpoints the WAL."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._conn.close()
                log.info("state.closed path=%s", self.path)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """Lock, BEGIN IMMEDIATE, commit or roll back; SQLite errors become StateError."""
        with self._lock:
            if self._closed:
                raise StateError(f"{self.path}: store is closed")
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StateError(f"{self.path}: cannot begin transaction: {exc}") from exc
            try:
                yield self._conn
            except BaseException as exc:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise StateError(f"{self.path}: {exc}") from exc
                raise
            else:
                crash_point("store.before_commit")
                try:
                    self._conn.execute("COMMIT")
                except sqlite3.Error as exc:
                    if self._conn.in_transaction:
                        self._conn.execute("ROLLBACK")
                    raise StateError(f"{self.path}: commit failed: {exc}") from exc

    @contextlib.contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._closed:
                raise StateError(f"{self.path}: store is closed")
            try:
                yield self._conn
            except sqlite3.Error as exc:
                raise StateError(f"{self.path}: {exc}") from exc

    # ------------------------------------------------------ exchange events

    def apply_execution_report(self, ev: Any, raw: bytes | str | None = None,
                               source: str = "stream") -> Applied:
        """Journal the event, move its order forward, record its fill (x=TRADE)."""
        with self._transaction() as conn:
            if not journal_rows.append_event(
                    conn, recorded_at=self._clock(), source=source, kind="executionReport",
                    natural_key=journal_rows.execution_report_key(ev), event=ev, raw=raw):
                return DUPLICATE
            client_order_id = ev.orig_client_order_id or ev.client_order_id
            strategy = intent_rows.strategy_for(conn, client_order_id)
            incoming = order_rows.from_execution_report(ev, strategy, source)
            order, order_changed = order_rows.save(conn, incoming)
            if order_changed and order.strategy is not None:
                intent_rows.link(conn, order.client_order_id, order.order_id, self._clock())
            fill = None
            if ev.execution_type == "TRADE":
                candidate = fill_rows.from_execution_report(
                    ev, order.client_order_id, order.strategy, source)
                fill = candidate if fill_rows.insert(conn, candidate) else None
        if fill is not None:
            log.info("fill.recorded symbol=%s trade_id=%d order_id=%d qty=%s price=%s",
                     fill.symbol, fill.trade_id, fill.order_id, fill.quantity, fill.price)
        return Applied(duplicate=False, order=order if order_changed else None, fill=fill)

    def apply_account_position(self, ev: Any, raw: bytes | str | None = None,
                               source: str = "stream") -> Applied:
        """Journal the event; set each listed asset unless the stored row is newer."""
        with self._transaction() as conn:
            if not journal_rows.append_event(
                    conn, recorded_at=self._clock(), source=source,
                    kind="outboundAccountPosition",
                    natural_key=journal_rows.account_position_key(ev), event=ev, raw=raw):
                return DUPLICATE
            changed = balance_rules.apply_position(conn, ev, source)
        return Applied(duplicate=False, balances_changed=changed)

    def apply_balance_update(self, ev: Any, raw: bytes | str | None = None,
                             source: str = "stream") -> Applied:
        """Journal the event; add its delta unless a newer position already counts it."""
        with self._transaction() as conn:
            if not journal_rows.append_event(
                    conn, recorded_at=self._clock(), source=source, kind="balanceUpdate",
                    natural_key=journal_rows.balance_update_key(ev), event=ev, raw=raw):
                return DUPLICATE
            changed = balance_rules.apply_delta(conn, ev, source)
        return Applied(duplicate=False, balances_changed=changed)

    def apply_external_lock_update(self, ev: Any, raw: bytes | str | None = None,
                                   source: str = "stream") -> Applied:
        """Journal the event; move its delta from free to locked unless a position counts it."""
        with self._transaction() as conn:
            if not journal_rows.append_event(
                    conn, recorded_at=self._clock(), source=source, kind="externalLockUpdate",
                    natural_key=journal_rows.external_lock_key(ev), event=ev, raw=raw):
                return DUPLICATE
            changed = balance_rules.apply_lock(conn, ev, source)
        return Applied(duplicate=False, balances_changed=changed)

    def apply_list_status(self, ev: Any, raw: bytes | str | None = None,
                          source: str = "stream") -> Applied:
        """Journal the event; insert the order list or move it forward (see state.order_lists).

        The list is attributed to a strategy through the write-ahead intents:
        by its list client id, else by the first member whose client id is known.
        """
        with self._transaction() as conn:
            if not journal_rows.append_event(
                    conn, recorded_at=self._clock(), source=source, kind="listStatus",
                    natural_key=journal_rows.list_status_key(ev), event=ev, raw=raw):
                return DUPLICATE
            strategy = intent_rows.strategy_for(conn, ev.list_client_order_id)
            for member in ev.orders:
                if strategy is not None:
                    break
                strategy = intent_rows.strategy_for(conn, member.client_order_id)
            record, changed = list_rows.save(
                conn, list_rows.from_list_status(ev, strategy, source))
        if changed:
            log.info("order_list.updated symbol=%s order_list_id=%d status=%s/%s",
                     record.symbol, record.order_list_id, record.list_status_type,
                     record.list_order_status)
        return Applied(duplicate=False, order_list=record if changed else None)

    # ---------------------------------------------------------- order path

    def record_intent(self, client_order_id: str, strategy: str, symbol: str,
                      request: dict[str, str]) -> None:
        """Write-ahead: commit the intent before the request leaves (secrets stripped)."""
        request = without_secrets(request)
        with self._transaction() as conn:
            now = self._clock()
            if intent_rows.record(conn, client_order_id=client_order_id, strategy=strategy,
                                  symbol=symbol, request=request, now=now):
                journal_rows.append_record(
                    conn, recorded_at=now, source="gateway", kind="intent",
                    subject=client_order_id, symbol=symbol,
                    payload={"client_order_id": client_order_id, "strategy": strategy,
                             "symbol": symbol, "request": request})

    def record_ack(self, client_order_id: str, order: Any) -> OrderRecord:
        """The exchange answered the order request: store the order, ack the intent."""
        if order.client_order_id != client_order_id:
            raise StateError(f"ack for {client_order_id} carries order "
                             f"{order.client_order_id} (order_id {order.order_id})")
        with self._transaction() as conn:
            now = self._clock()
            strategy = intent_rows.strategy_for(conn, client_order_id)
            record, changed = order_rows.save(
                conn, order_rows.from_rest_order(order, strategy, "ack"))
            intent_rows.link(conn, client_order_id, record.order_id, now)
            journal_rows.append_record(
                conn, recorded_at=now, source="ack", kind="ack", subject=client_order_id,
                symbol=record.symbol,
                payload={"client_order_id": client_order_id, "order": order})
        return record

    def record_send_error(self, client_order_id: str, error: str, outcome_unknown: bool) -> None:
        """The request failed: ``unknown`` if it may have reached the exchange, else ``error``."""
        state = intent_rows.UNKNOWN if outcome_unknown else intent_rows.ERROR
        with self._transaction() as conn:
            now = self._clock()
            stored = intent_rows.fail(conn, client_order_id, error, state, now)
            journal_rows.append_record(
                conn, recorded_at=now, source="gateway", kind="send_error",
                subject=client_order_id,
                payload={"client_order_id": client_order_id, "error": error,
                         "outcome_unknown": outcome_unknown, "state": stored})
        log.warning("intent.send_error client_order_id=%s state=%s outcome_unknown=%s",
                    client_order_id, stored, outcome_unknown)

    def record_rejection(self, strategy: str, client_order_id: str, symbol: str, code: Any,
                         reason: str, detail: dict[str, str]) -> None:
        """Persist a refused order (gateway or exchange); an intent for it becomes ``error``."""
        code_text = str(getattr(code, "value", code))
        with self._transaction() as conn:
            now = self._clock()
            if client_order_id and intent_rows.strategy_for(conn, client_order_id) is not None:
                intent_rows.fail(conn, client_order_id, f"{code_text}: {reason}",
                                 intent_rows.ERROR, now)
            journal_rows.append_record(
                conn, recorded_at=now, source="gateway", kind="rejection",
                subject=client_order_id or f"{strategy}:{symbol}:{now}", symbol=symbol,
                payload={"strategy": strategy, "client_order_id": client_order_id,
                         "symbol": symbol, "code": code_text, "reason": reason,
                         "detail": dict(detail)})

    # ----------------------------------------------------------- reconcile

    def replace_balances(self, balances: Iterable[Any], update_time: int,
                         source: str = "reconcile") -> bool:
        """Make the balances those of a REST snapshot taken at ``update_time``; True if changed."""
        balances = list(balances)
        with self._transaction() as conn:
            changed = balance_rules.replace(conn, balances, update_time, source)
            if changed:
                journal_rows.append_record(
                    conn, recorded_at=self._clock(), source=source, kind="balances.snapshot",
                    subject=str(int(update_time)),
                    payload={"update_time": int(update_time),
                             "balances": [{"asset": b.asset, "free": b.free, "locked": b.locked}
                                          for b in balances]})
        return changed

    def upsert_rest_order(self, order: Any, source: str = "reconcile") -> OrderRecord:
        """Merge a REST view of an order (never moving it backwards); returns the stored row."""
        with self._transaction() as conn:
            strategy = intent_rows.strategy_for(conn, order.client_order_id)
            record, changed = order_rows.save(
                conn, order_rows.from_rest_order(order, strategy, source))
            if changed:
                if record.strategy is not None:
                    intent_rows.link(conn, record.client_order_id, record.order_id,
                                     self._clock())
                journal_rows.append_record(
                    conn, recorded_at=self._clock(), source=source, kind="order.rest",
                    subject=f"{record.symbol}:{record.order_id}", symbol=record.symbol,
                    payload={"order": order})
        return record

    def record_rest_fills(self, trades: Iterable[Any], source: str = "reconcile") -> list[FillRecord]:
        """Store a page of ``myTrades`` rows in one transaction; returns the new fills, in order.

        Why a batch: a catch-up after a long outage brings thousands of fills, and
        one FULL-synchronous commit each would cost one fsync each.  A page is
        atomic, so a crash keeps a prefix of pages and the next catch-up resumes
        after the highest stored trade id.
        """
        new: list[FillRecord] = []
        with self._transaction() as conn:
            owners: dict[tuple[str, int], Any] = {}
            for trade in trades:
                key = (trade.symbol, int(trade.order_id))
                if key not in owners:
                    owners[key] = order_rows.load(conn, *key)
                order = owners[key]
                fill = fill_rows.from_rest_trade(trade, order.client_order_id if order else None,
                                                 order.strategy if order else None, source)
                if not fill_rows.insert(conn, fill):
                    continue
                journal_rows.append_record(
                    conn, recorded_at=self._clock(), source=source, kind="fill.rest",
                    subject=f"{fill.symbol}:{fill.trade_id}", symbol=fill.symbol,
                    payload={"trade": trade})
                new.append(fill)
        if new:
            log.info("fill.recovered_page count=%d symbol=%s first_trade_id=%d last_trade_id=%d",
                     len(new), new[0].symbol, new[0].trade_id, new[-1].trade_id)
        return new

    def record_rest_fill(self, trade: Any, source: str = "reconcile") -> FillRecord | None:
        """Store a ``myTrades`` row unless the fill is known; returns it when new."""
        with self._transaction() as conn:
            order = order_rows.load(conn, trade.symbol, trade.order_id)
            client_order_id = order.client_order_id if order else None
            fill = fill_rows.from_rest_trade(trade, client_order_id,
                                             order.strategy if order else None, source)
            if not fill_rows.insert(conn, fill):
                return None
            journal_rows.append_record(
                conn, recorded_at=self._clock(), source=source, kind="fill.rest",
                subject=f"{fill.symbol}:{fill.trade_id}", symbol=fill.symbol,
                payload={"trade": trade})
        log.info("fill.recovered symbol=%s trade_id=%d order_id=%d", fill.symbol,
                 fill.trade_id, fill.order_id)
        return fill

    # ------------------------------------------------- automation, settings

    def record_automation_run(self, job: str, started_at: int, finished_at: int, status: str,
                              detail: dict[str, Any] | None = None) -> AutomationRunRecord:
        """Append one finished automation run (``ok``/``error``/``dry-run``) to the audit trail.

        Secret-looking keys are removed from ``detail`` at any depth; the run is
        also journalled so the account's one timeline shows it.
        """
        run_rows.validate(job, started_at, finished_at, status)
        with self._transaction() as conn:
            run = run_rows.insert(conn, job=job, started_at=started_at,
                                  finished_at=finished_at, status=status, detail=detail or {})
            journal_rows.append_record(
                conn, recorded_at=self._clock(), source="automation", kind="automation.run",
                subject=f"{job}:{run.id}",
                payload={"id": run.id, "job": job, "started_at": run.started_at,
                         "finished_at": run.finished_at, "status": status,
                         "detail": run.detail})
        log.info("automation.recorded job=%s id=%d status=%s duration_ms=%d",
                 job, run.id, status, run.duration_ms)
        return run

    def set_setting(self, key: str, value: str) -> bool:
        """Store an operator setting (text); True if it changed.  Changes are journalled."""
        setting_rows.check(key, value)
        with self._transaction() as conn:
            now = self._clock()
            previous = setting_rows.put(conn, key, value, now)
            if previous == value:
                return False
            journal_rows.append_record(
                conn, recorded_at=now, source="operator", kind="setting", subject=key,
                payload={"key": key, "value": value, "previous": previous, "at": now})
        log.info("setting.changed key=%s", key)
        return True
