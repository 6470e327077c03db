"""Differential check of the order gateway against the exchange (the simulator).

Every random order goes to the daemon's rules (``validate_all`` with the
``MarketInputs`` the gateway gathers) and, as the parameters the gateway would
send, to the simulator's new-order validation (what ``POST /api/v3/order/test``
runs, in process); both must accept it, or both refuse it for the same reason
(``differential_support.agree``; the exchange's answers and the RejectCodes
they mean are ``differential_support.REJECTIONS``).  The simulator shares no
rule code with the daemon, so a disagreement is a bug on one side.

* ``test_100k_random_orders_agree``: 500 markets drawn by hypothesis
  (derandomized: the same ones in every run), 200 orders each from the same
  generator seeded by hypothesis: 100,000 orders.
* ``test_hypothesis_drawn_orders_agree``: fewer orders, every one drawn by
  hypothesis itself, so a disagreement shrinks to a minimal order and market.
* ``test_the_wire_answers_as_in_process``: 500 orders over loopback through
  ``BinanceRest`` to ``POST /api/v3/order/test`` of real simulators: the wire
  path answers exactly what the in-process path answers.
* ``test_edge_cases_agree``: the disagreements found while writing this test,
  kept as fixed cases (each fixed on the side that misread the spec).
"""

from __future__ import annotations

import time
from decimal import Decimal as D

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daemon.credentials import Credentials
from daemon.errors import ExchangeError
from daemon.filters import compile_rules
from daemon.orders import OrderRequest, OrderType, RejectCode, Side, TimeInForce
from daemon.venues.binance.rest import BinanceRest
from sim import run_simulator
from tests.integration.differential_markets import (
    BASE,
    OTHER,
    OTHER_BASE,
    QUOTE,
    SYMBOL,
    Market,
    Resting,
    Seeded,
    draw_market,
    order_batch,
    orders,
    scenarios,
)
from tests.integration.differential_support import Tally, Twin, agree, codes_for, wire

