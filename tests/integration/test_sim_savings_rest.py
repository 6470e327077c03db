"""Savings over loopback: the seed's lending API and today's Simple Earn share one ledger."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
import pytest
import trio
from test_sim_wallet_rest import WAIT_S, Client
from websockets.trio.client import connect

from sim import SimConfig, SimHandle, run_simulator

LENDING = "/sapi/v1/lending/daily"
EARN = "/sapi/v1/simple-earn/flexible"


async def start(nursery, **config) -> tuple[SimHandle, httpx.AsyncClient]:
    handle = await nursery.start(run_simulator, SimConfig(participant_interval_ms=200, **config))
    http = httpx.AsyncClient(base_url=handle.rest_url, headers={"X-MBX-APIKEY": handle.api_key},
                             timeout=10)
    return handle, http


@pytest.fixture
async def sim(nursery):
    handle, http = await start(nursery)
    async with http:
        yield handle, Client(http, handle.api_secret)
    handle.shutdown()


async def test_product_lists_in_both_shapes(sim):
    _, client = sim
    products = (await client.get(f"{LENDING}/product/list")).json()
    usdt = next(p for p in products if p["asset"] == "USDT")
    assert set(usdt) == {"asset", "avgAnnualInterestRate", "canPurchase", "canRedeem",
                         "dailyInterestPerThousand", "featured", "minPurchaseAmount", "productId",
                         "purchasedAmount", "status", "upLimit", "upLimitPerUser"}
    assert (usdt["productId"], usdt["status"], usdt["purchasedAmount"]) == ("USDT001", "PURCHASING",
                                                                             "0.00000000")
    paged = (await client.get(f"{LENDING}/product/list", {"current": "2", "size": "3"})).json()
    assert len(paged) == len(products) - 3
    assert (await client.get(f"{LENDING}/product/list", {"status": "UNSUBSCRIBABLE"})).json() == []
    earn = (await client.get(f"{EARN}/list", {"asset": "BTC"})).json()
    assert earn["total"] == 1
    (row,) = earn["rows"]
    assert set(row) == {"asset", "latestAnnualPercentageRate", "tierAnnualPercentageRate",
                        "airDropPercentageRate", "canPurchase", "canRedeem", "isSoldOut", "hot",
                        "minPurchaseAmount", "productId", "subscriptionStartTime", "status"}
    assert row["productId"] == "BTC001" and row["tierAnnualPercentageRate"] == {"0-50BTC": 0.01}
    assert isinstance(row["subscriptionStartTime"], str)


async def test_one_position_through_both_apis_with_balance_updates(sim):
    handle, client = sim
    key = (await client.http.post("/api/v3/userDataStream")).json()["listenKey"]
    async with connect(f"{handle.stream_url}/ws/{key}") as ws:
        bought = await client.post(f"{LENDING}/purchase", {"productId": "USDT001", "amount": "400"})
        assert set(bought.json()) == {"purchaseId"}
        with trio.fail_after(WAIT_S):
            update = json.loads(await ws.recv())
        assert (update["e"], update["a"], update["d"]) == ("balanceUpdate", "USDT", "-400.00000000")
        more = await client.post(f"{EARN}/subscribe", {"productId": "USDT001", "amount": "100",
                                                       "autoSubscribe": "false"})
        assert more.json()["success"] is True and isinstance(more.json()["purchaseId"], int)

        (lending,) = (await client.get(f"{LENDING}/token/position", {"asset": "USDT"})).json()
        assert Decimal(lending["totalAmount"]) >= Decimal("500")
        assert lending["todayPurchasedAmount"] == "500.00000000"
        earn = (await client.get(f"{EARN}/position", {"productId": "USDT001"})).json()
        (row,) = earn["rows"]
        assert earn["total"] == 1 and row["autoSubscribe"] is False
        assert row["totalAmount"] == lending["freeAmount"]
        left = (await client.get(f"{LENDING}/userLeftQuota", {"productId": "USDT001"})).json()
        assert Decimal(left["leftQuota"]) == Decimal("2000000") - Decimal(lending["totalAmount"])

        quota = (await client.get(f"{LENDING}/userRedemptionQuota",
                                  {"productId": "USDT001", "type": "FAST"})).json()
        assert set(quota) == {"asset", "dailyQuota", "leftQuota", "minRedemptionAmount"}
        fast = await client.post(f"{LENDING}/redeem", {"productId": "USDT001", "amount": "50",
                                                       "type": "FAST"})
        assert fast.json() == {}
        with trio.fail_after(WAIT_S):
            while (update := json.loads(await ws.recv()))["e"] != "balanceUpdate" or update["d"][0] == "-":
                pass
        assert update["d"] == "50.00000000"
        normal = await client.post(f"{LENDING}/redeem", {"productId": "USDT001", "amount": "25",
                                                         "type": "NORMAL"})
        assert normal.json() == {}
        (lending,) = (await client.get(f"{LENDING}/token/position", {"asset": "USDT"})).json()
        assert lending["redeemingAmount"] == "25.00000000"
        emptied = await client.post(f"{EARN}/redeem", {"productId": "USDT001", "redeemAll": "true"})
        assert emptied.json()["success"] is True
        assert (await client.get(f"{EARN}/position")).json() == {"rows": [], "total": 0}


async def test_savings_errors(sim):
    _, client = sim
    cases = [
        (f"{LENDING}/purchase", {"productId": "NOPE001", "amount": "1"}, -6001),
        (f"{LENDING}/purchase", {"productId": "USDT001", "amount": "0.01"}, -6005),
        (f"{LENDING}/purchase", {"productId": "USDT001", "amount": "2000000.1"}, -6011),
        (f"{LENDING}/purchase", {"productId": "BTC001", "amount": "1"}, -6012),
        (f"{LENDING}/purchase", {"productId": "USDT001"}, -1102),
        (f"{LENDING}/redeem", {"productId": "USDT001", "amount": "1", "type": "FAST"}, -6006),
        (f"{LENDING}/redeem", {"productId": "USDT001", "amount": "1", "type": "SLOW"}, -1130),
        (f"{EARN}/subscribe", {"productId": "USDT001", "amount": "1", "sourceAccount": "BANK"}, -1130),
    ]
    for path, params, code in cases:
        answer = await client.post(path, params)
        assert answer.json()["code"] == code, (path, params, answer.text)
    ok = await client.post(f"{EARN}/subscribe", {"productId": "USDT001", "amount": "1"})
    assert ok.status_code == 200
    throttled = await client.post(f"{EARN}/subscribe", {"productId": "USDT001", "amount": "1"})
    assert throttled.json() == {"code": -6009, "msg": "Request frequency too high"}


async def test_a_normal_redemption_arrives_by_itself_a_simulated_day_later(nursery):
    handle, http = await start(nursery, time_factor=86400 / 1.5)  # a simulated day: 1.5 s
    async with http:
        client = Client(http, handle.api_secret)
        await client.post(f"{LENDING}/purchase", {"productId": "BTC001", "amount": "0.2"})
        await client.post(f"{LENDING}/redeem", {"productId": "BTC001", "amount": "0.2", "type": "NORMAL"})
        account = handle.exchange.default_account
        assert account.balance("BTC").free == Decimal("0.3")
        with trio.fail_after(WAIT_S):  # no wallet request meanwhile: the background tick pays
            while account.balance("BTC").free == Decimal("0.3"):
                await trio.sleep(0.05)
        assert account.balance("BTC").free == Decimal("0.5")
        spot = (await client.get("/api/v3/account")).json()["balances"]
        assert {"asset": "BTC", "free": "0.50000000", "locked": "0.00000000"} in spot
    handle.shutdown()


async def test_interest_accrues_in_simulated_time(nursery):
    handle, http = await start(nursery, time_factor=1440.0)  # a simulated day per real minute
    async with http:
        client = Client(http, handle.api_secret)
        began = trio.current_time()
        await client.post(f"{EARN}/subscribe", {"productId": "USDT001", "amount": "1000"})
        await trio.sleep(1.0)  # at least 24 simulated minutes
        (row,) = (await client.get(f"{EARN}/position")).json()["rows"]
        most_minutes = int((trio.current_time() - began) * 24) + 1
        earned = Decimal(row["cumulativeRealTimeRewards"])
        per_minute = Decimal(1000) * Decimal("0.05") / (365 * 24 * 60)
        assert per_minute * 22 < earned < per_minute * (most_minutes + 1)
        assert Decimal(row["totalAmount"]) == Decimal(1000) + earned
        (lending,) = (await client.get(f"{LENDING}/token/position", {"asset": "USDT"})).json()
        assert Decimal(lending["totalInterest"]) >= earned
    handle.shutdown()
