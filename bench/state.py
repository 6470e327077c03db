"""Benchmark: user-data events applied and committed per second through ``state.Store``.

Prints ONE JSON line.  The stream is the mix a trading account sees: per order
a NEW executionReport, a partial TRADE (with its fill), an
outboundAccountPosition, the final TRADE and another position; every event is
decoded from wire JSON by the venue decoder (untimed) and applied with its raw
bytes, one transaction each, as the daemon does.  Then the same events are
applied again: all duplicates, the reconnect-replay path.

Why both synchronous modes: the store commits with ``synchronous=FULL`` (one
fsync per commit, see ``state.store``); NORMAL shows what that durability
costs on this disk.  Use ``--dir`` to put the database on the disk you care
about (the default is the system temp dir, which may be a tmpfs).

    python bench/state.py [--synchronous FULL|NORMAL|both] [--seconds 3] [--dir DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from daemon.venues.binance.models import (AccountPosition, ExecutionReport,  # noqa: E402
                                          decode_user_event)
from state import Store  # noqa: E402
from state.store import SYNCHRONOUS_MODES  # noqa: E402

EVENTS_PER_ORDER = 5
CHUNK_ORDERS = 200


def order_events(order_id: int, start_ms: int) -> list[tuple[object, bytes]]:
    """The five user-data events of one order filled in two trades, as (event, raw)."""
    price, qty, half = Decimal("100.00000000"), Decimal("1.00000000"), Decimal("0.50000000")
    usdt = Decimal(1_000_000) - order_id * price

    def report(x: str, status: str, last: Decimal, cum: Decimal, trade_id: int, t: int) -> dict:
        return {"e": "executionReport", "E": t + 1, "s": "BTCUSDT", "c": f"bench-{order_id}",
                "S": "BUY", "o": "LIMIT", "f": "GTC", "q": str(qty), "p": str(price),
                "P": "0.00000000", "F": "0.00000000", "g": -1, "C": "", "x": x, "X": status,
                "r": "NONE", "i": order_id, "l": str(last), "z": str(cum),
                "L": str(price if last else Decimal("0.00000000")),
                "n": "0.00010000" if last else "0", "N": "BNB" if last else None, "T": t,
                "t": trade_id, "I": t, "w": status != "FILLED", "m": True, "M": True, "O": start_ms,
                "Z": str(cum * price), "Y": str(last * price), "Q": "0.00000000"}

    def position(t: int, btc: Decimal, spent: Decimal) -> dict:
        return {"e": "outboundAccountPosition", "E": t + 1, "u": t,
                "B": [{"a": "BTC", "f": str(btc), "l": "0.00000000"},
                      {"a": "USDT", "f": str(usdt - spent), "l": str(price * qty - spent)}]}

    t = start_ms
    wires = [
        report("NEW", "NEW", Decimal("0.00000000"), Decimal("0.00000000"), -1, t),
        report("TRADE", "PARTIALLY_FILLED", half, half, 2 * order_id, t + 1),
        position(t + 1, order_id * qty - half, half * price),
        report("TRADE", "FILLED", half, qty, 2 * order_id + 1, t + 2),
        position(t + 2, order_id * qty, qty * price),
    ]
    out = []
    for wire in wires:
        raw = msgspec.json.encode(wire)
        out.append((decode_user_event(raw), raw))
    return out


def apply(store: Store, event: object, raw: bytes) -> bool:
    """Apply one event as the router does; True if it was a duplicate."""
    if isinstance(event, ExecutionReport):
        return store.apply_execution_report(event, raw).duplicate
    if isinstance(event, AccountPosition):
        return store.apply_account_position(event, raw).duplicate
    raise TypeError(f"unexpected event {type(event).__name__}")


def run_mode(mode: str, seconds: float, directory: str) -> dict:
    """Apply fresh events for ``seconds`` of apply time, then duplicates for half as long."""
    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        applied: list[tuple[object, bytes]] = []
        busy = 0.0
        with Store.open(Path(tmp) / "bench.sqlite", synchronous=mode) as store:
            next_order = 1
            while busy < seconds:
                chunk = []
                for order_id in range(next_order, next_order + CHUNK_ORDERS):
                    chunk.extend(order_events(order_id, 1_700_000_000_000 + 10 * order_id))
                next_order += CHUNK_ORDERS
                for event, raw in chunk:
                    started = time.perf_counter()
                    duplicate = apply(store, event, raw)
                    busy += time.perf_counter() - started
                    if duplicate:
                        raise AssertionError("a fresh event was taken for a duplicate")
                    applied.append((event, raw))
                    if busy >= seconds:
                        break
            fresh_rate = len(applied) / busy

            replayed, dup_busy = 0, 0.0
            while dup_busy < seconds / 2 and replayed < len(applied):
                event, raw = applied[replayed]
                started = time.perf_counter()
                duplicate = apply(store, event, raw)
                dup_busy += time.perf_counter() - started
                if not duplicate:
                    raise AssertionError("a replayed event was applied twice")
                replayed += 1
            counts = store.counts()
        expected_fills = sum(1 for e, _ in applied
                             if isinstance(e, ExecutionReport) and e.execution_type == "TRADE")
        if counts["fills"] != expected_fills or counts["journal"] != len(applied):
            raise AssertionError(f"store lost or doubled rows: {counts}, "
                                 f"expected fills={expected_fills} journal={len(applied)}")
    return {"events": len(applied), "events_per_s": round(fresh_rate),
            "us_per_event": round(1e6 / fresh_rate, 1), "fills": expected_fills,
            "duplicates": replayed, "duplicates_per_s": round(replayed / dup_busy)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--synchronous", choices=[*SYNCHRONOUS_MODES, "BOTH"], default="BOTH",
                        type=str.upper, help="PRAGMA synchronous of the store (default: both).")
    parser.add_argument("--seconds", type=float, default=3.0,
                        help="Apply time per mode for fresh events (duplicates get half).")
    parser.add_argument("--dir", default=None, help="Directory for the temporary database.")
    args = parser.parse_args(argv)
    modes = list(SYNCHRONOUS_MODES) if args.synchronous == "BOTH" else [args.synchronous]
    results = {mode: run_mode(mode, args.seconds, args.dir) for mode in modes}
    line = {"bench": "state", "mix": "per order: NEW, TRADE, position, TRADE, position",
            "dir": args.dir or tempfile.gettempdir()}
    for key in ("events_per_s", "duplicates_per_s", "us_per_event", "events"):
        line[key] = {mode: result[key] for mode, result in results.items()}
    print(json.dumps(line))


if __name__ == "__main__":
    main()
