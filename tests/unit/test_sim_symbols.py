"""Symbols in exchangeInfo's shape: parsing, defaults, refusals, files and what is shown."""

from __future__ import annotations

import json
from decimal import Decimal as D
from pathlib import Path

import pytest

from sim import symbols
from sim.config import SimConfig
from sim.exchange import Exchange
from sim.symbols import DEFAULT_SYMBOLS, SymbolSpec, builtin_symbol_info

RECORDING = (Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "recordings"
             / "cryptofeed-binance-2021" / "BINANCE.0")


def test_builtin_symbols_render_exactly_what_they_were_given():
    for spec, raw in zip(DEFAULT_SYMBOLS, builtin_symbol_info(), strict=True):
        info = spec.info()
        assert info["filters"] == raw["filters"]
        assert "simInitialPrice" not in info and "simLot" not in info
        assert info["orderTypes"] == list(symbols.ORDER_TYPES)
        assert info["icebergAllowed"] is info["ocoAllowed"] is True
    btc = DEFAULT_SYMBOLS[0]
    assert {spec: spec.symbol for spec in DEFAULT_SYMBOLS}[btc] == "BTCUSDT"   # hashable
    assert (btc.tick_size, btc.step_size, btc.min_notional, btc.avg_price_mins) == (
        D("0.01"), D("0.00001"), D("10"), 5)
    assert btc.filters.counts == {"ICEBERG_PARTS": 10, "MAX_NUM_ORDERS": 200,
                                  "MAX_NUM_ALGO_ORDERS": 5}


def test_from_info_defaults_and_sim_keys():
    spec = SymbolSpec.from_info({
        "symbol": "XYZUSDT", "baseAsset": "XYZ", "quoteAsset": "USDT",
        "filters": [{"filterType": "PRICE_FILTER", "minPrice": "0.01", "maxPrice": "10000",
                     "tickSize": "0.01"},
                    {"filterType": "LOT_SIZE", "minQty": "0.1", "maxQty": "1000",
                     "stepSize": "0.1"},
                    {"filterType": "NOTIONAL", "minNotional": "5", "maxNotional": "90000"}],
    })
    assert spec.initial_price == D("10.00")             # sqrt(0.01 * 10000), on the tick
    assert spec.lot == D("2.6")                         # 5 * 5 / 10 rounded up to the step
    assert spec.status == "TRADING" and spec.min_notional == D(5)
    assert spec.filters.notional.apply_min_to_market is True
    given = SymbolSpec.from_info({"symbol": "ABCBTC", "baseAsset": "ABC", "quoteAsset": "BTC",
                                  "simInitialPrice": "0.5", "simLot": "3", "status": "BREAK"})
    assert (given.initial_price, given.lot, given.status) == (D("0.5"), D(3), "BREAK")


@pytest.mark.parametrize(("info", "complaint"), [
    ({"symbol": "btc usdt", "baseAsset": "BTC", "quoteAsset": "USDT"}, "valid symbol name"),
    ({"symbol": "AB", "quoteAsset": "USDT", "simInitialPrice": "1"}, "baseAsset"),
    ({"symbol": "AB", "baseAsset": "A", "quoteAsset": "B"}, "simInitialPrice"),
    ({"symbol": "AB", "baseAsset": "A", "quoteAsset": "B", "simInitialPrice": "1",
      "filters": [{"filterType": "FANCY"}]}, "unknown symbol filter"),
    ({"symbol": "AB", "baseAsset": "A", "quoteAsset": "B", "simInitialPrice": "1",
      "filters": [{"filterType": "LOT_SIZE", "minQty": "x", "maxQty": "1", "stepSize": "1"}]},
     "not a decimal"),
    ({"symbol": "AB", "baseAsset": "A", "quoteAsset": "B", "simInitialPrice": "1",
      "filters": [{"filterType": "MAX_NUM_ORDERS"}]}, "needs 'maxNumOrders'"),
    ({"symbol": "AB", "baseAsset": "A", "quoteAsset": "B", "simInitialPrice": "1",
      "filters": [{"filterType": "ICEBERG_PARTS", "limit": 2},
                  {"filterType": "ICEBERG_PARTS", "limit": 3}]}, "appears twice"),
    ({"symbol": "AB", "baseAsset": "A", "quoteAsset": "B", "simInitialPrice": "1",
      "orderTypes": ["LIMIT", "OTO"]}, "unknown order types"),
    ({"symbol": "AB", "baseAsset": "A", "quoteAsset": "B", "simInitialPrice": "1",
      "status": "SLEEPING"}, "unknown status"),
    ({"symbol": "AB", "baseAsset": "A", "quoteAsset": "B", "simInitialPrice": "1",
      "baseAssetPrecision": 9}, "baseAssetPrecision"),
])
def test_malformed_symbols_are_refused_with_the_reason(info, complaint):
    with pytest.raises(ValueError, match=complaint):
        SymbolSpec.from_info(info)


def test_config_refuses_bad_rules_at_start_up():
    with pytest.raises(ValueError, match="unknown exchange filter"):
        SimConfig(exchange_filters=[{"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 1}])
    with pytest.raises(ValueError, match="MAX_ASSET"):
        SimConfig(asset_filters=[{"filterType": "MAX_ASSET", "limit": "1"}])
    with pytest.raises(ValueError, match="appears twice"):
        SimConfig(symbols=[builtin_symbol_info()[0], builtin_symbol_info()[0]])
    with pytest.raises(ValueError, match="trade_history"):
        SimConfig(trade_history=0)


def test_a_json_file_with_a_whole_exchange_info_document(tmp_path):
    entry = builtin_symbol_info()[1]
    entry["filters"].append({"filterType": "MAX_POSITION", "maxPosition": "3.00000000"})
    path = tmp_path / "info.json"
    path.write_text(json.dumps({
        "symbols": [entry],
        "exchangeFilters": [{"filterType": "EXCHANGE_MAX_NUM_ORDERS", "maxNumOrders": 7}]}))
    exchange = Exchange(SimConfig(symbols=str(path)), clock=lambda: 1, seed_liquidity=False)
    assert list(exchange.specs) == ["ETHUSDT"]
    assert exchange.rules.exchange_filters.count("EXCHANGE_MAX_NUM_ORDERS") == 7
    shown = symbols.exchange_info(list(exchange.specs.values()), 1,
                                  exchange.rules.exchange_filters.raw)
    assert shown["exchangeFilters"] == [{"filterType": "EXCHANGE_MAX_NUM_ORDERS",
                                         "maxNumOrders": 7}]
    assert shown["symbols"][0]["filters"][-1] == {"filterType": "MAX_POSITION",
                                                  "maxPosition": "3.00000000"}
    with pytest.raises(ValueError, match="sim symbols file"):
        SimConfig(symbols=str(tmp_path / "missing.json"))


@pytest.mark.shared
def test_every_symbol_of_a_real_2021_exchange_info_is_accepted():
    """1,695 live symbols (some with MAX_POSITION, some in BREAK) parse and render back."""
    if not RECORDING.is_file():
        pytest.skip("../shared/reference is not present")
    with RECORDING.open(encoding="utf-8") as recording:
        first_line = recording.readline()
    document = json.loads(first_line.split(": ", 1)[1])
    loaded, exchange_filters = symbols.load_symbol_source(
        [dict(s, simInitialPrice="1") for s in document["symbols"]])
    assert len(loaded) == len(document["symbols"]) > 1000
    assert exchange_filters is None
    for spec, raw in zip(loaded, document["symbols"], strict=True):
        assert spec.info()["filters"] == raw["filters"]
        assert spec.status == raw["status"]
