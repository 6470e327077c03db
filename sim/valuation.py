"""Converting an amount of one asset into another at the simulator's current prices.

Why its own module: the dust endpoints value balances in BTC and BNB, the
Funding wallet and the snapshots report ``btcValuation``/``totalAssetOfBtc``,
and BingX reports balances in USDT; all of them must agree on one rule.  The
rule: a direct pair's mid price if the simulator lists one (either way round),
else through USDT (the quote every simulated base asset has).  Results are
exact ``Decimal`` arithmetic truncated to 1e-8 only where a caller renders them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal

from sim.symbols import SymbolSpec

ONE = Decimal(1)
BRIDGE = "USDT"


class Valuation:
    """Prices from ``mid(symbol)``; ``rate(asset, target)`` or ``None`` if there is no path."""

    def __init__(self, specs: Mapping[str, SymbolSpec], mid: Callable[[str], Decimal]) -> None:
        self._pairs = {(spec.base, spec.quote): spec.symbol for spec in specs.values()}
        self._mid = mid

    def assets(self) -> list[str]:
        """Every asset of a listed symbol, sorted."""
        return sorted({asset for pair in self._pairs for asset in pair})

    def rate(self, asset: str, target: str) -> Decimal | None:
        """How much ``target`` one unit of ``asset`` is worth now."""
        if asset == target:
            return ONE
        direct = self._direct(asset, target)
        if direct is not None:
            return direct
        if BRIDGE in (asset, target):
            return None
        to_bridge, from_bridge = self._direct(asset, BRIDGE), self._direct(BRIDGE, target)
        if to_bridge is None or from_bridge is None:
            return None
        return to_bridge * from_bridge

    def value(self, asset: str, amount: Decimal, target: str) -> Decimal | None:
        rate = self.rate(asset, target)
        return None if rate is None else amount * rate

    def _direct(self, asset: str, target: str) -> Decimal | None:
        symbol = self._pairs.get((asset, target))
        if symbol is not None:
            return self._mid(symbol)
        symbol = self._pairs.get((target, asset))
        if symbol is not None:
            mid = self._mid(symbol)
            return ONE / mid if mid > 0 else None
        return None
