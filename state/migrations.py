"""Schema of the state database, as numbered sqlite-utils migrations.

Why sqlite-utils ``Migrations`` (4.x): it records every applied step in
``_sqlite_migrations`` under a set name, runs each step in its own transaction
with its record, and lets plugins keep their own sets (``register_migrations``)
in the same table without colliding with ours.

Steps are named ``NNNN_description``; the number is the schema version.  A
database that has a step of our set this build does not know was written by a
newer build and is refused (``SchemaError``): running older code against a newer
schema could silently drop columns it does not understand.  ``PRAGMA
user_version`` mirrors the version so tools (and any future runner) can check
it without knowing about the migrations table.

Steps are append-only: never edit a released one, add the next number.
"""

from __future__ import annotations

import logging
import os
import sqlite3

from sqlite_utils import Database, Migrations

from daemon.errors import SchemaError

log = logging.getLogger(__name__)

MIGRATION_SET = "tradingd.state"
SQLITE_HEADER = b"SQLite format 3\x00"

migrations = Migrations(MIGRATION_SET)
_STEP_NAMES: list[str] = []


def _step(name: str):
    """Register a numbered step (sqlite-utils keeps its list private, so we keep the names)."""
    _version_of(name)
    _STEP_NAMES.append(name)
    return migrations(name=name)


def _version_of(name: str) -> int:
    prefix = name.split("_", 1)[0]
    if not prefix.isdigit():
        raise ValueError(f"migration name {name!r} lacks its NNNN_ version prefix")
    return int(prefix)


@_step("0001_initial")
def _initial(db: Database) -> None:
    """orders, intents, fills, balances, journal.  Money columns are TEXT (see codec)."""
    strict = db.supports_strict
    db["orders"].create(
        {
            "symbol": str, "order_id": int, "client_order_id": str, "strategy": str,
            "side": str, "type": str, "time_in_force": str,
            "price": str, "quantity": str, "stop_price": str,
            "executed_qty": str, "cum_quote_qty": str, "status": str,
            "order_list_id": int, "created_time": int, "update_time": int,
            "last_event_time": int, "source": str,
        },
        pk=("symbol", "order_id"),
        not_null={"symbol", "order_id", "client_order_id", "side", "type", "price", "quantity",
                  "executed_qty", "cum_quote_qty", "status", "update_time", "source"},
        strict=strict,
    )
    db["orders"].create_index(["client_order_id"], index_name="orders_by_client_id")
    db["orders"].create_index(["created_time"], index_name="orders_by_created")

    db["intents"].create(
        {
            "client_order_id": str, "strategy": str, "symbol": str, "request": str,
            "state": str, "order_id": int, "error": str, "created_at": int, "updated_at": int,
        },
        pk="client_order_id",
        not_null={"client_order_id", "strategy", "symbol", "request", "state",
                  "created_at", "updated_at"},
        strict=strict,
    )

    db["fills"].create(
        {
            "symbol": str, "trade_id": int, "order_id": int, "client_order_id": str,
            "strategy": str, "side": str, "price": str, "quantity": str, "quote_qty": str,
            "commission": str, "commission_asset": str, "is_maker": int,
            "trade_time": int, "source": str,
        },
        pk=("symbol", "trade_id"),
        not_null={"symbol", "trade_id", "order_id", "side", "price", "quantity", "quote_qty",
                  "commission", "is_maker", "trade_time", "source"},
        strict=strict,
    )
    db["fills"].create_index(["trade_time"], index_name="fills_by_time")
    db["fills"].create_index(["symbol", "order_id"], index_name="fills_by_order")

    db["balances"].create(
        {"asset": str, "free": str, "locked": str, "update_time": int, "source": str},
        pk="asset",
        not_null={"asset", "free", "locked", "update_time", "source"},
        strict=strict,
    )

    db["journal"].create(
        {"id": int, "recorded_at": int, "source": str, "kind": str, "dedupe_key": str,
         "payload": str},
        pk="id",
        not_null={"recorded_at", "source", "kind", "dedupe_key", "payload"},
        strict=strict,
    )
    db["journal"].create_index(["dedupe_key"], index_name="journal_dedupe", unique=True)
    db["journal"].create_index(["kind", "id"], index_name="journal_by_kind")


#: Where the symbol sits in the payloads journalled by 0001 (raw events, WebSocket-API
#: wrapped events, local records): the backfill of ``journal.symbol`` tries them in order.
_SYMBOL_PATHS = ("$.s", "$.event.s", "$.symbol", "$.order.symbol", "$.trade.symbol")


