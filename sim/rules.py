"""The trading rules of one simulator: its symbols and its exchange and asset filters.

Why one value for the three: ``SimConfig`` checks them at start-up (a typo in a
filter must fail there, not on the first order), and the ``Exchange`` builds its
books and its ``exchangeInfo`` from the same parsed value, so what is shown is
what is enforced.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sim.filter_specs import ExchangeFilters, parse_asset_filters, parse_exchange_filters
from sim.symbols import DEFAULT_SYMBOLS, SymbolSpec, load_symbol_source


@dataclass(frozen=True)
class TradingRules:
    symbols: tuple[SymbolSpec, ...] = DEFAULT_SYMBOLS
    exchange_filters: ExchangeFilters = field(default_factory=ExchangeFilters)
    asset_limits: Mapping[str, Decimal] = field(default_factory=dict)  # MAX_ASSET


def load_trading_rules(
    symbols: Iterable[Mapping[str, Any]] | str | Path | None = None,
    exchange_filters: Iterable[Mapping[str, Any]] | None = None,
    asset_filters: Iterable[Mapping[str, Any]] = (),
) -> TradingRules:
    """Parse and check the rules; ``None`` symbols means the built-in ones."""
    specs: tuple[SymbolSpec, ...] = DEFAULT_SYMBOLS
    from_document = None
    if symbols is not None:
        loaded, from_document = load_symbol_source(symbols)
        specs = tuple(loaded)
    chosen = exchange_filters if exchange_filters is not None else (from_document or [])
    return TradingRules(
        symbols=specs,
        exchange_filters=parse_exchange_filters(chosen),
        asset_limits=parse_asset_filters(asset_filters),
    )
