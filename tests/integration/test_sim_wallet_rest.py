"""The simulator's Binance wallet endpoints (``/sapi/v1``) over loopback: shapes, rules, events.

Requests are signed by the test's own helper, as in ``test_sim_server``; the
user-data stream is read with ``websockets.trio`` (the server may close it).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from decimal import Decimal
from urllib.parse import urlencode

import httpx
import pytest
import trio
from websockets.trio.client import connect

from sim import SimConfig, SimHandle, run_simulator

WAIT_S = 20
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def signed(secret: str, params: dict[str, str] | list[tuple[str, str]] = ()) -> str:
    pairs = list(params.items()) if isinstance(params, dict) else list(params)
    payload = urlencode([*pairs, ("timestamp", str(int(time.time() * 1000)))])
    signature = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
    return f"{payload}&signature={signature}"


class Client:
    """A signed client for one simulator account."""

    def __init__(self, http: httpx.AsyncClient, secret: str) -> None:
        self.http, self.secret = http, secret

    async def get(self, path: str, params=()) -> httpx.Response:
        return await self.http.get(f"{path}?{signed(self.secret, params)}")

    async def post(self, path: str, params=()) -> httpx.Response:
        return await self.http.post(path, content=signed(self.secret, params), headers=FORM)


@pytest.fixture
async def sim(nursery) -> SimHandle:
    config = SimConfig(participant_interval_ms=50,
                       balances={"USDT": "1000", "BTC": "0.5", "ETH": "0.002", "BNB": "1"})
    handle = await nursery.start(run_simulator, config)
    yield handle
    handle.shutdown()


@pytest.fixture
async def client(sim):
    async with httpx.AsyncClient(base_url=sim.rest_url, headers={"X-MBX-APIKEY": sim.api_key},
                                 timeout=10) as http:
        yield Client(http, sim.api_secret)


async def test_status_endpoints_and_signed_request_errors(sim, client):
    assert (await client.http.get("/sapi/v1/system/status")).json() == {"status": 0, "msg": "normal"}
    sim.exchange.wallet.maintenance = True
    assert (await client.http.get("/sapi/v1/system/status")).json() == {
        "status": 1, "msg": "system_maintenance"}
    assert (await client.get("/sapi/v1/account/status")).json() == {"data": "Normal"}
    trading = (await client.get("/sapi/v1/account/apiTradingStatus")).json()["data"]
    assert trading["isLocked"] is False
    assert trading["triggerCondition"] == {"GCR": 150, "IFER": 150, "UFR": 300}
    restrictions = (await client.get("/sapi/v1/account/apiRestrictions")).json()
    assert restrictions["permitsUniversalTransfer"] is True and restrictions["enableWithdrawals"] is False
    assert isinstance(restrictions["createTime"], int)

    unsigned = await client.http.get("/sapi/v1/account/status")
    assert unsigned.status_code == 400 and unsigned.json()["code"] == -1102
    forged = await client.http.get(f"/sapi/v1/account/status?{signed('wrong-secret')}")
    assert forged.json() == {"code": -1022, "msg": "Signature for this request is not valid."}
    stranger = await client.http.get(f"/sapi/v1/account/status?{signed(sim.api_secret)}",
                                     headers={"X-MBX-APIKEY": "B" * 64})
    assert stranger.status_code == 401 and stranger.json()["code"] == -2015
    stale = "timestamp=1000&recvWindow=5000"
    stale += "&signature=" + hmac.new(sim.api_secret.encode(), stale.encode(), hashlib.sha256).hexdigest()
    assert (await client.http.get(f"/sapi/v1/account/status?{stale}")).json()["code"] == -1021


async def test_coins_trade_fee_and_funding_wallet(sim, client):
    coins = {c["coin"]: c for c in (await client.get("/sapi/v1/capital/config/getall")).json()}
    assert set(coins) == {"BNB", "BTC", "ETH", "USDT"}
    assert coins["BTC"]["free"] == "0.50000000" and coins["BTC"]["name"] == "Bitcoin"
    defaults = [n["network"] for n in coins["USDT"]["networkList"] if n["isDefault"]]
    assert defaults == ["TRX"]
    fees = (await client.get("/sapi/v1/asset/tradeFee")).json()
    assert {"symbol": "BTCUSDT", "makerCommission": "0.001", "takerCommission": "0.001"} in fees
    one = (await client.get("/sapi/v1/asset/tradeFee", {"symbol": "ETHBTC"})).json()
    assert [f["symbol"] for f in one] == ["ETHBTC"]
    assert (await client.get("/sapi/v1/asset/tradeFee", {"symbol": "NOPE"})).json()["code"] == -1121

    assert (await client.post("/sapi/v1/asset/get-funding-asset")).json() == []
    moved = await client.post("/sapi/v1/asset/transfer", {"type": "MAIN_FUNDING", "asset": "BTC",
                                                          "amount": "0.25"})
    assert set(moved.json()) == {"tranId"}
    funding = (await client.post("/sapi/v1/asset/get-funding-asset",
                                 {"asset": "BTC", "needBtcValuation": "true"})).json()
    assert funding == [{"asset": "BTC", "free": "0.25", "locked": "0", "freeze": "0",
                        "withdrawing": "0", "btcValuation": "0.25"}]
    plain = (await client.post("/sapi/v1/asset/get-funding-asset", {"asset": "USDT"})).json()
    assert plain == []


async def test_transfer_rules_history_and_balance_updates_on_the_user_stream(sim, client):
    key = (await client.http.post("/api/v3/userDataStream")).json()["listenKey"]
    async with connect(f"{sim.stream_url}/ws/{key}") as ws:
        answer = await client.post("/sapi/v1/asset/transfer",
                                   {"type": "MAIN_UMFUTURE", "asset": "USDT", "amount": "125.5"})
        assert answer.status_code == 200, answer.text
        with trio.fail_after(WAIT_S):
            update = json.loads(await ws.recv())
            position = json.loads(await ws.recv())
        assert (update["e"], update["a"], update["d"]) == ("balanceUpdate", "USDT", "-125.50000000")
        assert position["e"] == "outboundAccountPosition"
        assert position["B"] == [{"a": "USDT", "f": "874.50000000", "l": "0.00000000"}]
        back = await client.post("/sapi/v1/asset/transfer",
                                 {"type": "UMFUTURE_MAIN", "asset": "USDT", "amount": "0.5"})
        assert back.status_code == 200
        with trio.fail_after(WAIT_S):
            update = json.loads(await ws.recv())
        assert (update["e"], update["d"]) == ("balanceUpdate", "0.50000000")

    errors = {
        -1102: {"type": "ISOLATEDMARGIN_MARGIN", "asset": "BTC", "amount": "0.1"},
        -1128: {"type": "MAIN_MARGIN", "asset": "BTC", "amount": "0.1", "toSymbol": "BTCUSDT"},
        -3027: {"type": "MAIN_ISOLATED_MARGIN", "asset": "ETH", "amount": "0.001", "toSymbol": "BTCUSDT"},
        -3028: {"type": "MARGIN_ISOLATEDMARGIN", "asset": "BTC", "amount": "0.1", "toSymbol": "XRPUSDT"},
        -5002: {"type": "MAIN_FUNDING", "asset": "BTC", "amount": "0.6"},
        -5007: {"type": "MAIN_FUNDING", "asset": "BTC", "amount": "0"},
        -1130: {"type": "SIDEWAYS", "asset": "BTC", "amount": "0.1"},
    }
    for code, params in errors.items():
        refused = await client.post("/sapi/v1/asset/transfer", params)
        assert (refused.status_code, refused.json()["code"]) == (400, code), params

    isolated = await client.post("/sapi/v1/asset/transfer", {
        "type": "MAIN_ISOLATED_MARGIN", "asset": "BTC", "amount": "0.1", "toSymbol": "BTCUSDT"})
    assert isolated.status_code == 200
    history = (await client.get("/sapi/v1/asset/transfer", {"type": "MAIN_UMFUTURE"})).json()
    assert history["total"] == 1 and history["rows"][0]["amount"] == "125.5"
    assert set(history["rows"][0]) == {"asset", "amount", "type", "status", "tranId", "timestamp"}
    assert history["rows"][0]["status"] == "CONFIRMED"
    none = (await client.get("/sapi/v1/asset/transfer", {"type": "MAIN_UMFUTURE", "current": "2"})).json()
    assert none == {"total": 1, "rows": []}
    needs_symbol = await client.get("/sapi/v1/asset/transfer", {"type": "MAIN_ISOLATED_MARGIN"})
    assert needs_symbol.json()["code"] == -1102
    by_symbol = (await client.get("/sapi/v1/asset/transfer", {"type": "MAIN_ISOLATED_MARGIN",
                                                              "toSymbol": "BTCUSDT"})).json()
    assert by_symbol["total"] == 1
    too_big = await client.get("/sapi/v1/asset/transfer", {"type": "MAIN_UMFUTURE", "size": "101"})
    assert too_big.json()["code"] == -1130


async def test_dust_listing_conversion_and_log(sim, client):
    listing = (await client.post("/sapi/v1/asset/dust-btc")).json()
    assert [d["asset"] for d in listing["details"]] == ["ETH"]  # 0.002 ETH; the rest is not dust
    eth = listing["details"][0]
    assert eth["amountFree"] == "0.00200000" and listing["dribbletPercentage"] == "0.02"
    assert Decimal(eth["toBNBOffExchange"]) + Decimal(eth["exchange"]) == Decimal(eth["toBNB"])

    over = await client.post("/sapi/v1/asset/dust", [("asset", "ETH"), ("asset", "USDT")])
    assert over.json()["code"] == -5004  # 1000 USDT is no dust: nothing converts
    converted = await client.post("/sapi/v1/asset/dust", [("asset", "ETH")])
    assert converted.status_code == 200, converted.text
    body = converted.json()
    (line,) = body["transferResult"]
    assert line["fromAsset"] == "ETH" and line["amount"] == "0.00200000"
    assert body["totalTransfered"] == line["transferedAmount"]
    account = sim.exchange.default_account
    assert account.balance("ETH").free == 0
    assert account.balance("BNB").free == Decimal("1") + Decimal(line["transferedAmount"])
    again = await client.post("/sapi/v1/asset/dust", [("asset", "ETH")])
    assert again.json() == {"code": -5006, "msg": "Only transfer once in 24 hours."}
    log = (await client.get("/sapi/v1/asset/dribblet")).json()
    assert log["total"] == 1
    assert log["userAssetDribblets"][0]["userAssetDribbletDetails"][0]["fromAsset"] == "ETH"
    repeated_elsewhere = await client.get("/sapi/v1/account/status", [("a", "1"), ("a", "2")])
    assert repeated_elsewhere.json()["code"] == -1101


async def test_the_24_hour_dust_rule_runs_on_simulated_time(nursery):
    config = SimConfig(time_factor=86400 / 1.5,  # a simulated day lasts 1.5 real seconds
                       balances={"USDT": "5", "BTC": "0.5", "BNB": "1"})
    handle = await nursery.start(run_simulator, config)
    async with httpx.AsyncClient(base_url=handle.rest_url, headers={"X-MBX-APIKEY": handle.api_key},
                                 timeout=10) as http:
        client = Client(http, handle.api_secret)
        assert (await client.post("/sapi/v1/asset/dust", [("asset", "USDT")])).status_code == 200
        handle.exchange.default_account.credit("USDT", Decimal("2"))
        assert (await client.post("/sapi/v1/asset/dust", [("asset", "USDT")])).json()["code"] == -5006
        await trio.sleep(1.6)
        later = await client.post("/sapi/v1/asset/dust", [("asset", "USDT")])
        assert later.status_code == 200 and later.json()["transferResult"][0]["amount"] == "2.00000000"
        # Simulated days passed, so the daily snapshots are there too.
        snapshots = (await client.get("/sapi/v1/accountSnapshot", {"type": "SPOT", "limit": "30"})).json()
        assert snapshots["code"] == 200 and len(snapshots["snapshotVos"]) >= 2
    handle.shutdown()


async def test_account_snapshot_shapes(sim, client):
    spot = (await client.get("/sapi/v1/accountSnapshot", {"type": "SPOT"})).json()
    (vo,) = spot["snapshotVos"]
    assert (spot["code"], spot["msg"], vo["type"]) == (200, "", "spot")
    balances = {b["asset"]: b for b in vo["data"]["balances"]}
    assert balances["BTC"] == {"asset": "BTC", "free": "0.50000000", "locked": "0.00000000"}
    assert Decimal(vo["data"]["totalAssetOfBtc"]) > Decimal("0.5")
    margin = (await client.get("/sapi/v1/accountSnapshot", {"type": "MARGIN"})).json()
    assert margin["snapshotVos"][0]["data"]["totalLiabilityOfBtc"] == "0.00000000"
    futures = (await client.get("/sapi/v1/accountSnapshot", {"type": "FUTURES"})).json()
    assert futures["snapshotVos"][0]["data"] == {"assets": [], "position": []}
    wrong = await client.get("/sapi/v1/accountSnapshot", {"type": "OPTIONS"})
    assert wrong.json()["code"] == -1130