MARKETS = 500
ORDERS_PER_MARKET = 200
BULK = settings(max_examples=MARKETS, derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def compare(twin: Twin, requests: list[OrderRequest], tally: Tally) -> None:
    for request in requests:
        params = wire(request)
        tally.record(twin.market, request, params, twin.daemon_verdict(request), twin.sim_verdict(params))


def report(tally: Tally, what: str, started: float) -> str:
    refused = tally.compared - tally.accepted
    return (f"{what}: {tally.compared} orders compared in {time.perf_counter() - started:.1f} s, "
            f"{len(tally.disagreements)} disagreements; {tally.accepted} accepted by both, "
            f"{refused} refused by both ({tally.exact} for the daemon's first reason); "
            f"{len(tally.by_answer)} distinct exchange answers")


def assert_agreement(tally: Tally) -> None:
    shown = "\n\n".join(tally.disagreements[:10])
    assert not tally.disagreements, f"{len(tally.disagreements)} disagreements, the first ones:\n{shown}"


@pytest.mark.timeout(600)
def test_100k_random_orders_agree():
    tally = Tally()
    started = time.perf_counter()

    @BULK
    @given(scenarios(), st.integers(0, 2**63 - 1))
    def one_market(market: Market, seed: int) -> None:
        compare(Twin(market), order_batch(market, seed, ORDERS_PER_MARKET), tally)

    one_market()
    print(report(tally, "differential", started))
    assert tally.compared >= 100_000
    assert_agreement(tally)
    # The orders exercise both verdicts and most of the exchange's answers.
    assert tally.accepted >= 5_000 and tally.compared - tally.accepted >= 50_000
    for name in ("PRICE_FILTER", "PERCENT_PRICE", "PERCENT_PRICE_BY_SIDE", "LOT_SIZE", "MIN_NOTIONAL",
                 "NOTIONAL", "ICEBERG_PARTS", "MARKET_LOT_SIZE", "MAX_NUM_ORDERS", "MAX_NUM_ALGO_ORDERS",
                 "MAX_NUM_ICEBERG_ORDERS", "MAX_POSITION", "TRAILING_DELTA", "EXCHANGE_MAX_NUM_ORDERS",
                 "EXCHANGE_MAX_NUM_ALGO_ORDERS", "EXCHANGE_MAX_NUM_ICEBERG_ORDERS", "MAX_ASSET"):
        assert f"-1013 Filter failure: {name}" in tally.by_answer, name
    for code in (-1100, -1102, -1106, -1111, -1115, -1116, -1117):
        assert any(answer.startswith(f"{code} ") for answer in tally.by_answer), code
    for msg in ("Market is closed.", "This symbol is not permitted for this account.",
                "Order would trigger immediately.", "IcebergQty exceeds QTY.",
                "Unsupported order combination"):
        assert f"-2010 {msg}" in tally.by_answer, msg


@pytest.mark.timeout(300)
def test_hypothesis_drawn_orders_agree():
    tally = Tally()
    started = time.perf_counter()

    @settings(max_examples=150, derandomize=True, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(st.data())
    def one_market(data) -> None:
        market = data.draw(scenarios(), label="market")
        requests = data.draw(st.lists(orders(market), min_size=1, max_size=12), label="orders")
        twin = Twin(market)
        for request in requests:
            params = wire(request)
            daemon, sim = twin.daemon_verdict(request), twin.sim_verdict(params)
            tally.record(market, request, params, daemon, sim)
            ok, why = agree(daemon, sim)
            assert ok, f"{why}: daemon {[c.value for c in daemon]}, exchange {sim}, params {params}"

    one_market()
    print(report(tally, "hypothesis-drawn", started))
    assert tally.compared >= 500


# ------------------------------------------------------------------ over the wire

WIRE_MARKETS = 10
WIRE_ORDERS = 50


async def test_the_wire_answers_as_in_process(nursery):
    started = time.perf_counter()
    tally = Tally()
    for number in range(WIRE_MARKETS):
        market = draw_market(Seeded(7_000 + number))
        handle = await nursery.start(run_simulator, market.sim_config())
        try:
            handle.exchange.pause_market()
            twin = Twin(market, exchange=handle.exchange)
            async with BinanceRest(handle.rest_url, Credentials(handle.api_key, handle.api_secret)) as rest:
                info = await rest.exchange_info()
                # The daemon's rules from exchangeInfo over the wire are the ones compared in process.
                assert info.symbol(SYMBOL) == twin.rules.info
                assert compile_rules(info.symbol(SYMBOL), exchange_filters=info.exchange_filters,
                                     asset_filters=market.asset_filters).filters == twin.rules.filters
                for request in order_batch(market, number, WIRE_ORDERS):
                    params = wire(request)
                    over_wire = await _order_test(rest, params)
                    in_process = twin.sim_verdict(params)
                    assert over_wire == in_process, (params, over_wire, in_process)
                    tally.record(market, request, params, twin.daemon_verdict(request), over_wire)
        finally:
            handle.shutdown()
    print(report(tally, "over the wire", started))
    assert tally.compared == WIRE_MARKETS * WIRE_ORDERS
    assert tally.accepted > 0 and tally.accepted < tally.compared
    assert_agreement(tally)


async def _order_test(rest: BinanceRest, params: dict[str, str]) -> tuple[int, str] | None:
    """``POST /api/v3/order/test`` signed by the daemon's client: None (``{}``) or (code, msg)."""
    try:
        await rest.test_order(params)
    except ExchangeError as exc:
        return exc.code, exc.exchange_message
    return None


# ------------------------------------------------------------------ cases found on the way


def _market(*filters: dict, held: str = "0", resting: tuple[Resting, ...] = (), trades=(),
            exchange_filters: tuple[dict, ...] = (), asset_filters: tuple[dict, ...] = (), **entry) -> Market:
    return Market(
        entry={"symbol": SYMBOL, "status": "TRADING", "baseAsset": BASE, "quoteAsset": QUOTE,
               "filters": list(filters), "simInitialPrice": "100", "simLot": "1", **entry},
        other={"symbol": OTHER, "status": "TRADING", "baseAsset": OTHER_BASE, "quoteAsset": QUOTE,
               "filters": [], "simInitialPrice": "100", "simLot": "1"},
        exchange_filters=list(exchange_filters), asset_filters=list(asset_filters), base_held=D(held),
        resting=list(resting), trades=list(trades))


def _order(kind: str, side: str = "BUY", **values) -> OrderRequest:
    if kind in ("LIMIT", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"):
        values.setdefault("time_in_force", "GTC")
    return OrderRequest(symbol=SYMBOL, side=Side(side), type=OrderType(kind), **{
        k: TimeInForce(v) if k == "time_in_force" else v if k == "trailing_delta" else D(v)
        for k, v in values.items()})


TRAILING = {"filterType": "TRAILING_DELTA", "minTrailingAboveDelta": 10, "maxTrailingAboveDelta": 2000,
            "minTrailingBelowDelta": 10, "maxTrailingBelowDelta": 2000}
MIN_NOTIONAL = {"filterType": "MIN_NOTIONAL", "minNotional": "10", "applyToMarket": True, "avgPriceMins": 5}

# (what was wrong, market, order, the exchange's answer after the fix)
EDGE_CASES = [
    ("daemon: allowTrailingStop ignored", _market(allowTrailingStop=True),
     _order("STOP_LOSS", "SELL", quantity="1", trailing_delta=100), None),
    ("daemon: allowTrailingStop ignored", _market(TRAILING, allowTrailingStop=False),
     _order("STOP_LOSS", "SELL", quantity="1", trailing_delta=100),
     (-2010, "Trailing stop orders are not supported for this symbol.")),
    ("daemon: quoteOrderQtyMarketAllowed ignored", _market(quoteOrderQtyMarketAllowed=False),
     _order("MARKET", quote_order_qty="10"),
     (-2010, "Quote order qty market orders are not support for this symbol.")),
    ("daemon: precision not checked", _market(), _order("MARKET", quote_order_qty="0.001277271"),
     (-1111, "Precision is over the maximum defined for this asset.")),
    ("daemon: precision not checked", _market(baseAssetPrecision=2), _order("LIMIT", quantity="0.001",
                                                                             price="100"),
     (-1111, "Precision is over the maximum defined for this asset.")),
    ("daemon: Price * QTY not checked", _market(), _order("LIMIT_MAKER", "SELL", quantity="0.0095",
                                                          price="0.000001"),
     (-2010, "Price * QTY is zero or less.")),
    ("daemon: icebergQty 0 refused", _market(icebergAllowed=False),
     _order("LIMIT", quantity="1", price="100", iceberg_qty="0"), None),
    ("daemon: trailing stop-market notional skipped", _market(MIN_NOTIONAL, TRAILING),
     _order("STOP_LOSS", "SELL", quantity="0.05", trailing_delta=100),
     (-1013, "Filter failure: MIN_NOTIONAL")),
    ("daemon: trailing stop-market MAX_ASSET unknown", _market(TRAILING, asset_filters=(
        {"filterType": "MAX_ASSET", "asset": QUOTE, "limit": "50"},)),
     _order("STOP_LOSS", "SELL", quantity="0.4", trailing_delta=100), None),
    ("daemon: quote estimate not truncated", _market(asset_filters=(
        {"filterType": "MAX_ASSET", "asset": BASE, "limit": "0.0001"},), trades=((D(9602), D(1)),)),
     _order("MARKET", "SELL", quote_order_qty="0.96020002"), None),
    ("sim: maxQty 0 disabled LOT_SIZE", _market({"filterType": "LOT_SIZE", "minQty": "0.001",
                                                 "maxQty": "0", "stepSize": "0.001"}),
     _order("LIMIT", quantity="1", price="100"), (-1013, "Filter failure: LOT_SIZE")),
    ("sim: maxNotional 0 disabled NOTIONAL", _market({
        "filterType": "NOTIONAL", "minNotional": "1", "applyMinToMarket": True, "maxNotional": "0",
        "applyMaxToMarket": True, "avgPriceMins": 5}),
     _order("LIMIT", quantity="1", price="100"), (-1013, "Filter failure: NOTIONAL")),
    ("sim: empty permissions refused", _market(permissions=[]),
     _order("LIMIT", quantity="1", price="100"), None),
    ("sim: MAX_POSITION skipped a BUY of ~0", _market({"filterType": "MAX_POSITION", "maxPosition": "1"},
                                                      held="2"),
     _order("MARKET", quote_order_qty="0.00000001"), (-1013, "Filter failure: MAX_POSITION")),
    ("sim: 28-digit context overflowed", _market(), _order("LIMIT", quantity="1000000000000000",
                                                           price="100000000"), None),
]


@pytest.mark.parametrize("why, market, request_, expected", EDGE_CASES,
                         ids=[f"{n}-{case[0]}" for n, case in enumerate(EDGE_CASES)])
def test_edge_cases_agree(why, market, request_, expected):
    twin = Twin(market)
    params = wire(request_)
    daemon, sim = twin.daemon_verdict(request_), twin.sim_verdict(params)
    assert sim == expected
    assert agree(daemon, sim) == (True, ""), (why, daemon, sim)
    if expected is not None:
        assert daemon[0] in codes_for(*expected)


def test_open_orders_and_position_reach_both_sides_alike():
    """The resting orders count on both sides: at the limit, one more is refused by both."""
    resting = (Resting(SYMBOL, "BUY", "LIMIT", D(1), price=D(90)),
               Resting(SYMBOL, "SELL", "STOP_LOSS", D(1), stop_price=D(50)),
               Resting(SYMBOL, "SELL", "LIMIT", D(4), price=D(300), iceberg_qty=D(2)),
               Resting(OTHER, "BUY", "STOP_LOSS", D(1), stop_price=D(1000)))
    market = _market({"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 4},
                     {"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": 1},
                     {"filterType": "MAX_NUM_ICEBERG_ORDERS", "maxNumIcebergOrders": 1},
                     {"filterType": "MAX_POSITION", "maxPosition": "9"}, held="2", resting=resting,
                     exchange_filters=({"filterType": "EXCHANGE_MAX_NUM_ALGO_ORDERS",
                                        "maxNumAlgoOrders": 3},))
    twin = Twin(market)
    cases = [
        (_order("LIMIT", quantity="1", price="99"), None),  # position 2 + 5 locked + 1 open + 1 = 9
        (_order("LIMIT", quantity="1.1", price="99"), (-1013, "Filter failure: MAX_POSITION")),
        (_order("LIMIT", "SELL", quantity="1", price="120", iceberg_qty="0.5"),
         (-1013, "Filter failure: MAX_NUM_ICEBERG_ORDERS")),
        (_order("STOP_LOSS", "SELL", quantity="1", stop_price="80"),
         (-1013, "Filter failure: MAX_NUM_ALGO_ORDERS")),
    ]
    for request, expected in cases:
        params = wire(request)
        daemon, sim = twin.daemon_verdict(request), twin.sim_verdict(params)
        assert sim == expected, (params, sim)
        assert agree(daemon, sim) == (True, ""), (params, daemon, sim)
    full = _market({"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 3}, resting=resting)
    request = _order("LIMIT", quantity="1", price="99")
    twin = Twin(full)
    assert twin.sim_verdict(wire(request)) == (-1013, "Filter failure: MAX_NUM_ORDERS")
    assert twin.daemon_verdict(request) == [RejectCode.MAX_NUM_ORDERS]


def test_the_mapping_names_every_answer_it_is_given():
    assert codes_for(-1013, "Filter failure: LOT_SIZE") == {RejectCode.LOT_SIZE}
    assert codes_for(-1102, "Mandatory parameter 'price' was not sent, was empty/null, or malformed.") == {
        RejectCode.INVALID_PARAMETERS}
    assert codes_for(-2010, "Order would trigger immediately.") == {RejectCode.STOP_PRICE_DIRECTION}
    with pytest.raises(KeyError):
        codes_for(-2010, "Account has insufficient balance for requested action.")  # excluded
    assert agree([], None) == (True, "")
    assert agree([RejectCode.LOT_SIZE], None)[0] is False
    assert agree([], (-1013, "Filter failure: LOT_SIZE"))[0] is False
    assert agree([RejectCode.PRICE_FILTER], (-1013, "Filter failure: LOT_SIZE"))[0] is False
    assert agree([RejectCode.PRICE_FILTER, RejectCode.LOT_SIZE], (-1013, "Filter failure: LOT_SIZE"))[0]
    assert agree([RejectCode.LOT_SIZE], (-2010, "Duplicate order sent."))[0] is False


def test_twin_state_is_what_the_daemon_reads():
    """The drawn market is the exchange's: its rules as drawn, every resting order open."""
    for seed in range(20):
        market = draw_market(Seeded(seed))
        twin = Twin(market)
        info = msgspec.json.decode(msgspec.json.encode(twin.exchange.spec(SYMBOL).info()))
        assert info["filters"] == market.entry["filters"]
        assert sorted((o.symbol, o.side, o.type, o.quantity) for o in twin.open_orders) == sorted(
            (r.symbol, r.side, r.order_type, r.quantity) for r in market.resting)
        sold = sum((r.quantity for r in market.resting if r.symbol == SYMBOL and r.side == "SELL"), D(0))
        free, locked = twin.balances.get(BASE, (D(0), D(0)))
        assert (free, locked) == (market.base_held, sold)
        last = market.trades[-1][0] if market.trades else D(market.entry["simInitialPrice"])
        assert twin.exchange.last_price(SYMBOL) == last
