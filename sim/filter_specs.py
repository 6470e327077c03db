"""Filter definitions in exchangeInfo's own shape, parsed into typed values.

Why a separate module from ``sim.filters``: a symbol's rules arrive as the
dicts that ``exchangeInfo`` shows (from the built-in symbols, from
``SimConfig.symbols`` or from a JSON file), and must be rendered back exactly as
given, so that a client reading exchangeInfo sees the very rules the
simulator enforces.  This module only turns those dicts into typed Decimal
values (and refuses malformed ones at start-up with ``ValueError``); the checks
themselves live in ``sim.filters``.

Every filter type of the seed and of today's ``filters.md`` is known.  An
unknown ``filterType`` is refused: the simulator cannot enforce a rule it does
not understand, and advertising one it ignores would mislead the client.
``MAX_NUM_ORDER_AMENDS`` is parsed and shown but has nothing to act on (the
simulator has no order-amend endpoint).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

ZERO = Decimal(0)


def _dec(raw: Mapping[str, Any], key: str, default: Decimal | None = None) -> Decimal:
    if key not in raw:
        if default is not None:
            return default
        raise ValueError(f"filter {raw.get('filterType')} needs {key!r}")
    try:
        value = Decimal(str(raw[key]))
    except InvalidOperation as exc:
        raise ValueError(
            f"filter {raw.get('filterType')}.{key} is not a decimal: {raw[key]!r}") from exc
    if not value.is_finite() or value < 0:
        raise ValueError(f"filter {raw.get('filterType')}.{key} must be a finite decimal >= 0")
    return value


def _int(raw: Mapping[str, Any], key: str, default: int | None = None) -> int:
    if key not in raw:
        if default is not None:
            return default
        raise ValueError(f"filter {raw.get('filterType')} needs {key!r}")
    value = raw[key]
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"filter {raw.get('filterType')}.{key} is not an integer: {value!r}")
    try:
        number = int(value)
    except ValueError as exc:
        raise ValueError(
            f"filter {raw.get('filterType')}.{key} is not an integer: {value!r}") from exc
    if number < 0:
        raise ValueError(f"filter {raw.get('filterType')}.{key} must be >= 0")
    return number


def _bool(raw: Mapping[str, Any], key: str, default: bool) -> bool:
    value = raw.get(key, default)
    if not isinstance(value, bool):
        raise ValueError(f"filter {raw.get('filterType')}.{key} must be true or false")
    return value


@dataclass(frozen=True)
class PriceFilter:
    min_price: Decimal
    max_price: Decimal
    tick_size: Decimal

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> PriceFilter:
        return cls(_dec(raw, "minPrice"), _dec(raw, "maxPrice"), _dec(raw, "tickSize"))


@dataclass(frozen=True)
class PercentPrice:
    multiplier_up: Decimal
    multiplier_down: Decimal
    avg_price_mins: int

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> PercentPrice:
        return cls(_dec(raw, "multiplierUp"), _dec(raw, "multiplierDown"),
                   _int(raw, "avgPriceMins", 5))


@dataclass(frozen=True)
class PercentPriceBySide:
    bid_multiplier_up: Decimal
    bid_multiplier_down: Decimal
    ask_multiplier_up: Decimal
    ask_multiplier_down: Decimal
    avg_price_mins: int

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> PercentPriceBySide:
        return cls(_dec(raw, "bidMultiplierUp"), _dec(raw, "bidMultiplierDown"),
                   _dec(raw, "askMultiplierUp"), _dec(raw, "askMultiplierDown"),
                   _int(raw, "avgPriceMins", 5))


@dataclass(frozen=True)
class LotSize:
    """LOT_SIZE and MARKET_LOT_SIZE share this shape."""

    min_qty: Decimal
    max_qty: Decimal
    step_size: Decimal

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> LotSize:
        return cls(_dec(raw, "minQty"), _dec(raw, "maxQty"), _dec(raw, "stepSize"))


@dataclass(frozen=True)
class MinNotional:
    min_notional: Decimal
    apply_to_market: bool
    avg_price_mins: int

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> MinNotional:
        return cls(_dec(raw, "minNotional"), _bool(raw, "applyToMarket", True),
                   _int(raw, "avgPriceMins", 5))


@dataclass(frozen=True)
class Notional:
    min_notional: Decimal
    apply_min_to_market: bool
    max_notional: Decimal
    apply_max_to_market: bool
    avg_price_mins: int

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Notional:
        return cls(_dec(raw, "minNotional", ZERO), _bool(raw, "applyMinToMarket", True),
                   _dec(raw, "maxNotional", ZERO), _bool(raw, "applyMaxToMarket", False),
                   _int(raw, "avgPriceMins", 5))


@dataclass(frozen=True)
class MaxPosition:
    max_position: Decimal

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> MaxPosition:
        return cls(_dec(raw, "maxPosition"))


@dataclass(frozen=True)
class TrailingDelta:
    min_above: int
    max_above: int
    min_below: int
    max_below: int

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> TrailingDelta:
        return cls(_int(raw, "minTrailingAboveDelta"), _int(raw, "maxTrailingAboveDelta"),
                   _int(raw, "minTrailingBelowDelta"), _int(raw, "maxTrailingBelowDelta"))


# Filters that only carry one integer: filterType -> its key in exchangeInfo.
_COUNT_KEYS = {
    "ICEBERG_PARTS": "limit",
    "MAX_NUM_ORDERS": "maxNumOrders",
    "MAX_NUM_ALGO_ORDERS": "maxNumAlgoOrders",
    "MAX_NUM_ICEBERG_ORDERS": "maxNumIcebergOrders",
    "MAX_NUM_ORDER_LISTS": "maxNumOrderLists",
    "MAX_NUM_ORDER_AMENDS": "maxNumOrderAmends",
}
_EXCHANGE_COUNT_KEYS = {
    "EXCHANGE_MAX_NUM_ORDERS": "maxNumOrders",
    "EXCHANGE_MAX_NUM_ALGO_ORDERS": "maxNumAlgoOrders",
    "EXCHANGE_MAX_NUM_ICEBERG_ORDERS": "maxNumIcebergOrders",
    "EXCHANGE_MAX_NUM_ORDER_LISTS": "maxNumOrderLists",
}
_TYPED = {
    "PRICE_FILTER": PriceFilter.parse,
    "PERCENT_PRICE": PercentPrice.parse,
    "PERCENT_PRICE_BY_SIDE": PercentPriceBySide.parse,
    "LOT_SIZE": LotSize.parse,
    "MARKET_LOT_SIZE": LotSize.parse,
    "MIN_NOTIONAL": MinNotional.parse,
    "NOTIONAL": Notional.parse,
    "MAX_POSITION": MaxPosition.parse,
    "TRAILING_DELTA": TrailingDelta.parse,
}
SYMBOL_FILTER_TYPES = frozenset(_TYPED) | frozenset(_COUNT_KEYS)
EXCHANGE_FILTER_TYPES = frozenset(_EXCHANGE_COUNT_KEYS)


@dataclass(frozen=True, eq=False)
class SymbolFilters:
    """One symbol's filters: the raw dicts (rendered as given) and their typed values.

    Compared and hashed by identity (``eq=False``): the raw dicts are not hashable,
    and a ``SymbolSpec`` holding these must stay usable as a dict key.
    """

    raw: tuple[dict[str, Any], ...] = ()
    price: PriceFilter | None = None
    percent_price: PercentPrice | None = None
    percent_price_by_side: PercentPriceBySide | None = None
    lot_size: LotSize | None = None
    market_lot_size: LotSize | None = None
    min_notional: MinNotional | None = None
    notional: Notional | None = None
    max_position: MaxPosition | None = None
    trailing_delta: TrailingDelta | None = None
    counts: Mapping[str, int] = field(default_factory=dict)  # filterType -> limit

    def count(self, filter_type: str) -> int | None:
        return self.counts.get(filter_type)


_ATTRIBUTE = {
    "PRICE_FILTER": "price", "PERCENT_PRICE": "percent_price",
    "PERCENT_PRICE_BY_SIDE": "percent_price_by_side", "LOT_SIZE": "lot_size",
    "MARKET_LOT_SIZE": "market_lot_size", "MIN_NOTIONAL": "min_notional",
    "NOTIONAL": "notional", "MAX_POSITION": "max_position", "TRAILING_DELTA": "trailing_delta",
}


def _filter_type(raw: object, where: str) -> str:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("filterType"), str):
        raise ValueError(f"{where}: every filter must be an object with a filterType")
    return raw["filterType"]


def parse_symbol_filters(raws: Iterable[Mapping[str, Any]], *,
                         where: str = "symbol") -> SymbolFilters:
    """Typed values of a symbol's ``filters`` list; a repeated or unknown type is refused."""
    values: dict[str, Any] = {}
    counts: dict[str, int] = {}
    kept: list[dict[str, Any]] = []
    seen: set[str] = set()
    for raw in raws:
        filter_type = _filter_type(raw, where)
        if filter_type in seen:
            raise ValueError(f"{where}: filter {filter_type} appears twice")
        seen.add(filter_type)
        if filter_type in _TYPED:
            values[_ATTRIBUTE[filter_type]] = _TYPED[filter_type](raw)
        elif filter_type in _COUNT_KEYS:
            counts[filter_type] = _int(raw, _COUNT_KEYS[filter_type])
        else:
            raise ValueError(f"{where}: unknown symbol filter {filter_type!r}")
        kept.append(dict(raw))
    return SymbolFilters(raw=tuple(kept), counts=counts, **values)


