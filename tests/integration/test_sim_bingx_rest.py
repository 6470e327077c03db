"""The BingX wallet API on the simulator's port: signing, envelope, errors, limits, transfers.

Requests are signed the way BingX's own sample code does it: parameters sorted
by name, ``timestamp`` appended, the hex HMAC-SHA256 appended as ``signature``,
everything in the query string (POST included), the key in ``X-BX-APIKEY``.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import time
from decimal import Decimal

import httpx
import pytest

from sim import SimConfig, SimHandle, run_simulator

BALANCES = {"fund": {"USDT": "1000", "BTC": "0.2"}, "spot": {"USDT": "300"},
            "USDTMPerp": {"USDT": "50"}}


def bingx_query(secret: str, params: dict[str, str], *, timestamp: int | None = None) -> str:
    text = "&".join(f"{k}={params[k]}" for k in sorted(params))
    stamp = f"timestamp={timestamp if timestamp is not None else int(time.time() * 1000)}"
    text = f"{text}&{stamp}" if text else stamp
    return f"{text}&signature={hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()}"


class BingxClient:
    def __init__(self, http: httpx.AsyncClient, secret: str) -> None:
        self.http, self.secret = http, secret

    async def call(self, method: str, path: str, params: dict[str, str] | None = None) -> dict:
        answer = await self.http.request(method, f"{path}?{bingx_query(self.secret, params or {})}")
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert set(body) == {"code", "msg", "data"}
        return body

    async def data(self, method: str, path: str, params: dict[str, str] | None = None):
        body = await self.call(method, path, params)
        assert body["code"] == 0, body
        return body["data"]


@pytest.fixture
async def sim(nursery) -> SimHandle:
    handle = await nursery.start(run_simulator, SimConfig(participant_interval_ms=200,
                                                          bingx_balances=BALANCES))
    yield handle
    handle.shutdown()


@pytest.fixture
def unlimited(sim):
    """Each reading of the limits' clock is a second later: the per-UID limits never bind."""
    sim.exchange.wallet.bingx.limiter.clock = itertools.count(0, 1000).__next__


@pytest.fixture
async def bingx(sim):
    async with httpx.AsyncClient(base_url=sim.rest_url, headers={"X-BX-APIKEY": sim.bingx_api_key},
                                 timeout=10) as http:
        yield BingxClient(http, sim.bingx_api_secret)


async def test_handle_carries_bingx_credentials(sim):
    assert len(sim.bingx_api_key) == 64 and len(sim.bingx_api_secret) == 64
    assert sim.bingx_api_key != sim.api_key
    assert sim.exchange.wallet.bingx.default.api_key == sim.bingx_api_key


async def test_balances_and_overview(sim, bingx, unlimited):
    spot = await bingx.data("GET", "/openApi/spot/v1/account/balance")
    assert spot == {"balances": [{"asset": "USDT", "displayName": "USDT", "free": "300", "locked": "0"}]}
    fund = await bingx.data("GET", "/openApi/fund/v1/account/balance", {"asset": "BTC"})
    assert fund == {"balances": [{"asset": "BTC", "displayName": "BTC", "free": "0.2", "locked": "0"}]}
    overview = {row["accountType"]: Decimal(row["usdtBalance"])
                for row in await bingx.data("GET", "/openApi/account/v1/allAccountBalance")}
    assert set(overview) == {"spot", "stdFutures", "coinMPerp", "USDTMPerp", "copyTrading", "grid",
                             "eran", "c2c"}
    assert overview["USDTMPerp"] == Decimal("50") and overview["grid"] == 0
    assert overview["spot"] > Decimal("1300")  # spot and fund: 1300 USDT plus 0.2 BTC at market
    one = await bingx.data("GET", "/openApi/account/v1/allAccountBalance", {"accountType": "USDTMPerp"})
    assert one == [{"accountType": "USDTMPerp", "usdtBalance": "50"}]
    wrong = await bingx.call("GET", "/openApi/account/v1/allAccountBalance", {"accountType": "moon"})
    assert wrong["code"] == 80014


