"""The simulated exchange's symbols and the ``/api/v3/exchangeInfo`` document.

A symbol is described in exchangeInfo's own shape (``SymbolSpec.from_info``), so
that tests and the daemon's differential test can hand the simulator any
symbol the live exchange could list, with any filters, and read back exactly
what they gave.  Two keys beyond exchangeInfo shape the synthetic market and
are never rendered: ``simInitialPrice`` (where the random walk starts) and
``simLot`` (a typical participant order size in the base asset).

The built-in symbols carry the live exchange's filters of 2021 (BTCUSDT: tick
0.01, step 0.00001, minNotional 10, ICEBERG_PARTS 10, MAX_NUM_ALGO_ORDERS 5),
so a client tuned against the simulator rounds exactly as it must on Binance.
Every filter advertised is enforced (``sim.filters``), and every order type
listed is implemented by the matching engine.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sim.filter_specs import SymbolFilters, parse_symbol_filters
from sim.numbers import floor_to_step

# The engine matches any two orders, an account's own included (``sim.engine``
# knows no owners), so the one self-trade prevention mode it truthfully has is
# NONE: exchangeInfo offers only it and every order reports it (``sim.render``).
# preventedMatchId and preventedQuantity appear only on orders expired by STP,
# so never in the sim.
SELF_TRADE_PREVENTION_MODE = "NONE"

ORDER_TYPES: tuple[str, ...] = (
    "LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT",
    "TAKE_PROFIT_LIMIT",
)
PERMISSIONS: tuple[str, ...] = ("SPOT",)
SYMBOL_STATUSES = frozenset({
    "PRE_TRADING", "TRADING", "POST_TRADING", "END_OF_DAY", "HALT", "AUCTION_MATCH", "BREAK",
})
_SYMBOL_RE = re.compile(r"^[A-Z0-9_.-]{1,20}$")
ZERO = Decimal(0)

# The seed's enum section and the live exchange in 2021 (cryptofeed recording).
RATE_LIMITS: tuple[dict[str, object], ...] = (
    {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
    {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 50},
    {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 160000},
    {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 6100},
)


@dataclass(frozen=True)
class SymbolSpec:
    """One trading pair: its exchangeInfo entry (typed) and the synthetic market's scale."""

    symbol: str
    base: str
    quote: str
    filters: SymbolFilters
    initial_price: Decimal
    lot: Decimal
    status: str = "TRADING"
    order_types: tuple[str, ...] = ORDER_TYPES
    iceberg_allowed: bool = True
    oco_allowed: bool = True
    quote_order_qty_market_allowed: bool = True
    allow_trailing_stop: bool = True
    is_spot_trading_allowed: bool = True
    is_margin_trading_allowed: bool = False
    permissions: tuple[str, ...] = PERMISSIONS
    base_asset_precision: int = 8
    quote_precision: int = 8
    quote_asset_precision: int = 8
    base_commission_precision: int = 8
    quote_commission_precision: int = 8

    # ------------------------------------------------------------ construction

    @classmethod
    def from_info(cls, info: Mapping[str, Any], *, initial_price: Decimal | str | None = None,
                  lot: Decimal | str | None = None) -> SymbolSpec:
        """A spec from one ``exchangeInfo.symbols`` entry; ``ValueError`` names what is wrong.

        ``initial_price`` (or the entry's ``simInitialPrice``) defaults to the
        built-in symbol of that name, else to the geometric middle of the
        PRICE_FILTER range; ``lot`` defaults to about five times the minimum order.
        """
        if not isinstance(info, Mapping):
            raise ValueError("a symbol must be an object in exchangeInfo's shape")
        name = _text(info, "symbol")
        if not _SYMBOL_RE.match(name):
            raise ValueError(f"symbol {name!r}: not a valid symbol name")
        where = f"symbol {name}"
        filters = parse_symbol_filters(info.get("filters", ()), where=where)
        order_types = tuple(info.get("orderTypes", ORDER_TYPES))
        unknown = set(order_types) - set(ORDER_TYPES)
        if unknown:
            raise ValueError(f"{where}: unknown order types {sorted(unknown)}")
        status = info.get("status", "TRADING")
        if status not in SYMBOL_STATUSES:
            raise ValueError(f"{where}: unknown status {status!r}")
        given = initial_price if initial_price is not None else info.get("simInitialPrice")
        price = _decimal(where, "simInitialPrice", given)
        if price is None:
            price = _default_price(name, filters, where)
        size = _decimal(where, "simLot", lot if lot is not None else info.get("simLot"))
        if size is None:
            size = _default_lot(filters, price)
        if price <= 0 or size <= 0:
            raise ValueError(f"{where}: simInitialPrice and simLot must be > 0")
        return cls(
            symbol=name, base=_text(info, "baseAsset"), quote=_text(info, "quoteAsset"),
            filters=filters, initial_price=price, lot=size, status=status,
            order_types=order_types,
            iceberg_allowed=_flag(info, "icebergAllowed", True, where),
            oco_allowed=_flag(info, "ocoAllowed", True, where),
            quote_order_qty_market_allowed=_flag(info, "quoteOrderQtyMarketAllowed", True, where),
            allow_trailing_stop=_flag(info, "allowTrailingStop", True, where),
            is_spot_trading_allowed=_flag(info, "isSpotTradingAllowed", True, where),
            is_margin_trading_allowed=_flag(info, "isMarginTradingAllowed", False, where),
            permissions=tuple(info.get("permissions", PERMISSIONS)),
            base_asset_precision=_precision(info, "baseAssetPrecision", where),
            quote_precision=_precision(info, "quotePrecision", where),
            quote_asset_precision=_precision(info, "quoteAssetPrecision", where),
            base_commission_precision=_precision(info, "baseCommissionPrecision", where),
            quote_commission_precision=_precision(info, "quoteCommissionPrecision", where),
        )

    # --------------------------------------------------- filter values in short

    @property
    def tick_size(self) -> Decimal:
        return self.filters.price.tick_size if self.filters.price else ZERO

    @property
    def min_price(self) -> Decimal:
        return self.filters.price.min_price if self.filters.price else ZERO

    @property
    def max_price(self) -> Decimal:
        return self.filters.price.max_price if self.filters.price else ZERO

    @property
    def step_size(self) -> Decimal:
        return self.filters.lot_size.step_size if self.filters.lot_size else ZERO

    @property
    def min_qty(self) -> Decimal:
        return self.filters.lot_size.min_qty if self.filters.lot_size else ZERO

    @property
    def max_qty(self) -> Decimal:
        return self.filters.lot_size.max_qty if self.filters.lot_size else ZERO

    @property
    def min_notional(self) -> Decimal:
        if self.filters.min_notional:
            return self.filters.min_notional.min_notional
        return self.filters.notional.min_notional if self.filters.notional else ZERO

    @property
    def avg_price_mins(self) -> int:
        """The averaging window of the price-dependent filters (5 when none says)."""
        f = self.filters
        for found in (f.percent_price, f.percent_price_by_side, f.min_notional, f.notional):
            if found is not None:
                return found.avg_price_mins
        return 5

    # ---------------------------------------------------------------- rendering

    def info(self) -> dict[str, object]:
        """This symbol's entry of ``exchangeInfo.symbols``, in the seed's field order.

        Today's fields are added where today's docs put them, with what the sim does:
        no OTO and no cancelReplace endpoint (false), one permission set of the
        seed's permissions, and self-trade prevention NONE only (``sim.render``).
        """
        return {
            "symbol": self.symbol,
            "status": self.status,
            "baseAsset": self.base,
            "baseAssetPrecision": self.base_asset_precision,
            "quoteAsset": self.quote,
            "quotePrecision": self.quote_precision,
            "quoteAssetPrecision": self.quote_asset_precision,
            "baseCommissionPrecision": self.base_commission_precision,
            "quoteCommissionPrecision": self.quote_commission_precision,
            "orderTypes": list(self.order_types),
            "icebergAllowed": self.iceberg_allowed,
            "ocoAllowed": self.oco_allowed,
            "otoAllowed": False,
            "quoteOrderQtyMarketAllowed": self.quote_order_qty_market_allowed,
            "allowTrailingStop": self.allow_trailing_stop,
            "cancelReplaceAllowed": False,
            "isSpotTradingAllowed": self.is_spot_trading_allowed,
            "isMarginTradingAllowed": self.is_margin_trading_allowed,
            "filters": [dict(raw) for raw in self.filters.raw],
            "permissions": list(self.permissions),
            "permissionSets": [list(self.permissions)],
            "defaultSelfTradePreventionMode": SELF_TRADE_PREVENTION_MODE,
            "allowedSelfTradePreventionModes": [SELF_TRADE_PREVENTION_MODE],
        }


