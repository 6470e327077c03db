"""The read side of ``Store``: every query the daemon, reconcile and the CLI views need.

Why a separate mixin: the store's writes (one transaction per event, merge
rules, journal) and its reads (filters, time ranges, ordering) change for
different reasons, and together they outgrew one readable module.  The mixin
holds no state of its own; it runs each query under the store's lock through
``_reading()``, so reads and writes stay serialized on the one connection.

Conventions of every list query: results are oldest first, ``limit`` keeps the
newest ``limit`` of them, and time filters are half-open ``[since_ms, until_ms)``
in milliseconds (exchange time for orders, fills and balances; our wall clock
for the journal and automation runs).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from daemon.errors import StateError
from state import automation_runs as run_rows
from state import balances as balance_rules
from state import fills as fill_rows
from state import intents as intent_rows
from state import journal as journal_rows
from state import order_lists as list_rows
from state import orders as order_rows
from state import settings as setting_rows
from state.automation_runs import AutomationRunRecord
from state.balances import BalanceRecord
from state.fills import FillRecord
from state.intents import IntentRecord
from state.order_lists import OrderListRecord
from state.orders import OrderRecord

#: Tables counted by ``counts()`` (``tradingd status``).
TABLES = ("orders", "intents", "fills", "balances", "journal", "order_lists", "automation_runs")


def optional_ms(value: Any, what: str) -> int | None:
    """A millisecond bound or None; anything else (a float, a string) is refused."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise StateError(f"{what}: expected integer milliseconds, got {value!r}")
    return value