@_step("0002_order_lists_automation_settings")
def _order_lists_automation_settings(db: Database) -> None:
    """order_lists (OCO/OTO), automation_runs, settings; journal gains symbol and time indexes.

    ``journal.symbol`` lets the CLI filter the journal by symbol without parsing
    every payload; rows journalled before this step get it from their JSON.
    ``automation_runs.status`` is checked by SQLite too: an audit trail whose
    statuses could be anything would not be one.
    """
    strict = db.supports_strict
    db["order_lists"].create(
        {
            "symbol": str, "order_list_id": int, "list_client_order_id": str, "strategy": str,
            "contingency_type": str, "list_status_type": str, "list_order_status": str,
            "reject_reason": str, "transaction_time": int, "last_event_time": int,
            "orders": str, "source": str,
        },
        pk=("symbol", "order_list_id"),
        not_null={"symbol", "order_list_id", "list_client_order_id", "contingency_type",
                  "list_status_type", "list_order_status", "transaction_time",
                  "last_event_time", "orders", "source"},
        strict=strict,
    )
    db["order_lists"].create_index(["list_client_order_id"], index_name="order_lists_by_client_id")

    db.execute(
        "CREATE TABLE automation_runs ("
        " id INTEGER PRIMARY KEY,"
        " job TEXT NOT NULL,"
        " started_at INTEGER NOT NULL,"
        " finished_at INTEGER NOT NULL,"
        " status TEXT NOT NULL CHECK (status IN ('ok', 'error', 'dry-run')),"
        " detail TEXT NOT NULL,"
        " CHECK (finished_at >= started_at)"
        f"){' STRICT' if strict else ''}"
    )
    db["automation_runs"].create_index(["job", "started_at"], index_name="automation_runs_by_job")
    db["automation_runs"].create_index(["started_at"], index_name="automation_runs_by_time")

    db["settings"].create(
        {"key": str, "value": str, "updated_at": int},
        pk="key", not_null={"key", "value", "updated_at"}, strict=strict,
    )

    db["journal"].add_column("symbol", str)
    extract = ", ".join(f"json_extract(payload, '{p}')" for p in _SYMBOL_PATHS)
    db.execute(f"UPDATE journal SET symbol = coalesce({extract}) WHERE json_valid(payload)")
    db["journal"].create_index(["symbol", "id"], index_name="journal_by_symbol")
    db["journal"].create_index(["recorded_at"], index_name="journal_by_time")
    db["orders"].create_index(["strategy", "created_time"], index_name="orders_by_strategy")


@_step("0003_orders_iceberg_qty")
def _orders_iceberg_qty(db: Database) -> None:
    """orders gain ``iceberg_qty`` (money TEXT, '0' = not an iceberg).

    Why: the gateway counts open icebergs for MAX_NUM_ICEBERG_ORDERS; without
    the column an iceberg stored before a restart counted as a plain order.
    Rows written before this step take it from their intent's ``icebergQty``
    (the orders this daemon sent); any other open iceberg gets it from the
    next reconcile's REST view (the merge takes a non-zero value over '0').
    """
    db.execute("ALTER TABLE orders ADD COLUMN iceberg_qty TEXT NOT NULL DEFAULT '0'")
    qty = "json_extract(intents.request, '$.icebergQty')"
    db.execute(
        f"UPDATE orders SET iceberg_qty = (SELECT {qty} FROM intents "
        " WHERE intents.client_order_id = orders.client_order_id) "
        "WHERE EXISTS (SELECT 1 FROM intents"
        " WHERE intents.client_order_id = orders.client_order_id"
        f" AND json_valid(intents.request) AND typeof({qty}) = 'text'"
        f" AND {qty} GLOB '[0-9]*' AND {qty} NOT GLOB '*[^0-9.]*' AND {qty} NOT GLOB '*.*.*'"
        f" AND {qty} GLOB '*[1-9]*')"
    )


SCHEMA_VERSION = max(_version_of(name) for name in _STEP_NAMES)
_KNOWN = frozenset(_STEP_NAMES)


def check_sqlite_file(path: str) -> None:
    """Refuse a file that exists, is not empty and is not a SQLite database.

    SQLite itself only notices on the first query ("file is not a database");
    checking the header first gives an error that names the file.
    """
    try:
        with open(path, "rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        return
    except OSError as exc:
        raise SchemaError(f"{path}: cannot read state database: {exc}") from exc
    if header and header != SQLITE_HEADER:
        raise SchemaError(f"{path}: not a SQLite database (header {header[:16]!r})")


def applied_version(db: Database) -> tuple[int, list[str]]:
    """(highest version recorded in the file, names of our steps this build does not know)."""
    names = [m.name for m in migrations.applied(db)]
    unknown = [name for name in names if name not in _KNOWN]
    versions = []
    for name in names:
        try:
            versions.append(_version_of(name))
        except ValueError:
            versions.append(SCHEMA_VERSION + 1)  # unparsable: certainly not ours
    user_version = db.execute("PRAGMA user_version").fetchone()[0]
    return max(versions + [user_version, 0]), unknown


def migrate(db: Database, path: str | os.PathLike[str]) -> int:
    """Bring the database to ``SCHEMA_VERSION``; refuse one written by a newer build.

    Returns the version now in the file.  Each step runs in its own transaction.
    """
    try:
        current, unknown = applied_version(db)
        if current > SCHEMA_VERSION or unknown:
            raise SchemaError(
                f"{os.fspath(path)}: schema version {current} is newer than this build's "
                f"{SCHEMA_VERSION} (unknown steps: {', '.join(unknown) or 'none'}); "
                "upgrade tradingd before opening it"
            )
        pending = [m.name for m in migrations.pending(db)]
        migrations.apply(db)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except sqlite3.DatabaseError as exc:
        raise SchemaError(f"{os.fspath(path)}: unusable state database: {exc}") from exc
    if pending:
        log.info("state.migrated path=%s from=%d to=%d steps=%s",
                 os.fspath(path), current, SCHEMA_VERSION, ",".join(pending))
    return SCHEMA_VERSION