# ------------------------------------------------------------------- helpers


def _text(info: Mapping[str, Any], key: str) -> str:
    value = info.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"symbol {info.get('symbol')!r}: {key!r} must be a non-empty string")
    return value


def _flag(info: Mapping[str, Any], key: str, default: bool, where: str) -> bool:
    value = info.get(key, default)
    if not isinstance(value, bool):
        raise ValueError(f"{where}: {key} must be true or false")
    return value


def _precision(info: Mapping[str, Any], key: str, where: str) -> int:
    value = info.get(key, 8)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 8:
        raise ValueError(f"{where}: {key} must be an integer within [0, 8]")
    return value


def _decimal(where: str, key: str, value: object) -> Decimal | None:
    if value is None:
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"{where}: {key} is not a decimal: {value!r}") from exc
    if not number.is_finite():
        raise ValueError(f"{where}: {key} is not finite")
    return number


def _default_price(name: str, filters: SymbolFilters, where: str) -> Decimal:
    for builtin in _BUILTIN_INFO:
        if builtin["symbol"] == name:
            return Decimal(str(builtin["simInitialPrice"]))
    price = filters.price
    if price is None or price.min_price <= 0 or price.max_price <= 0:
        raise ValueError(f"{where}: give simInitialPrice (no PRICE_FILTER range to start within)")
    middle = (price.min_price * price.max_price).sqrt()
    if price.tick_size > 0:
        middle = max(price.min_price, price.min_price + floor_to_step(middle - price.min_price,
                                                                    price.tick_size))
    return middle.quantize(Decimal("1e-8"), rounding=ROUND_HALF_EVEN) or price.min_price


