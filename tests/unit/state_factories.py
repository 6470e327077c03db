"""Builders for the state tests: real venue models decoded from real wire JSON.

Events go through ``decode_user_event`` so the store is tested against exactly
what the stream hands it (field names, Decimal types, defaults), and each
builder also returns the raw bytes for the ``raw=`` variant of the apply calls.
"""

from __future__ import annotations

import sqlite3
from decimal import Decimal

import msgspec

from daemon.venues.binance.models import RestBalance, RestOrder, RestTrade, decode_user_event

TABLES = ("orders", "intents", "fills", "balances", "journal", "order_lists", "automation_runs",
          "settings")


def execution_report(*, symbol="BTCUSDT", order_id=1, client_order_id="grid-0001", side="BUY",
                     order_type="LIMIT", tif="GTC", quantity="1.00000000",
                     price="100.00000000", x="NEW", status="NEW", last_qty="0.00000000",
                     cum_qty="0.00000000", last_price="0.00000000", trade_id=-1,
                     transaction_time=1_000, event_time=None, commission="0",
                     commission_asset=None, cum_quote="0.00000000", last_quote=None,
                     orig_client_order_id="", maker=False, order_time=1_000):
    """An ExecutionReport (and its raw bytes); money arguments are wire strings."""
    wire = {
        "e": "executionReport", "E": event_time or transaction_time + 1, "s": symbol,
        "c": client_order_id, "S": side, "o": order_type, "f": tif, "q": quantity, "p": price,
        "P": "0.00000000", "F": "0.00000000", "g": -1, "C": orig_client_order_id, "x": x,
        "X": status, "r": "NONE", "i": order_id, "l": last_qty, "z": cum_qty, "L": last_price,
        "n": commission, "N": commission_asset, "T": transaction_time, "t": trade_id,
        "I": 123, "w": status in ("NEW", "PARTIALLY_FILLED"), "m": maker, "M": False,
        "O": order_time, "Z": cum_quote, "Q": "0.00000000",
    }
    if last_quote is not None:
        wire["Y"] = last_quote
    raw = msgspec.json.encode(wire)
    return decode_user_event(raw), raw


def trade_report(*, order_id=1, trade_id, last_qty, cum_qty, price="100.00000000",
                 quantity="1.00000000", status=None, transaction_time, **kw):
    """An x=TRADE report filling ``last_qty`` at ``price`` (cumulative ``cum_qty``)."""
    status = status or ("FILLED" if Decimal(cum_qty) == Decimal(quantity) else "PARTIALLY_FILLED")
    cum_quote = format(Decimal(cum_qty) * Decimal(price), "f")
    return execution_report(
        order_id=order_id, x="TRADE", status=status, last_qty=last_qty, cum_qty=cum_qty,
        last_price=price, price=price, quantity=quantity, trade_id=trade_id,
        transaction_time=transaction_time, commission="0.00010000", commission_asset="BNB",
        cum_quote=cum_quote, last_quote=format(Decimal(last_qty) * Decimal(price), "f"), **kw)


def account_position(update_time, **balances):
    """outboundAccountPosition; ``balances`` maps asset -> (free, locked) wire strings."""
    wire = {"e": "outboundAccountPosition", "E": update_time + 1, "u": update_time,
            "B": [{"a": a, "f": f, "l": l} for a, (f, l) in balances.items()]}
    raw = msgspec.json.encode(wire)
    return decode_user_event(raw), raw


def balance_update(asset, delta, clear_time):
    wire = {"e": "balanceUpdate", "E": clear_time + 1, "a": asset, "d": delta, "T": clear_time}
    raw = msgspec.json.encode(wire)
    return decode_user_event(raw), raw


def list_status(*, symbol="BTCUSDT", order_list_id=7, list_status_type="EXEC_STARTED",
                list_order_status="EXECUTING", transaction_time=1_000, reject_reason="NONE",
                list_client_order_id="oco-0001", members=((11, "oco-0001-a"), (12, "oco-0001-b")),
                contingency_type="OCO"):
    """listStatus (and raw bytes); ``members`` are (order id, client order id) pairs."""
    wire = {"e": "listStatus", "E": transaction_time + 3, "s": symbol, "g": order_list_id,
            "c": contingency_type, "l": list_status_type, "L": list_order_status,
            "r": reject_reason, "C": list_client_order_id, "T": transaction_time,
            "O": [{"s": symbol, "i": i, "c": c} for i, c in members]}
    raw = msgspec.json.encode(wire)
    return decode_user_event(raw), raw


def external_lock(asset, delta, transaction_time):
    """externalLockUpdate (and raw bytes), as today's WebSocket API wraps it."""
    wire = {"subscriptionId": 0, "event": {"e": "externalLockUpdate", "E": transaction_time + 5,
                                           "a": asset, "d": delta, "T": transaction_time}}
    raw = msgspec.json.encode(wire)
    return decode_user_event(raw), raw


def rest_order(**kw) -> RestOrder:
    base = dict(symbol="BTCUSDT", order_id=1, client_order_id="grid-0001",
                price=Decimal("100.00000000"), orig_qty=Decimal("1.00000000"),
                executed_qty=Decimal(0), cummulative_quote_qty=Decimal(0), status="NEW",
                time_in_force="GTC", type="LIMIT", side="BUY", time=1_000, update_time=1_000)
    base.update(kw)
    return RestOrder(**base)


def rest_trade(**kw) -> RestTrade:
    base = dict(symbol="BTCUSDT", id=500, order_id=1, price=Decimal("100.00000000"),
                qty=Decimal("0.40000000"), quote_qty=Decimal("40.00000000"),
                commission=Decimal("0.00010000"), commission_asset="BNB", time=2_000,
                is_buyer=True, is_maker=False)
    base.update(kw)
    return RestTrade(**base)


def rest_balance(asset, free, locked="0") -> RestBalance:
    return RestBalance(asset, Decimal(free), Decimal(locked))


def dump(path) -> dict[str, list[tuple]]:
    """Every row of every table, read through a separate connection (so: committed)."""
    conn = sqlite3.connect(path)
    try:
        return {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall(), key=repr)
                for t in TABLES}
    finally:
        conn.close()


class FixedClock:
    """A wall clock the test moves by hand, so recorded_at is deterministic."""

    def __init__(self, start: int = 1_700_000_000_000) -> None:
        self.now = start

    def __call__(self) -> int:
        self.now += 1
        return self.now
