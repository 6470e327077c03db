"""Request weights of /api/v3 per the seed (sim.weights), parameter-dependent ones included."""

from __future__ import annotations

import pytest

from sim.weights import ORDER_COUNTS, WEIGHTS, weight_of


@pytest.mark.parametrize(("limit", "weight"), [
    (None, 1), ("5", 1), ("100", 1), ("500", 5), ("1000", 10), ("5000", 50), ("oops", 1)])
def test_depth_weight_follows_the_seed_table(limit, weight):
    params = {"symbol": "BTCUSDT"} if limit is None else {"symbol": "BTCUSDT", "limit": limit}
    assert weight_of("GET", "/api/v3/depth", params) == weight


@pytest.mark.parametrize(("path", "single", "every"), [
    ("/api/v3/ticker/24hr", 1, 40), ("/api/v3/ticker/price", 1, 2),
    ("/api/v3/ticker/bookTicker", 1, 2), ("/api/v3/openOrders", 3, 40)])
def test_with_and_without_symbol(path, single, every):
    assert weight_of("GET", path, {"symbol": "BTCUSDT"}) == single
    assert weight_of("GET", path, {}) == every


def test_ticker_24hr_by_number_of_symbols():
    names = lambda n: "[" + ",".join(f'"S{i}"' for i in range(n)) + "]"  # noqa: E731
    assert [weight_of("GET", "/api/v3/ticker/24hr", {"symbols": names(n)})
            for n in (1, 20, 21, 100, 101)] == [1, 1, 20, 20, 40]
    assert weight_of("GET", "/api/v3/ticker/price", {"symbols": names(3)}) == 2


def test_every_api_v3_endpoint_has_its_weight_and_unknown_paths_are_not_ours():
    assert weight_of("GET", "/api/v3/exchangeInfo", {}) == 10
    assert weight_of("post", "/api/v3/order", {}) == 1
    assert weight_of("GET", "/api/v3/order", {}) == 2
    assert weight_of("GET", "/api/v3/rateLimit/order", {}) == 20
    assert weight_of("GET", "/api/v3/historicalTrades", {}) == 5
    assert weight_of("GET", "/sapi/v1/capital/config/getall", {}) is None
    assert len(WEIGHTS) == 30 and all(key.split()[1].startswith("/api/v3/") for key in WEIGHTS)
    assert ORDER_COUNTS == {"POST /api/v3/order": 1, "POST /api/v3/order/oco": 2}
