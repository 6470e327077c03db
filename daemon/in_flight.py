"""Orders sent but not yet answered, and what each one will take from the account.

Why track them: between ``record_intent`` and the exchange's answer an order
is invisible to the store (no balance is locked yet, no open order row
exists), yet it will lock funds and occupy an open-order slot.  Two orders
racing for the same 600 USDT, or for the last MAX_NUM_ORDERS slot, must not
both pass.  So each in-flight order holds its requirement here until it is
acknowledged (then the exchange's lock shows in the balances and the order
in the store) or refused.

The requirement of an order (``requirement``): a BUY locks quote asset
(price * quantity, stop price for a stop-market, quoteOrderQty, or the
reference price for a MARKET order), a SELL locks base quantity (for a
quoteOrderQty SELL, quoteOrderQty / reference price).  Commissions need no
hold: spot fees come out of the asset received (or BNB), never on top of
what the order locks.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from daemon.filters import ALGO_TYPES, OpenCounts, SymbolRules
from daemon.filters.base import CTX, ZERO
from daemon.orders import OcoRequest, OrderRequest, Side

__all__ = ["Hold", "InFlight", "oco_requirement", "requirement"]


@dataclass(frozen=True, slots=True)
class Hold:
    """One in-flight order (or OCO, keyed by its list id) and what it takes."""

    key: str
    strategy: str
    symbol: str
    asset: str
    amount: Decimal
    counts: OpenCounts
    buy_quantity: Decimal  # base quantity a BUY adds to the MAX_POSITION position


def requirement(rules: SymbolRules, request: OrderRequest,
                reference: Decimal | None) -> tuple[str, Decimal | None]:
    """(asset, amount) the order locks once placed; amount None when it cannot be estimated."""
    qty = request.quantity
    if request.side is Side.BUY:
        if request.quote_order_qty is not None:
            return rules.quote_asset, request.quote_order_qty
        if request.price is not None:
            return rules.quote_asset, CTX.multiply(request.price, qty)
        if request.type in ALGO_TYPES and request.stop_price is not None:  # stop-market: at its trigger
            return rules.quote_asset, CTX.multiply(request.stop_price, qty)
        return rules.quote_asset, CTX.multiply(reference, qty) if reference else None
    if qty is not None:
        return rules.base_asset, qty
    if not reference:
        return rules.base_asset, None
    return rules.base_asset, CTX.divide(request.quote_order_qty, reference)


def oco_requirement(rules: SymbolRules, oco: OcoRequest) -> tuple[str, Decimal]:
    """An OCO locks once for both legs: the quantity (SELL), or the dearer leg's cost (BUY)."""
    if oco.side is Side.SELL:
        return rules.base_asset, oco.quantity
    stop_leg_price = oco.stop_limit_price if oco.stop_limit_price is not None else oco.stop_price
    return rules.quote_asset, CTX.multiply(max(oco.price, stop_leg_price), oco.quantity)


class InFlight:
    """The holds of orders between intent and answer, keyed by client (or list) id."""

    def __init__(self) -> None:
        self._holds: dict[str, Hold] = {}

    def __contains__(self, key: str) -> bool:
        return key in self._holds

    def __len__(self) -> int:
        return len(self._holds)

    def __iter__(self) -> Iterator[Hold]:
        return iter(self._holds.values())

    def add(self, hold: Hold) -> None:
        self._holds[hold.key] = hold

    def remove(self, key: str) -> None:
        self._holds.pop(key, None)

    def held(self, asset: str) -> tuple[Decimal, int]:
        """(amount of ``asset`` held, number of holds on it)."""
        total, count = ZERO, 0
        for hold in self._holds.values():
            if hold.asset == asset:
                total = CTX.add(total, hold.amount)
                count += 1
        return total, count

    def counts(self, symbol: str | None = None) -> OpenCounts:
        """Open orders the in-flight requests will add (on ``symbol``, or on the account)."""
        total = OpenCounts()
        for hold in self._holds.values():
            if symbol is None or hold.symbol == symbol:
                total = total.plus(hold.counts)
        return total

    def buy_quantity(self, symbol: str) -> Decimal:
        total = ZERO
        for hold in self._holds.values():
            if hold.symbol == symbol:
                total = CTX.add(total, hold.buy_quantity)
        return total

    def count_for(self, strategy: str) -> int:
        """In-flight orders of one strategy (an OCO counts as its two legs)."""
        return sum(hold.counts.orders for hold in self._holds.values() if hold.strategy == strategy)