@dataclass(frozen=True, eq=False)
class ExchangeFilters:
    """``exchangeInfo.exchangeFilters``: limits over all of an account's open orders."""

    raw: tuple[dict[str, Any], ...] = ()
    counts: Mapping[str, int] = field(default_factory=dict)

    def count(self, filter_type: str) -> int | None:
        return self.counts.get(filter_type)


def parse_exchange_filters(raws: Iterable[Mapping[str, Any]]) -> ExchangeFilters:
    counts: dict[str, int] = {}
    kept: list[dict[str, Any]] = []
    for raw in raws:
        filter_type = _filter_type(raw, "exchangeFilters")
        if filter_type not in _EXCHANGE_COUNT_KEYS:
            raise ValueError(f"exchangeFilters: unknown exchange filter {filter_type!r}")
        if filter_type in counts:
            raise ValueError(f"exchangeFilters: filter {filter_type} appears twice")
        counts[filter_type] = _int(raw, _EXCHANGE_COUNT_KEYS[filter_type])
        kept.append(dict(raw))
    return ExchangeFilters(raw=tuple(kept), counts=counts)


def parse_asset_filters(raws: Iterable[Mapping[str, Any]]) -> dict[str, Decimal]:
    """``MAX_ASSET`` filters (today's ``/myFilters`` shape): asset -> largest amount per order."""
    limits: dict[str, Decimal] = {}
    for raw in raws:
        filter_type = _filter_type(raw, "assetFilters")
        if filter_type != "MAX_ASSET":
            raise ValueError(f"assetFilters: unknown asset filter {filter_type!r}")
        asset = raw.get("asset")
        if not isinstance(asset, str) or not asset:
            raise ValueError("assetFilters: MAX_ASSET needs an asset")
        if asset in limits:
            raise ValueError(f"assetFilters: MAX_ASSET for {asset} appears twice")
        limits[asset] = _dec(raw, "limit")
    return limits
