"""Synthetic participants: a seeded random-walk mid price, a quoted ladder, and takers.

Why this shape: a strategy under test must see its resting orders really rest,
fill and partially fill within seconds.  Each step, for each symbol,

1. the mid price takes one random-walk step (normal, ``volatility_bps``);
2. the participants withdraw their ladder and quote a new one around the new
   mid: ``book_levels`` levels per side ``level_spacing_bps`` apart, ``spread_ticks``
   wide at the top, each size scaled by ``depth_scale``.  New quotes
   go through the matching engine, so when the mid has moved past a user's
   resting order, the new quote trades with it, as a real market would;
3. ``takers_per_step`` times, with probability ``taker_probability`` each, a
   participant sends a MARKET order that takes from the best levels, where a
   user's order at the same price stands first in time (the ladder is re-quoted
   after it every step).  Trade rate = takers_per_step * taker_probability per
   ``participant_interval_ms``.

Determinism: every random draw comes from one ``random.Random`` per symbol,
seeded by the config seed and the symbol name, and the number and order of
draws never depends on the book, so the participants act identically for a
given seed whatever the user does; the user's orders only change who trades.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from decimal import Decimal
from random import Random
from typing import TYPE_CHECKING

from sim.engine import Order
from sim.numbers import floor_to_step
from sim.requests import NewOrder
from sim.symbols import SymbolSpec

if TYPE_CHECKING:
    from sim.config import SimConfig
    from sim.exchange import Exchange

log = logging.getLogger(__name__)

# Default distance between ladder levels, as a fraction of the mid (0.5 basis point;
# ``SimConfig.level_spacing_bps``).
LEVEL_SPACING = Decimal("0.00005")
_MID_PRECISION = Decimal("1e-10")


@dataclass
class _SymbolMarket:
    spec: SymbolSpec
    rng: Random
    mid: Decimal
    quotes: list[Order] = field(default_factory=list)


class SyntheticMarket:
    """The participants of every symbol of one exchange."""

    def __init__(self, exchange: Exchange, config: SimConfig) -> None:
        self.exchange = exchange
        self.levels = config.book_levels
        self.volatility = config.volatility_bps / 10_000
        self.taker_probability = config.taker_probability
        self.takers_per_step = config.takers_per_step
        self.spread_ticks = config.spread_ticks
        self.level_spacing = Decimal(repr(config.level_spacing_bps)) / 10_000
        self.depth_scale = Decimal(config.depth_scale)
        self.steps = 0
        self._symbols = {
            name: _SymbolMarket(spec, Random(f"tradingd-sim-market:{config.seed}:{name}"),
                                spec.initial_price)
            for name, spec in sorted(exchange.specs.items())
        }

    def mid(self, symbol: str) -> Decimal:
        return self._symbols[symbol].mid

    def seed_books(self) -> None:
        """Quote the first ladder at the initial prices (no move, no taker)."""
        for state in self._symbols.values():
            self._requote(state)
        self.exchange.publish_changes(self._symbols)

    def step(self) -> None:
        self.steps += 1
        for state in self._symbols.values():
            self._move_mid(state)
            self._requote(state)
            for _ in range(self.takers_per_step):
                self._maybe_take(state)
        self.exchange.publish_changes(self._symbols)

    # ------------------------------------------------------------------ steps

    def _move_mid(self, state: _SymbolMarket) -> None:
        shock = state.rng.gauss(0.0, 1.0) * self.volatility
        factor = Decimal(repr(math.exp(shock)))
        spec = state.spec
        floor_price = spec.tick_size * 100
        state.mid = max(floor_price, (state.mid * factor).quantize(_MID_PRECISION))

    def _requote(self, state: _SymbolMarket) -> None:
        spec = state.spec
        for order in state.quotes:
            self.exchange.participant_cancel(order)
        state.quotes.clear()
        tick = spec.tick_size
        spacing = max(tick, floor_to_step(state.mid * self.level_spacing, tick))
        # The spread straddles the mid: (spread_ticks - 1) / 2 ticks below it for the bid.
        best_bid = floor_to_step(state.mid - tick * (self.spread_ticks - 1) / 2, tick)
        if best_bid == state.mid:
            best_bid -= tick
        best_ask = best_bid + tick * self.spread_ticks
        for level in range(self.levels):
            bid_qty = self._draw_qty(state, low=0.3, high=1.5)
            ask_qty = self._draw_qty(state, low=0.3, high=1.5)
            bid = best_bid - spacing * level
            ask = best_ask + spacing * level
            if bid >= spec.min_price:
                self._quote(state, "BUY", bid, bid_qty)
            self._quote(state, "SELL", ask, ask_qty)

    def _maybe_take(self, state: _SymbolMarket) -> None:
        roll = state.rng.random()
        side = "BUY" if state.rng.random() < 0.5 else "SELL"
        qty = self._draw_qty(state, low=0.2, high=1.2)
        if roll >= self.taker_probability:
            return
        order = self.exchange.participant_order(NewOrder(
            symbol=state.spec.symbol, side=side, order_type="MARKET", time_in_force="GTC",
            quantity=qty, quote_order_qty=None, price=None, client_order_id=None,
            response_type="ACK",
        ))
        log.debug("market.take symbol=%s side=%s qty=%s filled=%s", state.spec.symbol, side,
                  qty, order.executed_qty)

    def _quote(self, state: _SymbolMarket, side: str, price: Decimal, qty: Decimal) -> None:
        order = self.exchange.participant_order(NewOrder(
            symbol=state.spec.symbol, side=side, order_type="LIMIT", time_in_force="GTC",
            quantity=qty, quote_order_qty=None, price=price, client_order_id=None,
            response_type="ACK",
        ))
        if order.is_open:
            state.quotes.append(order)

    def _draw_qty(self, state: _SymbolMarket, *, low: float, high: float) -> Decimal:
        spec = state.spec
        scale = Decimal(repr(round(state.rng.uniform(low, high), 6))) * self.depth_scale
        return max(spec.min_qty, floor_to_step(spec.lot * scale, spec.step_size))