async def test_signature_and_timestamp_errors_use_the_envelope(sim, bingx, unlimited):
    path = "/openApi/spot/v1/account/balance"
    forged = await bingx.http.get(f"{path}?{bingx_query('x' * 64, {})}")
    assert (forged.status_code, forged.json()) == (
        200, {"code": 100001, "msg": "Signature verification failed", "data": {}})
    stranger = await bingx.http.get(f"{path}?{bingx_query(sim.bingx_api_secret, {})}",
                                    headers={"X-BX-APIKEY": "nobody"})
    assert stranger.json()["code"] == 100413
    async with httpx.AsyncClient(base_url=sim.rest_url) as keyless:
        answer = await keyless.get(f"{path}?{bingx_query(sim.bingx_api_secret, {})}")
        assert answer.json()["code"] == 100413
    stale = await bingx.http.get(f"{path}?{bingx_query(sim.bingx_api_secret, {}, timestamp=1000)}")
    assert stale.json()["code"] == 100421
    unstamped = await bingx.http.get(f"{path}?signature=abc")
    assert unstamped.json()["code"] == 100421
    # A form body is signed with the query, as received.
    stamp = f"timestamp={int(time.time() * 1000)}"
    body = "fromAccount=fund&toAccount=spot&asset=USDT&amount=1"
    signature = hmac.new(sim.bingx_api_secret.encode(), (stamp + body).encode(), hashlib.sha256).hexdigest()
    moved = await bingx.http.post(f"/openApi/api/asset/v1/transfer?{stamp}",
                                  content=f"{body}&signature={signature}",
                                  headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert moved.json()["code"] == 0 and isinstance(moved.json()["data"]["transferId"], str)


async def test_v3_and_new_transfers_and_their_records(sim, bingx, unlimited):
    tran = await bingx.data("POST", "/openApi/api/v3/post/asset/transfer",
                            {"type": "FUND_PFUTURES", "asset": "USDT", "amount": "100"})
    new = await bingx.data("POST", "/openApi/api/asset/v1/transfer",
                           {"fromAccount": "USDTMPerp", "toAccount": "spot", "asset": "USDT",
                            "amount": "20.5"})
    account = sim.exchange.wallet.bingx.default
    assert account.free("fund", "USDT") == Decimal("900")
    assert account.free("USDTMPerp", "USDT") == Decimal("129.5")
    assert account.free("spot", "USDT") == Decimal("320.5")

    v3 = await bingx.data("GET", "/openApi/api/v3/asset/transfer", {"type": "FUND_PFUTURES"})
    assert v3 == {"total": 1, "rows": [{"asset": "USDT", "amount": "100", "type": "FUND_PFUTURES",
                                         "status": "CONFIRMED", "tranId": tran["tranId"],
                                         "timestamp": v3["rows"][0]["timestamp"]}]}
    by_id = await bingx.data("GET", "/openApi/api/v3/asset/transfer", {"tranId": str(tran["tranId"])})
    assert by_id["total"] == 1
    records = await bingx.data("GET", "/openApi/api/v3/asset/transferRecord", {"toAccount": "spot"})
    assert records["total"] == 1
    (row,) = records["rows"]
    assert row["transferId"] == new["transferId"]
    assert (row["fromAccount"], row["toAccount"], row["amount"]) == ("USDTMPerp", "spot", "20.5")
    both = await bingx.data("GET", "/openApi/api/v3/asset/transferRecord", {"toAccount": "USDTMPerp"})
    assert both["rows"][0]["transferId"] == str(tran["tranId"])  # one history behind both APIs

    coins = await bingx.data("GET", "/openApi/api/asset/v1/transfer/supportCoins",
                             {"fromAccount": "fund", "toAccount": "stdFutures"})
    assert coins == {"coins": [{"asset": "USDT", "amount": "900"}]}

    poor = await bingx.call("POST", "/openApi/api/v3/post/asset/transfer",
                            {"type": "SFUTURES_FUND", "asset": "USDT", "amount": "1"})
    assert (poor["code"], poor["msg"]) == (100202, "Insufficient balance")
    for params in ({"type": "FUND_GRID", "asset": "USDT", "amount": "1"},
                   {"type": "FUND_SFUTURES", "asset": "USDT"},
                   {"type": "FUND_SFUTURES", "asset": "USDT", "amount": "-1"}):
        assert (await bingx.call("POST", "/openApi/api/v3/post/asset/transfer", params))["code"] == 80014
    no_type = await bingx.call("GET", "/openApi/api/v3/asset/transfer")
    assert no_type["code"] == 80014
    same = await bingx.call("POST", "/openApi/api/asset/v1/transfer",
                            {"fromAccount": "fund", "toAccount": "fund", "asset": "USDT", "amount": "1"})
    assert same["code"] == 80014


async def test_internal_transfer_to_the_binance_account_lands_in_funding(sim, bingx, unlimited):
    book = sim.exchange.wallet.book(sim.exchange.default_account)
    applied = await bingx.data("POST", "/openApi/wallets/v1/capital/innerTransfer/apply", {
        "coin": "USDT", "userAccountType": "3", "userAccount": book.email, "amount": "75",
        "walletType": "1", "transferClientId": "move42"})
    assert applied["transferClientId"] == "move42" and applied["id"].isdigit()
    assert book.wallets.wallet("FUNDING").free("USDT") == Decimal("75")
    records = await bingx.data("GET", "/openApi/wallets/v1/capital/innerTransfer/records",
                               {"coin": "USDT", "transferClientId": "move42"})
    assert records["total"] == 1
    (row,) = records["data"]
    assert (row["receiver"], row["amount"], row["status"], row["recordType"]) == (book.uid, "75", 6, "out")
    assert row["fromUid"] == sim.exchange.wallet.bingx.default.uid
    none = await bingx.data("GET", "/openApi/wallets/v1/capital/innerTransfer/records", {"coin": "BTC"})
    assert none == {"data": [], "total": 0}
    unknown = await bingx.call("POST", "/openApi/wallets/v1/capital/innerTransfer/apply", {
        "coin": "USDT", "userAccountType": "1", "userAccount": "123", "amount": "1", "walletType": "1"})
    assert unknown["code"] == 80014


async def test_a_simulator_bug_answers_100500(sim, bingx, unlimited):
    def broken(asset, amount):
        raise ZeroDivisionError("simulated bug")

    sim.exchange.wallet.bingx.usdt_value = broken
    query = bingx_query(sim.bingx_api_secret, {})
    answer = await bingx.http.get(f"/openApi/account/v1/allAccountBalance?{query}")
    assert (answer.status_code, answer.json()["code"]) == (500, 100500)
    assert (await bingx.call("GET", "/openApi/spot/v1/account/balance"))["code"] == 0  # lives on


async def test_per_uid_rate_limit_and_the_insufficient_balance_penalty(sim, bingx):
    limiter = sim.exchange.wallet.bingx.limiter
    now = [0]
    limiter.clock = lambda: now[0]  # the limits' clock only; signatures keep real time
    answers = [await bingx.call("GET", "/openApi/fund/v1/account/balance") for _ in range(3)]
    assert [a["code"] for a in answers] == [0, 0, 100410]  # 2 per second
    assert answers[-1]["msg"] == "rate limited"
    assert (await bingx.call("GET", "/openApi/spot/v1/account/balance"))["code"] == 0  # 5 per second
    now[0] = 1000
    assert (await bingx.call("GET", "/openApi/fund/v1/account/balance"))["code"] == 0

    poor = {"type": "SFUTURES_FUND", "asset": "USDT", "amount": "1"}
    for _ in range(21):
        now[0] += 1000
        assert (await bingx.call("POST", "/openApi/api/v3/post/asset/transfer", poor))["code"] == 100202
    now[0] += 1000
    blocked = await bingx.call("POST", "/openApi/api/v3/post/asset/transfer", poor)
    assert blocked["code"] == 100410 and "over 20 error code:100202" in blocked["msg"]
    assert (await bingx.call("GET", "/openApi/fund/v1/account/balance"))["code"] == 0  # other endpoint