def _default_lot(filters: SymbolFilters, price: Decimal) -> Decimal:
    lot = filters.lot_size
    step = lot.step_size if lot else ZERO
    floor_qty = lot.min_qty if lot and lot.min_qty > 0 else Decimal("0.001")
    wanted = floor_qty * 5
    notional = filters.min_notional.min_notional if filters.min_notional else (
        filters.notional.min_notional if filters.notional else ZERO)
    if notional > 0:
        wanted = max(wanted, notional * 5 / price)
    size = floor_to_step(wanted, step) + step if step > 0 else wanted.quantize(Decimal("1e-8"))
    if lot and lot.max_qty > 0:
        size = min(size, lot.max_qty)
    return max(size, floor_qty)


def _builtin(symbol: str, base: str, quote: str, *, tick: str, min_price: str, max_price: str,
             step: str, min_qty: str, max_qty: str, min_notional: str, market_max: str,
             price: str, lot: str) -> dict[str, Any]:
    return {
        "symbol": symbol, "status": "TRADING", "baseAsset": base, "quoteAsset": quote,
        "orderTypes": list(ORDER_TYPES),
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": min_price, "maxPrice": max_price,
             "tickSize": tick},
            {"filterType": "PERCENT_PRICE", "multiplierUp": "5", "multiplierDown": "0.2",
             "avgPriceMins": 5},
            {"filterType": "LOT_SIZE", "minQty": min_qty, "maxQty": max_qty, "stepSize": step},
            {"filterType": "MIN_NOTIONAL", "minNotional": min_notional, "applyToMarket": True,
             "avgPriceMins": 5},
            {"filterType": "ICEBERG_PARTS", "limit": 10},
            {"filterType": "MARKET_LOT_SIZE", "minQty": "0.00000000", "maxQty": market_max,
             "stepSize": "0.00000000"},
            {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
            {"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": 5},
        ],
        "permissions": list(PERMISSIONS),
        "simInitialPrice": price, "simLot": lot,
    }


