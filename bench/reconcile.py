"""Benchmark: reconcile an account with 1,000 open orders and 10,000 fills since the last run.

Prints ONE JSON line.  The simulator runs in this process (real HTTP on
loopback, market paused); the account gets 1,000 resting BUY orders and one
early fill the store knows about, then ten MARKET BUYs that each sweep 1,000
resting sell orders of the synthetic participants: 10,000 fills the store has
not seen.  The store knows every order (intents and acks recorded, as if the
daemon died before the fills' events arrived).  Timed: one ``Reconciler.reconcile()``
(the daemon's start-up and post-reconnect path) with the store at
``synchronous=FULL``; then a second run with nothing new (the steady-state cost
of a reconnect).

    python bench/reconcile.py [--open-orders 1000] [--fills 10000] [--dir DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from daemon.credentials import Credentials  # noqa: E402
from daemon.dispatch_gate import DispatchGate  # noqa: E402
from daemon.reconcile import Reconciler  # noqa: E402
from daemon.venues.binance.models import RestOrder, RestTrade, decode_rest  # noqa: E402
from daemon.venues.binance.rest import BinanceRest  # noqa: E402
from sim import SimConfig, run_simulator  # noqa: E402
from sim.limits import LimitsConfig  # noqa: E402
from sim.requests import NewOrder  # noqa: E402
from sim.symbols import builtin_symbol_info  # noqa: E402
from state import Store  # noqa: E402

SYMBOL = "BTCUSDT"
SWEEP_PRICE = Decimal("30000.00")
MIN_QTY = Decimal("0.00001")


class CountingPublisher:
    """Stands in for the dispatcher: counts what reconciliation tells the strategies."""

    def __init__(self) -> None:
        self.calls = 0

    def publish(self, hook, **kwargs):
        self.calls += 1
        return 1

    def publish_to(self, plugin_name, hook, **kwargs):
        self.calls += 1
        return True


def sim_config(open_orders: int) -> SimConfig:
    symbols = builtin_symbol_info()
    for entry in symbols:
        for rule in entry["filters"]:
            if rule["filterType"] == "MAX_NUM_ORDERS":
                rule["maxNumOrders"] = max(open_orders + 10, 200)  # + the sweeping MARKETs
    return SimConfig(seed=3, symbols=symbols, balances={"USDT": "100000000", "BTC": "1000"},
                     limits=LimitsConfig(enabled=False))


def place(exchange, side: str, order_type: str, quantity: Decimal, price: Decimal | None,
          client_order_id: str) -> RestOrder:
    """Place one order of the default account in-process; its RESULT answer as a RestOrder."""
    request = NewOrder(symbol=SYMBOL, side=side, order_type=order_type,
                       time_in_force="GTC", quantity=quantity,
                       quote_order_qty=None, price=price, client_order_id=client_order_id,
                       response_type="RESULT")
    answer = exchange.place_order(exchange.default_account, request)
    return decode_rest(json.dumps(answer).encode(), RestOrder)


def clear_book(exchange) -> None:
    for order in list(exchange.books[SYMBOL].resting()):
        if order.owner is None:
            exchange.participant_cancel(order)


def sweep(exchange, store: Store, n: int, makers: int) -> None:
    """``makers`` participant sells at one price, then one MARKET BUY of ours takes them all."""
    clear_book(exchange)
    for _ in range(makers):
        exchange.participant_order(NewOrder(symbol=SYMBOL, side="SELL", order_type="LIMIT",
                                            time_in_force="GTC", quantity=MIN_QTY,
                                            quote_order_qty=None, price=SWEEP_PRICE,
                                            client_order_id=None, response_type="RESULT"))
    cid = f"bench-sweep-{n}"
    store.record_intent(cid, "bench", SYMBOL, {"side": "BUY", "type": "MARKET"})
    store.record_ack(cid, place(exchange, "BUY", "MARKET", MIN_QTY * makers, None, cid))


def prepare(exchange, store: Store, open_orders: int, fills: int) -> None:
    exchange.pause_market()
    # An early fill the store has: the catch-up resumes after its trade id.
    first = place(exchange, "BUY", "MARKET", Decimal("0.001"), None, "bench-first")
    store.record_intent("bench-first", "bench", SYMBOL, {"side": "BUY", "type": "MARKET"})
    store.record_ack("bench-first", first)
    trades = exchange.my_trades(exchange.default_account, SYMBOL)
    store.record_rest_fills([decode_rest(json.dumps(t).encode(), RestTrade) for t in trades])
    for n in range(open_orders):  # resting far below the market: they stay open
        cid = f"bench-open-{n}"
        price = Decimal("20000.00") - Decimal(n) / 100
        store.record_intent(cid, "bench", SYMBOL, {"side": "BUY", "type": "LIMIT"})
        store.record_ack(cid, place(exchange, "BUY", "LIMIT", Decimal("0.001"), price, cid))
    makers = 1000
    for n in range(fills // makers):
        sweep(exchange, store, n, makers)


async def bench(open_orders: int, fills: int, directory: Path) -> dict:
    database = directory / "reconcile-bench.sqlite"
    async with trio.open_nursery() as nursery:
        handle = await nursery.start(run_simulator, sim_config(open_orders))
        setup_started = time.perf_counter()
        with Store.open(database, synchronous="NORMAL") as store:
            prepare(handle.exchange, store, open_orders, fills)
        setup_s = time.perf_counter() - setup_started
        rest = BinanceRest(handle.rest_url, Credentials(handle.api_key, handle.api_secret))
        store = Store.open(database, synchronous="FULL")
        try:
            await rest.exchange_info()  # the client's governor adopts the simulator's limits
            publisher = CountingPublisher()
            reconciler = Reconciler(rest, store, DispatchGate(publisher))
            before = rest.stats.requests
            started = time.perf_counter()
            first = await reconciler.reconcile()
            elapsed = time.perf_counter() - started
            requests = rest.stats.requests - before
            started = time.perf_counter()
            second = await reconciler.reconcile()
            idle = time.perf_counter() - started
            stored_fills = len(store.fills(symbol=SYMBOL))
            open_stored = len(store.orders(open_only=True))
        finally:
            store.close()
            await rest.aclose()
            nursery.cancel_scope.cancel()
    return {
        "bench": "reconcile", "open_orders": open_stored, "fills_since_last_run": fills,
        "fills_recovered": first.fills_recovered, "fills_stored": stored_fills,
        "strategy_calls": publisher.calls, "rest_requests": requests,
        "seconds": round(elapsed, 3), "fills_per_s": round(first.fills_recovered / elapsed),
        "idle_reconcile_seconds": round(idle, 3), "idle_fills_recovered": second.fills_recovered,
        "synchronous": "FULL", "setup_seconds": round(setup_s, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--open-orders", type=int, default=1000)
    parser.add_argument("--fills", type=int, default=10_000)
    parser.add_argument("--dir", type=Path, default=None,
                        help="where the database goes (default: a temporary directory)")
    args = parser.parse_args()
    if args.fills % 1000:
        parser.error("--fills must be a multiple of 1000 (one sweep takes 1000 makers)")
    if args.dir is not None:
        args.dir.mkdir(parents=True, exist_ok=True)
        result = trio.run(bench, args.open_orders, args.fills, args.dir)
    else:
        with tempfile.TemporaryDirectory(prefix="tradingd-bench-") as tmp:
            result = trio.run(bench, args.open_orders, args.fills, Path(tmp))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
