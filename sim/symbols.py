"""The simulated exchange's symbols and the ``/api/v3/exchangeInfo`` document.

The filter values are those of the live exchange in 2021 (BTCUSDT: tick 0.01,
step 0.00001, minNotional 10), so that a client tuned against the simulator
rounds its prices and quantities exactly as it must on Binance.  Only filters
the simulator enforces are advertised (see ``sim.filters``): a client that
trusts exchangeInfo must never be refused for a rule it was not told about.
The order types listed are likewise the ones the matching engine implements.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sim.numbers import fmt8

ORDER_TYPES: tuple[str, ...] = ("LIMIT", "LIMIT_MAKER", "MARKET")
PERMISSIONS: tuple[str, ...] = ("SPOT",)

# The seed's enum section and the live exchange in 2021 (cryptofeed recording).
RATE_LIMITS: tuple[dict[str, object], ...] = (
    {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
    {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 50},
    {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 160000},
    {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 6100},
)


@dataclass(frozen=True)
class SymbolSpec:
    """One trading pair: its assets, filter values and the synthetic market's scale.

    ``initial_price`` starts the random walk; ``lot`` is a typical participant order
    size in the base asset (the book's depth scales with it).
    """

    symbol: str
    base: str
    quote: str
    tick_size: Decimal
    min_price: Decimal
    max_price: Decimal
    step_size: Decimal
    min_qty: Decimal
    max_qty: Decimal
    min_notional: Decimal
    market_max_qty: Decimal
    initial_price: Decimal
    lot: Decimal
    avg_price_mins: int = 5
    multiplier_up: Decimal = Decimal("5")
    multiplier_down: Decimal = Decimal("0.2")
    max_num_orders: int = 200
    status: str = "TRADING"

    def filters(self) -> list[dict[str, object]]:
        return [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": fmt8(self.min_price),
                "maxPrice": fmt8(self.max_price),
                "tickSize": fmt8(self.tick_size),
            },
            {
                "filterType": "PERCENT_PRICE",
                "multiplierUp": str(self.multiplier_up),
                "multiplierDown": str(self.multiplier_down),
                "avgPriceMins": self.avg_price_mins,
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": fmt8(self.min_qty),
                "maxQty": fmt8(self.max_qty),
                "stepSize": fmt8(self.step_size),
            },
            {
                "filterType": "MIN_NOTIONAL",
                "minNotional": fmt8(self.min_notional),
                "applyToMarket": True,
                "avgPriceMins": self.avg_price_mins,
            },
            {
                "filterType": "MARKET_LOT_SIZE",
                "minQty": fmt8(Decimal(0)),
                "maxQty": fmt8(self.market_max_qty),
                "stepSize": fmt8(Decimal(0)),
            },
            {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": self.max_num_orders},
        ]

    def info(self) -> dict[str, object]:
        """This symbol's entry of ``exchangeInfo.symbols``, in the seed's field order."""
        return {
            "symbol": self.symbol,
            "status": self.status,
            "baseAsset": self.base,
            "baseAssetPrecision": 8,
            "quoteAsset": self.quote,
            "quotePrecision": 8,
            "quoteAssetPrecision": 8,
            "baseCommissionPrecision": 8,
            "quoteCommissionPrecision": 8,
            "orderTypes": list(ORDER_TYPES),
            "icebergAllowed": False,
            "ocoAllowed": False,
            "quoteOrderQtyMarketAllowed": True,
            "isSpotTradingAllowed": True,
            "isMarginTradingAllowed": False,
            "filters": self.filters(),
            "permissions": list(PERMISSIONS),
        }


def _d(text: str) -> Decimal:
    return Decimal(text)


DEFAULT_SYMBOLS: tuple[SymbolSpec, ...] = (
    SymbolSpec(
        symbol="BTCUSDT", base="BTC", quote="USDT",
        tick_size=_d("0.01"), min_price=_d("0.01"), max_price=_d("1000000"),
        step_size=_d("0.00001"), min_qty=_d("0.00001"), max_qty=_d("9000"),
        min_notional=_d("10"), market_max_qty=_d("100"),
        initial_price=_d("30000.00"), lot=_d("0.05"),
    ),
    SymbolSpec(
        symbol="ETHUSDT", base="ETH", quote="USDT",
        tick_size=_d("0.01"), min_price=_d("0.01"), max_price=_d("1000000"),
        step_size=_d("0.0001"), min_qty=_d("0.0001"), max_qty=_d("9000"),
        min_notional=_d("10"), market_max_qty=_d("1600"),
        initial_price=_d("2000.00"), lot=_d("0.5"),
    ),
    SymbolSpec(
        symbol="ETHBTC", base="ETH", quote="BTC",
        tick_size=_d("0.000001"), min_price=_d("0.000001"), max_price=_d("922327"),
        step_size=_d("0.0001"), min_qty=_d("0.0001"), max_qty=_d("100000"),
        min_notional=_d("0.0001"), market_max_qty=_d("870"),
        initial_price=_d("0.066667"), lot=_d("0.5"),
    ),
    SymbolSpec(
        symbol="BNBUSDT", base="BNB", quote="USDT",
        tick_size=_d("0.1"), min_price=_d("0.1"), max_price=_d("100000"),
        step_size=_d("0.001"), min_qty=_d("0.001"), max_qty=_d("900000"),
        min_notional=_d("10"), market_max_qty=_d("28000"),
        initial_price=_d("300.0"), lot=_d("2"),
    ),
)


def exchange_info(specs: list[SymbolSpec], server_time: int) -> dict[str, object]:
    """The ``GET /api/v3/exchangeInfo`` body for ``specs`` (already filtered by the caller)."""
    return {
        "timezone": "UTC",
        "serverTime": server_time,
        "rateLimits": [dict(limit) for limit in RATE_LIMITS],
        "exchangeFilters": [],
        "symbols": [spec.info() for spec in specs],
    }
