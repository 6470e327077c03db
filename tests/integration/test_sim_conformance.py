"""The simulator's REST answers against the response shapes of binance-api-swagger's spot_api.yaml.

Every endpoint the swagger file describes and the simulator serves is called with
valid parameters; the answer must be HTTP 200 and match the 200 response schema.
The swagger file is of 2024 and the simulator follows the 2022 seed plus
today's additional fields; the fields it cannot truthfully give are listed in
``LATER_THAN_THE_SEED`` (with the reason), and two errors of the swagger file
itself in ``SWAGGER_ERRATA``.  Anything else that departs from the file fails the test.

Skips when ``../shared/reference/binance-api-swagger`` or PyYAML is missing, and
per endpoint when the simulator does not serve it (404).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
import trio

from sim import SimConfig, run_simulator

yaml = pytest.importorskip("yaml")

from openapi_shapes import Spec  # noqa: E402

SPEC_PATH = (Path(__file__).resolve().parents[2].parent / "shared" / "reference"
             / "binance-api-swagger" / "spot_api.yaml")
pytestmark = [pytest.mark.shared,
              pytest.mark.skipif(not SPEC_PATH.is_file(), reason="swagger file not available")]

# Fields the 2024 file requires that the simulator cannot truthfully give, each with why.
# Everything else Binance added after the 2022 seed (STP mode, workingTime, transactTime on
# cancel, commissionRates, uid, avgPrice closeTime, ...) is rendered and checked.
LATER_THAN_THE_SEED: dict[str, str] = {
    "$.tradingAuthorityExpirationTime": "apiRestrictions: sent only for keys whose trading "
                                        "permission expires; the sim's keys never expire",
}
# Errors of the swagger file: aggTrade "T" is typed boolean (its example is a timestamp);
# allOrderList reuses the margin list schema (isIsolated); apiTradingStatus "indicators" is a
# map by symbol, but the file makes its example key BTCUSDT a required property.
SWAGGER_ERRATA = re.compile(r"^\$\[\*\]\.T: expected boolean, got int|^\$\[\*\]\.isIsolated: missing"
                            r"|^\$\.data\.indicators\.BTCUSDT: missing")
_INDEX_RE = re.compile(r"\[\d+\]")


def signed(secret: str, params: dict[str, str]) -> str:
    payload = urlencode({**params, "timestamp": str(int(time.time() * 1000))})
    signature = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
    return f"{payload}&signature={signature}"


def unexplained(errors: list[str], body: object) -> list[str]:
    """The errors neither a later field, nor a swagger erratum, nor a non-PRICE_FILTER filter."""
    left = []
    for error in errors:
        where, _, problem = error.partition(": ")
        general = _INDEX_RE.sub("[*]", where)
        filters = re.match(r"^\$\.symbols\[(\d+)\]\.filters\[(\d+)\]\.", where)
        if filters and isinstance(body, dict):
            entry = body["symbols"][int(filters[1])]["filters"][int(filters[2])]
            if entry["filterType"] != "PRICE_FILTER":  # the file describes PRICE_FILTER only
                continue
        if problem == "missing" and general in LATER_THAN_THE_SEED:
            continue
        if SWAGGER_ERRATA.match(f"{general}: {problem}"):
            continue
        left.append(error)
    return left


@pytest.fixture(scope="module")
def spec() -> Spec:
    return Spec(yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8")))


class Caller:
    def __init__(self, http: httpx.AsyncClient, secret: str, spec: Spec) -> None:
        self.http, self.secret, self.spec = http, secret, spec
        self.checked: list[str] = []
        self.not_served: list[str] = []
        self.not_described: list[str] = []
        self.failures: list[str] = []

    async def __call__(self, method: str, path: str, params: dict[str, str] | None = None, *,
                       sign: bool = False) -> object:
        params = params or {}
        query = signed(self.secret, params) if sign else urlencode(params)
        answer = await self.http.request(method, f"{path}?{query}")
        label = f"{method} {path} {params.get('newOrderRespType', '')}".strip()
        if answer.status_code == 404:
            self.not_served.append(label)
            return None
        body = answer.json()
        if answer.status_code != 200:
            self.failures.append(f"{label}: HTTP {answer.status_code} {body}")
            return body
        schema = self.spec.response_schema(path, method)
        if schema is None:  # e.g. POST /api/v3/order/oco: gone from the 2024 file
            self.not_described.append(label)
            return body
        self.checked.append(label)
        self.failures.extend(f"{label}: {e}" for e in unexplained(self.spec.check(schema, body), body))
        return body


async def test_rest_answers_have_the_swagger_shapes(nursery, spec):
    sim = await nursery.start(run_simulator, SimConfig(participant_interval_ms=20))
    await trio.sleep(0.5)  # some public trades first
    async with httpx.AsyncClient(base_url=sim.rest_url, headers={"X-MBX-APIKEY": sim.api_key},
                                 timeout=10) as http:
        call = Caller(http, sim.api_secret, spec)
        btc = {"symbol": "BTCUSDT"}
        await call("GET", "/api/v3/ping")
        await call("GET", "/api/v3/time")
        await call("GET", "/api/v3/exchangeInfo", btc)
        await call("GET", "/api/v3/exchangeInfo")
        depth = await call("GET", "/api/v3/depth", {**btc, "limit": "5"})
        for path in ("trades", "historicalTrades", "aggTrades"):
            await call("GET", f"/api/v3/{path}", {**btc, "limit": "5"})
        await call("GET", "/api/v3/klines", {**btc, "interval": "1m", "limit": "5"})
        await call("GET", "/api/v3/avgPrice", btc)
        for path in ("ticker/24hr", "ticker/price", "ticker/bookTicker"):
            await call("GET", f"/api/v3/{path}", btc)
            await call("GET", f"/api/v3/{path}")
        assert isinstance(depth, dict)
        bid, ask = Decimal(depth["bids"][0][0]), Decimal(depth["asks"][0][0])
        limit = {**btc, "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.001",
                 "price": str((bid * Decimal("0.99")).quantize(Decimal("0.01")))}
        await call("POST", "/api/v3/order/test", limit, sign=True)
        ack = await call("POST", "/api/v3/order", {**limit, "newOrderRespType": "ACK"}, sign=True)
        await call("POST", "/api/v3/order", {**limit, "newOrderRespType": "RESULT"}, sign=True)
        await call("POST", "/api/v3/order", {**btc, "side": "BUY", "type": "MARKET",
                                             "quantity": "0.001", "newOrderRespType": "FULL"},
                   sign=True)
        assert isinstance(ack, dict)
        await call("GET", "/api/v3/order", {**btc, "orderId": str(ack["orderId"])}, sign=True)
        await call("GET", "/api/v3/openOrders", btc, sign=True)
        await call("GET", "/api/v3/allOrders", btc, sign=True)
        await call("DELETE", "/api/v3/order", {**btc, "orderId": str(ack["orderId"])}, sign=True)
        await call("DELETE", "/api/v3/openOrders", btc, sign=True)
        stop = (bid * Decimal("0.98")).quantize(Decimal("0.01"))
        oco = await call("POST", "/api/v3/order/oco", {
            **btc, "side": "SELL", "quantity": "0.001",
            "price": str((ask * Decimal("1.02")).quantize(Decimal("0.01"))),
            "stopPrice": str(stop), "stopLimitPrice": str(stop - Decimal("1")),
            "stopLimitTimeInForce": "GTC"}, sign=True)
        if isinstance(oco, dict) and "orderListId" in oco:
            await call("GET", "/api/v3/orderList", {"orderListId": str(oco["orderListId"])},
                       sign=True)
        for path in ("allOrderList", "openOrderList", "account", "rateLimit/order"):
            await call("GET", f"/api/v3/{path}", sign=True)
        await call("GET", "/api/v3/myTrades", btc, sign=True)
        key = await call("POST", "/api/v3/userDataStream")
        if isinstance(key, dict):
            await call("PUT", "/api/v3/userDataStream", {"listenKey": key["listenKey"]})
            await call("DELETE", "/api/v3/userDataStream", {"listenKey": key["listenKey"]})
        await call("GET", "/sapi/v1/system/status")
        for path, params in (("account/status", {}), ("account/apiTradingStatus", {}),
                             ("capital/config/getall", {}), ("asset/tradeFee", {}),
                             ("accountSnapshot", {"type": "SPOT"}), ("asset/dribblet", {}),
                             ("account/apiRestrictions", {})):
            await call("GET", f"/sapi/v1/{path}", params, sign=True)
    sim.shutdown()
    assert call.failures == []
    # The core the daemon depends on is always served and checked.
    assert {"GET /api/v3/exchangeInfo", "GET /api/v3/depth", "POST /api/v3/order FULL",
            "GET /api/v3/account", "DELETE /api/v3/order"} <= set(call.checked)
    assert len(call.checked) >= 20, call.not_served


def test_the_checker_finds_what_it_must(spec):
    """The checker itself: a wrong type, a missing field and a bad enum are all reported."""
    schema = spec.response_schema("/api/v3/depth", "GET")
    assert spec.check(schema, {"lastUpdateId": 1, "bids": [["1", "2"]], "asks": []}) == []
    assert spec.check(schema, {"lastUpdateId": "1", "bids": [], "asks": []}) == [
        "$.lastUpdateId: expected integer, got str '1'"]
    assert spec.check(schema, {"bids": [[1, "2"]], "asks": []}) == [
        "$.lastUpdateId: missing", "$.bids[0][0]: expected string, got int 1"]
    order = spec.response_schema("/api/v3/order", "POST")
    assert spec.check(order, {"symbol": "X"}) != []  # matches none of ACK, RESULT, FULL
