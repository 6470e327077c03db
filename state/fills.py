"""Fills (trades of our own orders), keyed by (symbol, trade id).

Why that key: Binance numbers trades per symbol, and the same fill reaches us
twice by design: as an executionReport of type TRADE on the stream and as a
``myTrades`` row during reconcile.  Inserting with ``INSERT OR IGNORE`` on the
natural key makes whichever comes second a no-op, so a fill is never counted
twice and never lost.
"""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from typing import Any

import msgspec

from daemon.errors import StateError
from state import orders as order_rows
from state.codec import money, money_text, to_decimal, where_clause


class FillRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One execution of one of our orders.  ``strategy`` is None for outside orders."""

    symbol: str
    trade_id: int
    order_id: int
    client_order_id: str | None
    strategy: str | None
    side: str
    price: Decimal
    quantity: Decimal
    quote_qty: Decimal
    commission: Decimal
    commission_asset: str | None
    is_maker: bool
    trade_time: int
    source: str


def from_execution_report(ev: Any, client_order_id: str, strategy: str | None,
                          source: str) -> FillRecord:
    """The fill carried by an executionReport of type TRADE.

    ``Y`` (last quote quantity) is absent from older payloads; it is then
    ``L * l``, which is how the exchange defines it.
    """
    if int(ev.trade_id) < 0:
        raise StateError(
            f"executionReport TRADE without trade id: symbol={ev.symbol} order_id={ev.order_id}"
        )
    price = to_decimal(ev.last_price, "last_price")
    quantity = to_decimal(ev.last_qty, "last_qty")
    quote_qty = to_decimal(ev.last_quote_qty, "last_quote_qty") or price * quantity
    return FillRecord(
        symbol=ev.symbol, trade_id=int(ev.trade_id), order_id=int(ev.order_id),
        client_order_id=client_order_id, strategy=strategy, side=ev.side,
        price=price, quantity=quantity, quote_qty=quote_qty,
        commission=to_decimal(ev.commission, "commission"),
        commission_asset=ev.commission_asset, is_maker=bool(ev.is_maker),
        trade_time=int(ev.transaction_time), source=source,
    )


def from_rest_trade(trade: Any, client_order_id: str | None, strategy: str | None,
                    source: str) -> FillRecord:
    """A ``myTrades`` row (RestTrade-like)."""
    return FillRecord(
        symbol=trade.symbol, trade_id=int(trade.id), order_id=int(trade.order_id),
        client_order_id=client_order_id, strategy=strategy,
        side="BUY" if trade.is_buyer else "SELL",
        price=to_decimal(trade.price, "price"), quantity=to_decimal(trade.qty, "qty"),
        quote_qty=to_decimal(trade.quote_qty, "quote_qty"),
        commission=to_decimal(trade.commission, "commission"),
        commission_asset=trade.commission_asset, is_maker=bool(trade.is_maker),
        trade_time=int(trade.time), source=source,
    )


_COLUMNS = ("symbol", "trade_id", "order_id", "client_order_id", "strategy", "side", "price",
            "quantity", "quote_qty", "commission", "commission_asset", "is_maker", "trade_time",
            "source")
_MONEY = {"price", "quantity", "quote_qty", "commission"}
_INSERT = (f"INSERT OR IGNORE INTO fills ({', '.join(_COLUMNS)}) "
           f"VALUES ({', '.join('?' for _ in _COLUMNS)})")
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM fills"


def insert(conn: sqlite3.Connection, fill: FillRecord) -> bool:
    """Store a fill; False when (symbol, trade_id) is already there."""
    row = tuple(
        money_text(getattr(fill, c), c) if c in _MONEY
        else int(fill.is_maker) if c == "is_maker" else getattr(fill, c)
        for c in _COLUMNS
    )
    return conn.execute(_INSERT, row).rowcount == 1


def _record(row: tuple) -> FillRecord:
    values = dict(zip(_COLUMNS, row))
    for column in _MONEY:
        values[column] = money(values[column])
    values["is_maker"] = bool(values["is_maker"])
    return FillRecord(**values)


def query(conn: sqlite3.Connection, *, symbol: str | None = None, since_ms: int | None = None,
          limit: int | None = None, until_ms: int | None = None) -> list[FillRecord]:
    """Fills oldest first (trade time, then id); ``limit`` keeps the newest ``limit``.

    ``since_ms``/``until_ms`` bound the trade time as [since, until).
    """
    where, params = where_clause(("symbol = ?", symbol), ("trade_time >= ?", since_ms),
                                 ("trade_time < ?", until_ms))
    inner = f"{_SELECT}{where} ORDER BY trade_time DESC, trade_id DESC"
    if limit is not None:
        inner += " LIMIT ?"
        params.append(int(limit))
    rows = conn.execute(f"SELECT * FROM ({inner}) ORDER BY trade_time, trade_id",
                        params).fetchall()
    return [_record(row) for row in rows]


def of_order(conn: sqlite3.Connection, symbol: str, order_id: int) -> list[FillRecord]:
    rows = conn.execute(f"{_SELECT} WHERE symbol = ? AND order_id = ? ORDER BY trade_time, trade_id",
                        (symbol, int(order_id))).fetchall()
    return [_record(row) for row in rows]


def last_trade_id(conn: sqlite3.Connection, symbol: str) -> int | None:
    """The highest trade id stored for ``symbol``: ``myTrades`` catch-up resumes after it.

    Trade ids grow per symbol, so the maximum (not the latest inserted) is the
    right resume point even when fills arrived out of order.
    """
    row = conn.execute("SELECT max(trade_id) FROM fills WHERE symbol = ?", (symbol,)).fetchone()
    return row[0]


def orders_missing_fills(conn: sqlite3.Connection, since_ms: int | None = None) -> list:
    """(order, quantity its fills account for) for orders whose fills sum below ``executed_qty``.

    SQLite cannot add TEXT decimals exactly, so SQL only narrows the candidates
    (orders with something executed, their fill quantities concatenated) and the
    exact comparison is done here in Decimal.
    """
    sql = ("SELECT o.symbol, o.order_id, o.executed_qty, "
           "(SELECT group_concat(f.quantity, ',') FROM fills f "
           " WHERE f.symbol = o.symbol AND f.order_id = o.order_id) "
           "FROM orders o WHERE CAST(o.executed_qty AS REAL) > 0")
    params: list = []
    if since_ms is not None:
        sql += " AND o.update_time >= ?"
        params.append(int(since_ms))
    missing = []
    for symbol, order_id, executed, quantities in conn.execute(sql, params).fetchall():
        counted = sum((money(q) for q in quantities.split(",")), Decimal(0)) if quantities else Decimal(0)
        if counted < money(executed):
            missing.append((order_rows.load(conn, symbol, order_id), counted))
    return missing
