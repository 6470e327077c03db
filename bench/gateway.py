"""Benchmark: microseconds per validated order, with every exchange filter active.

Prints ONE JSON line.  The symbol is a realistic BTCUSDT carrying every filter
type of today's ``filters.md`` (plus the four EXCHANGE_* filters and MAX_ASSET
for both assets): 20 evaluated rules, plus MAX_NUM_ORDER_AMENDS which is
known but never concerns a new order.  Two figures, each as median and p99:

* ``validate_us``: ``daemon.filters.validate`` alone, with market inputs given
  (the pure rules: symbol, parameters, filters, stop direction, LIMIT_MAKER);
* ``submit_us``: ``Gateway.submit`` end to end with no-op fakes for REST and
  the store: client id, normalisation, gathering live inputs (prices, 40 open
  orders counted per symbol and account, the position), every rule, the
  balance with in-flight holds, the built-in risk plugin with every limit on
  (through the check_order collector), the ORDERS rate budget, the wire
  parameters, the in-flight hold, and the acknowledgement bookkeeping;
* ``submit_no_risk_us``: the same without any check_order plugin, to show
  what the gateway itself costs and what the risk limits add.

No network and no database: this measures the gateway's own CPU cost per
order.  Every order must be accepted (a refusal aborts the run), so the
figures are those of the full path, not of an early exit.  Rules are parsed
once per exchangeInfo update (``compile_us`` is that cost for this symbol).

    python bench/gateway.py [--orders 20000]
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from daemon import filters  # noqa: E402
from daemon.context import StrategyContext  # noqa: E402
from daemon.gateway import Gateway  # noqa: E402
from daemon.market import MarketCache  # noqa: E402
from daemon.orders import Accepted, OrderRequest, OrderType, Side, TimeInForce  # noqa: E402
from daemon.plugins import make_plugin_manager  # noqa: E402
from daemon.risk_hooks import make_risk_check  # noqa: E402
from daemon.risk_settings import RiskSettings  # noqa: E402
from daemon.venues.binance.models import ExchangeInfo, RateLimit, RestOrder, SymbolInfo  # noqa: E402
from plugins.risk import RiskLimits  # noqa: E402

D = Decimal

# Binance's BTCUSDT in 2024, completed with the filter types it does not carry.
SYMBOL_FILTERS = (
    {"filterType": "PRICE_FILTER", "minPrice": "0.01000000", "maxPrice": "1000000.00000000",
     "tickSize": "0.01000000"},
    {"filterType": "LOT_SIZE", "minQty": "0.00001000", "maxQty": "9000.00000000", "stepSize": "0.00001000"},
    {"filterType": "ICEBERG_PARTS", "limit": 10},
    {"filterType": "MARKET_LOT_SIZE", "minQty": "0.00000000", "maxQty": "83.93396370",
     "stepSize": "0.00000000"},
    {"filterType": "TRAILING_DELTA", "minTrailingAboveDelta": 10, "maxTrailingAboveDelta": 2000,
     "minTrailingBelowDelta": 10, "maxTrailingBelowDelta": 2000},
    {"filterType": "PERCENT_PRICE_BY_SIDE", "bidMultiplierUp": "5", "bidMultiplierDown": "0.2",
     "askMultiplierUp": "5", "askMultiplierDown": "0.2", "avgPriceMins": 5},
    {"filterType": "NOTIONAL", "minNotional": "5.00000000", "applyMinToMarket": True,
     "maxNotional": "9000000.00000000", "applyMaxToMarket": False, "avgPriceMins": 5},
    {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
    {"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": 5},
    {"filterType": "MAX_NUM_ORDER_AMENDS", "maxNumOrderAmends": 10},
    {"filterType": "PERCENT_PRICE", "multiplierUp": "5", "multiplierDown": "0.2", "avgPriceMins": 5},
    {"filterType": "MIN_NOTIONAL", "minNotional": "5.00000000", "applyToMarket": True, "avgPriceMins": 5},
    {"filterType": "MAX_NUM_ICEBERG_ORDERS", "maxNumIcebergOrders": 100},
    {"filterType": "MAX_POSITION", "maxPosition": "1000.00000000"},
    {"filterType": "MAX_NUM_ORDER_LISTS", "maxNumOrderLists": 20},
)
EXCHANGE_FILTERS = (
    {"filterType": "EXCHANGE_MAX_NUM_ORDERS", "maxNumOrders": 1000},
    {"filterType": "EXCHANGE_MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": 200},
    {"filterType": "EXCHANGE_MAX_NUM_ICEBERG_ORDERS", "maxNumIcebergOrders": 10000},
    {"filterType": "EXCHANGE_MAX_NUM_ORDER_LISTS", "maxNumOrderLists": 1000},
)
ASSET_FILTERS = ({"filterType": "MAX_ASSET", "asset": "BTC", "limit": "100"},
                 {"filterType": "MAX_ASSET", "asset": "USDT", "limit": "5000000"})
BTCUSDT = SymbolInfo(symbol="BTCUSDT", status="TRADING", base_asset="BTC", quote_asset="USDT",
                     order_types=("LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT",
                                  "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"),
                     iceberg_allowed=True, oco_allowed=True, permissions=("SPOT",), filters=SYMBOL_FILTERS)
RATE_LIMITS = (RateLimit(rate_limit_type="ORDERS", interval="SECOND", interval_num=10, limit=100),
               RateLimit(rate_limit_type="ORDERS", interval="DAY", interval_num=1, limit=200000))
LAST = D("60000.00")


class NoOpStore:
    """The store calls the gateway makes, doing nothing; 40 open orders to count."""

    def __init__(self) -> None:
        self.open = [SimpleNamespace(symbol="BTCUSDT" if i % 2 else "ETHUSDT", type="LIMIT", side="BUY",
                                     quantity=D("0.01"), executed_qty=D(0), client_order_id=f"o{i}",
                                     order_list_id=-1, price=D("59000"), stop_price=D(0),
                                     strategy="bench" if i < 10 else "other")
                     for i in range(40)]

    def orders(self, symbol=None, open_only=False, limit=None):
        return self.open if symbol is None else [o for o in self.open if o.symbol == symbol]

    def fills(self, symbol=None, since_ms=None, limit=None):
        return []

    def record_intent(self, client_order_id, strategy, symbol, request):
        pass

    def record_ack(self, client_order_id, order):
        pass

    def record_send_error(self, client_order_id, error, outcome_unknown):
        pass

    def record_rejection(self, strategy, client_order_id, symbol, code, reason, detail):
        pass

    def upsert_rest_order(self, order, source="reconcile"):
        pass


class InstantRest:
    """Acknowledges every order at once, without yielding to the scheduler."""

    async def new_order(self, params):
        return RestOrder(symbol=params["symbol"], order_id=1, client_order_id=params["newClientOrderId"])


def order(i: int) -> OrderRequest:
    """A BUY LIMIT a few ticks under the market: a typical grid order."""
    return OrderRequest(symbol="BTCUSDT", side=Side.BUY, type=OrderType.LIMIT, time_in_force=TimeInForce.GTC,
                        quantity=D("0.00150"), price=LAST - D(i % 50) * D("0.01"),
                        client_order_id=f"bench-{i}")


def percentiles(samples_ns: list[int]) -> dict[str, float]:
    samples = sorted(samples_ns)
    return {"median": round(samples[len(samples) // 2] / 1000, 2),
            "p99": round(samples[min(len(samples) - 1, int(len(samples) * 0.99))] / 1000, 2)}


def bench_validate(rules: filters.SymbolRules, count: int) -> dict[str, float]:
    market = filters.MarketInputs(average_price=LAST, last_price=LAST, best_bid=LAST, best_ask=LAST + 1,
                                  symbol_open=filters.OpenCounts(20, 0, 0, 0),
                                  exchange_open=filters.OpenCounts(40, 0, 0, 0), position=D("1"))
    requests = [order(i) for i in range(count)]
    samples = []
    validate, clock = filters.validate, time.perf_counter_ns
    for request in requests:
        start = clock()
        refused = validate(rules, request, market)
        samples.append(clock() - start)
        if refused is not None:
            raise AssertionError(f"the benchmark order was refused: {refused}")
    return percentiles(samples)


def make_gateway(kill_switch_dir: str, *, with_risk: bool = True) -> Gateway:
    market = MarketCache(clock=lambda: 0.0)
    market.update_price("BTCUSDT", LAST, 1)
    store = NoOpStore()
    now = [1_700_000_000.0]

    def clock() -> float:  # one order per 0.2 s of exchange time keeps under 100 per 10 s
        now[0] += 0.2
        return now[0]

    settings = RiskSettings.from_mapping({
        "kill_switch_file": str(Path(kill_switch_dir) / "kill"), "max_order_notional": "10000",
        "max_open_orders": 50, "price_band_bps": "500", "max_data_age_s": 60,
        "max_daily_notional": "1000000"})
    pm = make_plugin_manager()
    if with_risk:
        pm.register(RiskLimits(settings, clock=lambda: now[0]), "risk")
    contexts: dict[str, StrategyContext] = {}
    balances = {"USDT": (D("1000000"), D(0)), "BTC": (D("1"), D(0))}
    gateway = Gateway(InstantRest(), store, ExchangeInfo(symbols=(BTCUSDT,), exchange_filters=EXCHANGE_FILTERS,
                                                        rate_limits=RATE_LIMITS),
                      balances=lambda: balances, reference_price=market.last_price,
                      best_bid_ask=market.best_bid_ask, asset_filters=ASSET_FILTERS,
                      risk_check=make_risk_check(pm, contexts.__getitem__), clock=clock)
    contexts["bench"] = StrategyContext("bench", gateway=gateway, store=store, market=market, params=None)
    return gateway


def bench_submit(count: int, *, with_risk: bool = True) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as kill_switch_dir:
        gateway = make_gateway(kill_switch_dir, with_risk=with_risk)
        requests = [order(i) for i in range(count)]
        samples: list[int] = []

        async def run() -> None:
            clock = time.perf_counter_ns
            for request in requests:
                start = clock()
                result = await gateway.submit(request, strategy="bench")
                samples.append(clock() - start)
                if not isinstance(result, Accepted):
                    raise AssertionError(f"the benchmark order was refused: {result}")

        trio.run(run)
    return percentiles(samples)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=20000, help="Orders timed per figure.")
    args = parser.parse_args(argv)
    start = time.perf_counter_ns()
    rules = filters.compile_rules(BTCUSDT, exchange_filters=EXCHANGE_FILTERS, asset_filters=ASSET_FILTERS)
    compile_us = (time.perf_counter_ns() - start) / 1000
    evaluated = sorted({item.name for item in rules.filters})
    if len(evaluated) != len(filters.EVALUATION_ORDER):
        raise AssertionError(f"not every filter type is active: {evaluated}")
    gc.collect()
    validate_us = bench_validate(rules, args.orders)
    gc.collect()
    submit_us = bench_submit(args.orders)
    gc.collect()
    submit_no_risk_us = bench_submit(args.orders, with_risk=False)
    print(json.dumps({"bench": "gateway", "symbol": "BTCUSDT", "filters": len(rules.filters),
                      "filter_types": len(evaluated), "orders": args.orders,
                      "validate_us": validate_us, "submit_us": submit_us,
                      "submit_no_risk_us": submit_no_risk_us,
                      "compile_us": round(compile_us, 1), "python": platform.python_version()}))


if __name__ == "__main__":
    main()
