"""The synthetic market's knobs: spread, level spacing, depth, trade rate, volatility."""

from __future__ import annotations

import math
import statistics
from decimal import Decimal as D

import pytest

from sim.config import SimConfig
from sim.exchange import Exchange
from sim.hub import Collector


def exchange(**knobs) -> Exchange:
    return Exchange(SimConfig(seed=21, **knobs), clock=lambda: 1_700_000_000_000)


def levels(ex: Exchange, symbol: str) -> tuple[list, list]:
    depth = ex.depth(symbol, 100)
    return ([(D(p), D(q)) for p, q in depth["bids"]], [(D(p), D(q)) for p, q in depth["asks"]])


@pytest.mark.parametrize("spread", [1, 2, 5])
def test_spread_in_ticks(spread):
    ex = exchange(spread_ticks=spread, taker_probability=0)
    tick = D("0.01")
    for _ in range(30):
        ex.step()
        bids, asks = levels(ex, "BTCUSDT")
        assert asks[0][0] - bids[0][0] == spread * tick
        mid = ex.market.mid("BTCUSDT")
        assert bids[0][0] < mid < asks[0][0] or spread == 1


def test_level_spacing_in_basis_points():
    ex = exchange(level_spacing_bps=4.0, taker_probability=0)
    ex.step()
    bids, asks = levels(ex, "ETHUSDT")
    mid = ex.market.mid("ETHUSDT")
    expected = (mid * D("0.0004") // D("0.01")) * D("0.01")
    assert len(bids) == len(asks) == 10
    assert {asks[n + 1][0] - asks[n][0] for n in range(9)} == {expected}
    assert {bids[n][0] - bids[n + 1][0] for n in range(9)} == {expected}


def test_depth_scale_multiplies_the_quoted_sizes():
    thin = exchange(taker_probability=0)
    deep = exchange(taker_probability=0, depth_scale="3")
    for ex in (thin, deep):
        ex.step()
    thin_total = sum(q for side in levels(thin, "BNBUSDT") for _, q in side)
    deep_total = sum(q for side in levels(deep, "BNBUSDT") for _, q in side)
    assert D("2.95") < deep_total / thin_total < D("3.05")


def test_takers_per_step_sets_the_trade_rate():
    def takers(n: int) -> int:
        ex = exchange(taker_probability=1.0, takers_per_step=n)
        log = Collector()
        ex.hub.subscribe("ethusdt@trade", log)
        for _ in range(20):
            ex.step()
        # The taker is the seller when the buyer was the maker ("m"), else the buyer.
        return len({e["a"] if e["m"] else e["b"] for e in log.payloads("trade")})

    one, three = takers(1), takers(3)
    assert one == 20 and three == 60  # distinct taker orders: one per taker per step
    quiet = exchange(taker_probability=1.0, takers_per_step=0)
    log = Collector()
    quiet.hub.subscribe("ethusdt@trade", log)
    for _ in range(10):
        quiet.step()
    assert log.events == []


@pytest.mark.parametrize("bps", [2.0, 10.0])
def test_volatility_is_the_standard_deviation_of_mid_steps(bps):
    ex = exchange(volatility_bps=bps, taker_probability=0, book_levels=1)
    mids = [ex.market.mid("ETHUSDT")]
    for _ in range(1500):
        ex.step()
        mids.append(ex.market.mid("ETHUSDT"))
    returns = [math.log(b / a) for a, b in zip(mids, mids[1:], strict=False)]
    assert statistics.stdev(returns) * 10_000 == pytest.approx(bps, rel=0.1)


def test_same_seed_and_knobs_same_market():
    first, second = exchange(spread_ticks=3, takers_per_step=2), exchange(spread_ticks=3,
                                                                          takers_per_step=2)
    for _ in range(25):
        first.step()
        second.step()
    assert first.depth("BTCUSDT", 50) == second.depth("BTCUSDT", 50)


@pytest.mark.parametrize("knobs", [
    {"spread_ticks": 0}, {"level_spacing_bps": -1}, {"depth_scale": "0"}, {"depth_scale": "x"},
    {"takers_per_step": -1}, {"replay_speed": 0}, {"stream_stats_interval_s": 0},
    {"stream_max_streams": 0}, {"stream_ping_interval_s": 0},
])
def test_bad_knobs_are_refused(knobs):
    with pytest.raises(ValueError):
        SimConfig(**knobs)