def optional_limit(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise StateError(f"limit must be a non-negative integer, not {value!r}")
    return value


class StoreReads:
    """Queries of ``Store``; see the module docstring for their shared conventions."""

    # Provided by Store: the lock-holding read context and the file's path.
    path: str
    _reading: Callable[[], contextlib.AbstractContextManager[sqlite3.Connection]]

    # --------------------------------------------------------------- orders

    def strategy_for(self, client_order_id: str) -> str | None:
        with self._reading() as conn:
            return intent_rows.strategy_for(conn, client_order_id)

    def order(self, symbol: str, order_id: int) -> OrderRecord | None:
        with self._reading() as conn:
            return order_rows.load(conn, symbol, order_id)

    def orders(self, symbol: str | None = None, open_only: bool = False,
               limit: int | None = None, *, strategy: str | None = None,
               since_ms: int | None = None, until_ms: int | None = None) -> list[OrderRecord]:
        """Orders, optionally of one strategy and created within [since_ms, until_ms)."""
        with self._reading() as conn:
            return order_rows.query(
                conn, symbol=symbol, open_only=open_only, limit=optional_limit(limit),
                strategy=strategy, since_ms=optional_ms(since_ms, "since_ms"),
                until_ms=optional_ms(until_ms, "until_ms"))

    def order_list(self, symbol: str, order_list_id: int) -> OrderListRecord | None:
        with self._reading() as conn:
            return list_rows.load(conn, symbol, order_list_id)

    def order_lists(self, symbol: str | None = None, active_only: bool = False,
                    limit: int | None = None) -> list[OrderListRecord]:
        with self._reading() as conn:
            return list_rows.query(conn, symbol=symbol, active_only=active_only,
                                   limit=optional_limit(limit))

    def intents(self, states: Iterable[str] | None = None) -> list[IntentRecord]:
        """Intents, e.g. ``states=("pending", "unknown")`` for reconcile to resolve."""
        with self._reading() as conn:
            return intent_rows.query(conn, tuple(states) if states is not None else None)

    # ---------------------------------------------------------------- fills

    def fills(self, symbol: str | None = None, since_ms: int | None = None,
              limit: int | None = None, *, until_ms: int | None = None) -> list[FillRecord]:
        """Fills traded within [since_ms, until_ms)."""
        with self._reading() as conn:
            return fill_rows.query(conn, symbol=symbol,
                                   since_ms=optional_ms(since_ms, "since_ms"),
                                   until_ms=optional_ms(until_ms, "until_ms"),
                                   limit=optional_limit(limit))

    def last_trade_id(self, symbol: str) -> int | None:
        """The highest stored trade id of ``symbol``; ``myTrades`` resumes at ``fromId`` = it + 1."""
        with self._reading() as conn:
            return fill_rows.last_trade_id(conn, symbol)

    def fills_of_order(self, symbol: str, order_id: int) -> list[FillRecord]:
        """The stored fills of one order, oldest first (index ``fills_by_order``)."""
        with self._reading() as conn:
            return fill_rows.of_order(conn, symbol, order_id)

    def orders_missing_fills(self, since_ms: int | None = None) -> list[tuple[OrderRecord, Decimal]]:
        """Orders whose executed quantity exceeds the sum of their stored fills.

        Each comes with the quantity the stored fills do account for.  Such an
        order lost a fill that a ``fromId`` catch-up cannot see (an older trade
        id than the newest stored, e.g. events reordered before a crash);
        reconcile fetches its trades by order id.  ``since_ms`` limits the
        check to orders updated at or after it (exchange time).
        """
        with self._reading() as conn:
            return fill_rows.orders_missing_fills(conn, optional_ms(since_ms, "since_ms"))

    def active_symbols(self) -> list[str]:
        """Every symbol with an order, a fill or an intent: what reconcile must look at."""
        with self._reading() as conn:
            return [row[0] for row in conn.execute(
                "SELECT symbol FROM orders UNION SELECT symbol FROM fills "
                "UNION SELECT symbol FROM intents ORDER BY 1")]

    # ------------------------------------------------------------- balances

    def balances(self, nonzero: bool = False) -> dict[str, tuple[Decimal, Decimal]]:
        with self._reading() as conn:
            return balance_rules.snapshot(conn, nonzero=nonzero)

    def balance_rows(self, asset: str | None = None, nonzero: bool = False, *,
                     since_ms: int | None = None, until_ms: int | None = None,
                     limit: int | None = None) -> list[BalanceRecord]:
        """Balance rows with their update time and source, for the CLI and audits."""
        with self._reading() as conn:
            return balance_rules.query(conn, asset=asset, nonzero=nonzero,
                                       since_ms=optional_ms(since_ms, "since_ms"),
                                       until_ms=optional_ms(until_ms, "until_ms"),
                                       limit=optional_limit(limit))

    # -------------------------------------------------------------- journal

    def journal(self, limit: int | None = None, kind: str | None = None, *,
                symbol: str | None = None, since_ms: int | None = None,
                until_ms: int | None = None, after_id: int | None = None) -> list[dict]:
        """Journal entries (dicts: id, recorded_at, source, kind, symbol, dedupe_key, payload)."""
        with self._reading() as conn:
            return journal_rows.entries(conn, limit=optional_limit(limit), kind=kind,
                                        symbol=symbol,
                                        since_ms=optional_ms(since_ms, "since_ms"),
                                        until_ms=optional_ms(until_ms, "until_ms"),
                                        after_id=optional_ms(after_id, "after_id"))

    def last_journal_id(self) -> int:
        """The newest journal id (0 when empty): where a tail starts."""
        with self._reading() as conn:
            return journal_rows.last_id(conn)

    # ----------------------------------------------------- automation, settings

    def automation_runs(self, job: str | None = None, status: str | None = None, *,
                        since_ms: int | None = None, until_ms: int | None = None,
                        limit: int | None = None) -> list[AutomationRunRecord]:
        with self._reading() as conn:
            return run_rows.query(conn, job=job, status=status,
                                  since_ms=optional_ms(since_ms, "since_ms"),
                                  until_ms=optional_ms(until_ms, "until_ms"),
                                  limit=optional_limit(limit))

    def last_automation_run(self, job: str, status: str | None = None
                            ) -> AutomationRunRecord | None:
        with self._reading() as conn:
            return run_rows.last_run(conn, job, status)

    def get_setting(self, key: str, default: str | None = None) -> str | None:
        with self._reading() as conn:
            value = setting_rows.get(conn, key)
        return default if value is None else value

    def settings(self) -> dict[str, str]:
        with self._reading() as conn:
            return setting_rows.all_settings(conn)

    # --------------------------------------------------------------- status

    def counts(self) -> dict[str, int]:
        """Rows per table plus open orders and pending/unknown intents (``tradingd status``)."""
        with self._reading() as conn:
            result = {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                      for table in TABLES}
            result["open_orders"] = order_rows.count_open(conn)
            result["unresolved_intents"] = conn.execute(
                "SELECT count(*) FROM intents WHERE state IN (?, ?)",
                (intent_rows.PENDING, intent_rows.UNKNOWN)).fetchone()[0]
        return result