_BUILTIN_INFO: tuple[dict[str, Any], ...] = (
    _builtin("BTCUSDT", "BTC", "USDT", tick="0.01000000", min_price="0.01000000",
             max_price="1000000.00000000", step="0.00001000", min_qty="0.00001000",
             max_qty="9000.00000000", min_notional="10.00000000", market_max="100.00000000",
             price="30000.00", lot="0.05"),
    _builtin("ETHUSDT", "ETH", "USDT", tick="0.01000000", min_price="0.01000000",
             max_price="1000000.00000000", step="0.00010000", min_qty="0.00010000",
             max_qty="9000.00000000", min_notional="10.00000000", market_max="1600.00000000",
             price="2000.00", lot="0.5"),
    _builtin("ETHBTC", "ETH", "BTC", tick="0.00000100", min_price="0.00000100",
             max_price="922327.00000000", step="0.00010000", min_qty="0.00010000",
             max_qty="100000.00000000", min_notional="0.00010000", market_max="870.00000000",
             price="0.066667", lot="0.5"),
    _builtin("BNBUSDT", "BNB", "USDT", tick="0.10000000", min_price="0.10000000",
             max_price="100000.00000000", step="0.00100000", min_qty="0.00100000",
             max_qty="900000.00000000", min_notional="10.00000000", market_max="28000.00000000",
             price="300.0", lot="2"),
)

DEFAULT_SYMBOLS: tuple[SymbolSpec, ...] = tuple(SymbolSpec.from_info(i) for i in _BUILTIN_INFO)


def builtin_symbol_info() -> list[dict[str, Any]]:
    """Copies of the built-in symbols' exchangeInfo entries (with their sim keys), to edit."""
    return json.loads(json.dumps(list(_BUILTIN_INFO)))


def load_symbol_source(source: Iterable[Mapping[str, Any]] | str | Path) -> tuple[
        list[SymbolSpec], list[dict[str, Any]] | None]:
    """Symbols from a list of exchangeInfo entries, or from a JSON file.

    The file holds either such a list or a whole exchangeInfo document; the
    document's ``exchangeFilters`` come back as the second value (None for a list).
    """
    exchange_filters = None
    if isinstance(source, str | Path):
        try:
            document = json.loads(Path(source).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"sim symbols file {str(source)!r}: {exc}") from exc
        if isinstance(document, Mapping):
            exchange_filters = list(document.get("exchangeFilters", []))
            document = document.get("symbols")
        source = document
    if not isinstance(source, list | tuple) or not source:
        raise ValueError("sim symbols must be a non-empty list of exchangeInfo symbol entries")
    specs = [SymbolSpec.from_info(entry) for entry in source]
    names = [spec.symbol for spec in specs]
    if len(set(names)) != len(names):
        raise ValueError("sim symbols: a symbol appears twice")
    return specs, exchange_filters


def exchange_info(specs: list[SymbolSpec], server_time: int,
                  exchange_filters: Iterable[Mapping[str, Any]] = ()) -> dict[str, object]:
    """The ``GET /api/v3/exchangeInfo`` body for ``specs`` (already filtered by the caller)."""
    return {
        "timezone": "UTC",
        "serverTime": server_time,
        "rateLimits": [dict(limit) for limit in RATE_LIMITS],
        "exchangeFilters": [dict(raw) for raw in exchange_filters],
        "symbols": [spec.info() for spec in specs],
    }
