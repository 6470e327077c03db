"""Test environment for reconciliation: the real simulator, a real SQLite store, real REST.

``reconcile_env`` runs the simulator in the test's nursery with its market
paused (nothing trades unless a test makes it), opens a store file, and gives
two REST clients: ``rest`` for the daemon's account and ``other`` for a second
account that trades against it (so our resting orders fill on demand).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from decimal import Decimal

import trio

from daemon.credentials import Credentials
from daemon.dispatch_gate import DispatchGate
from daemon.venues.binance.rest import BinanceRest
from sim import SimConfig, run_simulator
from state import Store

SYMBOL = "BTCUSDT"
OTHER_KEY = "OtherAccountKey0000000000000000000000000000000000000000000000001"
OTHER_SECRET = "OtherAccountSecret00000000000000000000000000000000000000000000001"


class Recorder:
    """Stands in for the Dispatcher behind the gate: remembers every hook call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str | None, str, dict]] = []

    def publish(self, hook, **kwargs):
        self.calls.append((None, hook, kwargs))
        return 1

    def publish_to(self, plugin_name, hook, **kwargs):
        self.calls.append((plugin_name, hook, kwargs))
        return True

    def of(self, hook: str) -> list:
        return [kwargs for _, name, kwargs in self.calls if name == hook]


@dataclass
class Env:
    handle: object
    rest: BinanceRest
    other: BinanceRest
    store: Store
    recorder: Recorder = field(default_factory=Recorder)
    gate: DispatchGate | None = None

    def __post_init__(self) -> None:
        self.gate = DispatchGate(self.recorder)

    @property
    def exchange(self):
        return self.handle.exchange

    async def best(self) -> tuple[Decimal, Decimal]:
        depth = await self.rest.depth(SYMBOL, 5)
        return depth.bids[0][0], depth.asks[0][0]

    def clear_book(self) -> None:
        """Cancel the synthetic participants' orders: only ours and the other account's remain."""
        book = self.exchange.books[SYMBOL]
        for order in list(book.resting()):
            if order.owner is None:
                self.exchange.participant_cancel(order)

    def exchange_orders(self) -> list:
        """Every order of our account on the simulator, terminal ones included."""
        return list(self.exchange.default_account.orders.values())


async def place(rest: BinanceRest, *, side: str, type_: str = "LIMIT", quantity: str = "0.001",
                price: Decimal | None = None, client_order_id: str | None = None, tif: str = "GTC"):
    params = {"symbol": SYMBOL, "side": side, "type": type_, "quantity": quantity}
    if price is not None:
        params["price"] = format(price, "f")
        params["timeInForce"] = tif
    if client_order_id is not None:
        params["newClientOrderId"] = client_order_id
    return await rest.new_order(params)


@contextlib.asynccontextmanager
async def reconcile_env(tmp_path, *, seed: int = 5):
    config = SimConfig(seed=seed, participant_interval_ms=50)
    async with trio.open_nursery() as nursery:
        handle = await nursery.start(run_simulator, config)
        handle.exchange.pause_market()
        handle.exchange.accounts.add(OTHER_KEY, OTHER_SECRET,
                                     {"USDT": Decimal("1000000"), "BTC": Decimal("100")},
                                     maker_rate=Decimal("0.001"), taker_rate=Decimal("0.001"))
        store = Store.open(tmp_path / "state.sqlite")
        rest = BinanceRest(handle.rest_url, Credentials(handle.api_key, handle.api_secret))
        other = BinanceRest(handle.rest_url, Credentials(OTHER_KEY, OTHER_SECRET))
        try:
            yield Env(handle, rest, other, store)
        finally:
            with trio.CancelScope(shield=True):
                await rest.aclose()
                await other.aclose()
            store.close()
            nursery.cancel_scope.cancel()
