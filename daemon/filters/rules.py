"""A symbol's complete rule set, compiled once per exchangeInfo update, and ``validate``.

Why compile: exchangeInfo gives filters as dicts of strings.  Parsing them
into Decimals for every order would cost more than all the rules together,
so ``compile_rules`` does it once per update (the gateway recompiles when
exchangeInfo is refreshed) and ``validate`` only compares numbers.

Compiling is also where "fail closed" is decided:

* a filter type this build does not know becomes an ``UnknownFilter`` that
  refuses every order on the symbol (RejectCode.UNKNOWN_FILTER), unless its
  name is in ``allow_unknown_filters`` (config ``[gateway] allow_unknown_filters``);
* a known filter with a missing or non-numeric field becomes a
  ``MalformedFilter`` that refuses every order with the filter's own code.

Types that exist but can never refuse a new order are listed in
``NOT_APPLICABLE`` with the reason (MAX_NUM_ORDER_AMENDS: the gateway never
amends), so they are known without pretending to be evaluated.

The order of evaluation is fixed (``EVALUATION_ORDER``) whatever the order in
exchangeInfo, so ``validate`` (first failure) and ``validate_all`` (every
failure) are stable: symbol, parameters, precision, unknown filters, the filters, then
the market rules (stop direction, LIMIT_MAKER against the book).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial

from daemon.filters.base import (
    ALGO_TYPES,
    Filter,
    FilterSpecError,
    enter_exact,
    leave_exact,
    normalized,
    reject,
)
from daemon.filters.counts import COUNT_FILTERS, OpenOrderLimit
from daemon.filters.inputs import BOOK, LAST_PRICE, NO_MARKET_DATA, MarketInputs, OpenCounts, additions
from daemon.filters.notional import MinNotional, Notional
from daemon.filters.order_rules import (
    check_limit_maker,
    check_parameters,
    check_precision,
    check_price_quantity,
    check_stop_direction,
    check_symbol,
)
from daemon.filters.price import PercentPrice, PercentPriceBySide, PriceFilter, TrailingDelta
from daemon.filters.quantity import IcebergParts, LotSize, MarketLotSize, MaxAsset, MaxPosition
from daemon.orders import OrderRequest, OrderType, RejectCode, Rejection
from daemon.venues.binance.models import ExchangeInfo, SymbolInfo

__all__ = [
    "EVALUATION_ORDER", "KNOWN_FILTERS", "NOT_APPLICABLE", "MalformedFilter", "SymbolRules",
    "UnknownFilter", "as_rules", "compile_exchange", "compile_rules", "run_rules", "validate",
    "validate_all",
]

_PARSERS: dict[str, Callable[[Mapping], Filter]] = {
    "PRICE_FILTER": PriceFilter.parse,
    "PERCENT_PRICE": PercentPrice.parse,
    "PERCENT_PRICE_BY_SIDE": PercentPriceBySide.parse,
    "LOT_SIZE": LotSize.parse,
    "MARKET_LOT_SIZE": MarketLotSize.parse,
    "ICEBERG_PARTS": IcebergParts.parse,
    "MIN_NOTIONAL": MinNotional.parse,
    "NOTIONAL": Notional.parse,
    "TRAILING_DELTA": TrailingDelta.parse,
    "MAX_POSITION": MaxPosition.parse,
    **{name: partial(OpenOrderLimit.parse, name) for name in COUNT_FILTERS},
}

#: Every evaluated filter type, in the order ``validate`` applies them (MAX_ASSET from myFilters).
EVALUATION_ORDER: tuple[str, ...] = (
    "PRICE_FILTER", "PERCENT_PRICE", "PERCENT_PRICE_BY_SIDE", "LOT_SIZE", "MARKET_LOT_SIZE",
    "ICEBERG_PARTS", "MIN_NOTIONAL", "NOTIONAL", "TRAILING_DELTA", "MAX_POSITION", "MAX_ASSET",
    *COUNT_FILTERS,
)
_RANK = {name: rank for rank, name in enumerate(EVALUATION_ORDER)}

#: Known filter types that never concern a new order, with the reason.
NOT_APPLICABLE: dict[str, str] = {
    "MAX_NUM_ORDER_AMENDS": "limits amendments of an existing order; the gateway never amends",
}

KNOWN_FILTERS: frozenset[str] = frozenset(EVALUATION_ORDER) | frozenset(NOT_APPLICABLE)


@dataclass(frozen=True, slots=True)
class UnknownFilter(Filter):
    """A filter type this build cannot evaluate: every order on the symbol is refused."""

    name: str
    scope: str  # "symbol", "exchange" or "asset": where exchangeInfo listed it
    needs: frozenset[str] = frozenset()

    def check(self, request: OrderRequest, market: MarketInputs, adding) -> Rejection | None:
        return reject(RejectCode.UNKNOWN_FILTER, request,
                      f"UNKNOWN_FILTER: {request.symbol} has {self.scope} filter {self.name}, which this "
                      f"daemon does not evaluate; orders are refused unless [gateway] "
                      f"allow_unknown_filters lists it",
                      {"filter": self.name, "scope": self.scope})


@dataclass(frozen=True, slots=True)
class MalformedFilter(Filter):
    """A known filter whose fields cannot be read: it refuses every order, with its own code."""

    name: str
    problem: str
    key: str
    raw: str
    needs: frozenset[str] = frozenset()

    def check(self, request: OrderRequest, market: MarketInputs, adding) -> Rejection | None:
        return reject(RejectCode(self.name), request, f"{self.name}: {self.problem}",
                      {"filter": self.name, self.key: self.raw})


@dataclass(frozen=True, slots=True)
class SymbolRules:
    """Everything ``validate`` checks for one symbol, parsed once.

    ``needs`` names the market inputs some rule of this symbol reads, so the
    gateway gathers only those (open-order counts cost a database read).
    ``unknown_filters`` lists refused unknown types, ``allowed_unknown`` the
    unknown types the config lets pass unevaluated (both for the gateway's log).
    """

    info: SymbolInfo
    symbol: str
    base_asset: str
    quote_asset: str
    not_trading: str | None
    order_types: frozenset[str]
    iceberg_allowed: bool
    oco_allowed: bool
    trailing_allowed: bool
    quote_order_qty_allowed: bool
    filters: tuple[Filter, ...]
    needs: frozenset[str]
    unknown_filters: tuple[str, ...]
    allowed_unknown: tuple[str, ...]
    malformed: tuple[str, ...]
    # Order shape -> the filters that can refuse it (filled on first use; at most a few dozen).
    _plans: dict = field(default_factory=dict, compare=False, repr=False)

    def plan(self, request: OrderRequest, adding: OpenCounts) -> tuple[Filter, ...]:
        """The filters relevant to an order of this shape, in evaluation order (cached)."""
        iceberg = request.iceberg_qty is not None
        trailing = request.trailing_delta is not None
        key = (request.type, request.side, iceberg, trailing, adding)
        found = self._plans.get(key)
        if found is None:
            found = self._plans[key] = tuple(
                item for item in self.filters
                if item.relevant(request.type, request.side, iceberg, trailing, adding))
        return found

    def first(self, cls: type) -> Filter | None:
        """The first compiled filter of class ``cls`` (helpers read PRICE_FILTER, LOT_SIZE, ...)."""
        for item in self.filters:
            if type(item) is cls:
                return item
        return None


def _not_trading(info: SymbolInfo) -> str | None:
    if info.status != "TRADING":
        return f"status is {info.status}"
    if not info.is_spot_trading_allowed:
        return "status is TRADING without spot trading"
    if info.permissions and "SPOT" not in info.permissions:
        return f"does not permit SPOT trading (permissions: {', '.join(info.permissions)})"
    return None


def _compile_one(kind: str, spec: Mapping, scope: str, base_asset: str,
                 allow_unknown: frozenset[str]) -> Filter | str | None:
    """A compiled filter, the name of an allowed unknown type, or None (not applicable)."""
    if kind in NOT_APPLICABLE:
        return None
    if kind == "MAX_ASSET":
        parser: Callable[[Mapping], Filter] | None = partial(MaxAsset.parse, base_asset=base_asset)
    else:
        parser = _PARSERS.get(kind)
    if parser is None:
        return kind if kind in allow_unknown else UnknownFilter(kind, scope)
    try:
        return parser(spec)
    except FilterSpecError as exc:
        return MalformedFilter(kind, str(exc), exc.key, str(exc.raw))


def compile_rules(info: SymbolInfo, *, exchange_filters: Iterable[Mapping] = (),
                  asset_filters: Iterable[Mapping] = (),
                  allow_unknown_filters: Iterable[str] = frozenset()) -> SymbolRules:
    """Parse one symbol's filters, the exchange filters and the MAX_ASSET filters of its assets."""
    allow = frozenset(allow_unknown_filters)
    sources: list[tuple[Mapping, str]] = [(spec, "symbol") for spec in info.filters]
    sources += [(spec, "exchange") for spec in exchange_filters]
    sources += [(spec, "asset") for spec in asset_filters
                if spec.get("asset") in (info.base_asset, info.quote_asset)
                or spec.get("filterType") != "MAX_ASSET"]
    unknown: list[Filter] = []
    known: list[Filter] = []
    allowed: list[str] = []
    for spec, scope in sources:
        compiled = _compile_one(str(spec.get("filterType", "?")), spec, scope, info.base_asset, allow)
        if isinstance(compiled, str):
            allowed.append(compiled)
        elif isinstance(compiled, UnknownFilter):
            unknown.append(compiled)
        elif compiled is not None:
            known.append(compiled)
    known.sort(key=lambda item: _RANK[item.name])
    types = frozenset(info.order_types)
    needs = set().union(*(item.needs for item in known))
    if any(kind.value in types for kind in ALGO_TYPES) or info.oco_allowed:
        needs.add(LAST_PRICE)
    if OrderType.LIMIT_MAKER.value in types:
        needs.add(BOOK)
    has_trailing_filter = any(isinstance(item, TrailingDelta) for item in known)
    trailing_flag = getattr(info, "allow_trailing_stop", None)
    return SymbolRules(
        info=info, symbol=info.symbol, base_asset=info.base_asset, quote_asset=info.quote_asset,
        not_trading=_not_trading(info), order_types=types, iceberg_allowed=info.iceberg_allowed,
        oco_allowed=info.oco_allowed,
        # exchangeInfo may not carry allowTrailingStop (the seed's does not): then a
        # TRAILING_DELTA filter implies trailing stops.
        trailing_allowed=bool(has_trailing_filter if trailing_flag is None else trailing_flag),
        quote_order_qty_allowed=bool(getattr(info, "quote_order_qty_market_allowed", True)),
        filters=tuple(unknown + known), needs=frozenset(needs),
        unknown_filters=tuple(item.name for item in unknown), allowed_unknown=tuple(allowed),
        malformed=tuple(item.name for item in known if isinstance(item, MalformedFilter)),
    )


def compile_exchange(info: ExchangeInfo, *, asset_filters: Iterable[Mapping] = (),
                     allow_unknown_filters: Iterable[str] = frozenset()) -> dict[str, SymbolRules]:
    """``compile_rules`` for every symbol of an exchangeInfo answer, keyed by symbol."""
    assets = tuple(asset_filters)
    allow = frozenset(allow_unknown_filters)
    return {symbol.symbol: compile_rules(symbol, exchange_filters=info.exchange_filters,
                                         asset_filters=assets, allow_unknown_filters=allow)
            for symbol in info.symbols}


# ------------------------------------------------------------------ validation


def run_rules(rules: SymbolRules, request: OrderRequest, market: MarketInputs,
              adding: OpenCounts | None, first_only: bool) -> list[Rejection]:
    """Every rule in the stable order; returns early after one failure when ``first_only``."""
    request = normalized(request)
    found: list[Rejection] = []
    refused = check_symbol(rules, request)
    if refused is not None:
        found.append(refused)
        if first_only:
            return found
    refused = check_parameters(request)
    if refused is not None:
        found.append(refused)
        return found  # the rules below compare numbers; on malformed parameters they add noise
    for refused in (check_precision(rules, request), check_price_quantity(request)):
        if refused is not None:
            found.append(refused)
            if first_only:
                return found
    if adding is None:
        adding = additions(request)
    saved = enter_exact()
    try:
        for item in rules.plan(request, adding):
            refused = item.check(request, market, adding)
            if refused is not None:
                found.append(refused)
                if first_only:
                    return found
        for refused in (check_stop_direction(request, market.last_price),
                        check_limit_maker(request, market.best_bid, market.best_ask)):
            if refused is not None:
                found.append(refused)
                if first_only:
                    return found
    finally:
        leave_exact(saved)
    return found


def as_rules(rules: SymbolRules | SymbolInfo) -> SymbolRules:
    """Compiled rules as given, or compiled from a bare ``SymbolInfo`` (no exchange filters)."""
    return rules if isinstance(rules, SymbolRules) else compile_rules(rules)


def validate(rules: SymbolRules | SymbolInfo, request: OrderRequest,
             market: MarketInputs = NO_MARKET_DATA, *, adding: OpenCounts | None = None) -> Rejection | None:
    """The first rule ``request`` breaks, or None.

    ``adding`` is how many open orders the request adds (default: one, of its
    kinds); pass ``NOTHING_ADDED`` to skip the count limits.  A ``SymbolInfo``
    is compiled on the spot (slow path for tools and tests: no exchange or
    asset filters).
    """
    found = run_rules(as_rules(rules), request, market, adding, True)
    return found[0] if found else None


def validate_all(rules: SymbolRules | SymbolInfo, request: OrderRequest,
                 market: MarketInputs = NO_MARKET_DATA, *,
                 adding: OpenCounts | None = None) -> list[Rejection]:
    """Every rule ``request`` breaks, in the same order, to explain an order in full."""
    return run_rules(as_rules(rules), request, market, adding, False)
