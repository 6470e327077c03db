"""The simulated BingX venue: signing, per-UID limits, wallet transfers, internal transfers."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from sim_wallet_fakes import make, world

from sim.bingx import NEW_TRANSFER_ACCOUNTS, V3_CODES, V3_POST_TYPES, BingxVenue, holds
from sim.bingx_auth import authenticate, sign
from sim.bingx_errors import BingxError, insufficient_balance
from sim.bingx_limits import PENALTY_WINDOW_MS, UidLimiter
from sim.wallets import FUNDING

ASSETS = ("BNB", "BTC", "ETH", "USDT")


def bx_refused(code: int, call, *args, **kwargs) -> BingxError:
    with pytest.raises(BingxError) as caught:
        call(*args, **kwargs)
    assert caught.value.code == code, caught.value.msg
    return caught.value


def venue_and_clock(**balances):
    exchange, clock = make()
    venue: BingxVenue = exchange.wallet.bingx
    if balances:
        venue.default.wallets = {wallet: {} for wallet in venue.default.wallets}
        for wallet, amounts in balances.items():
            for asset, amount in amounts.items():
                venue.default.credit(wallet, asset, Decimal(amount))
    return exchange, venue, clock


def everything(exchange) -> dict[str, Decimal]:
    """Both venues together: Binance holdings and house, plus every BingX wallet."""
    totals = world(exchange)
    for account in exchange.wallet.bingx:
        for asset in ASSETS:
            totals[asset] += account.total(asset)
    return totals


def test_signature_matches_the_bingx_documentation_example():
    payload = "quoteOrderQty=20&side=BUY&symbol=ETHUSDT&timestamp=1649404670162&type=MARKET"
    secret = "UuGuyEGt6ZEkpUObCYCmIfh0elYsZVh80jlYwpJuRZEw70t6vomMH7Sjmf94ztSI"
    assert sign(secret, payload) == "428a3c383bde514baff0d10d3c20e5adfaacaf799e324546dafe5ccc480dd827"


def test_authentication_accepts_the_raw_text_and_refuses_with_bingx_codes():
    exchange, venue, clock = venue_and_clock()
    account = venue.default
    now = clock.ms

    def query(text: str, secret: str | None = None) -> str:
        return f"{text}&signature={sign(secret or account.api_secret, text)}"

    good = query(f"timestamp={now}&asset=USDT")
    assert authenticate(venue, account.api_key, "127.0.0.1", good, "", now) == (
        account, {"timestamp": str(now), "asset": "USDT"})
    # Split between query and form body, signed as received (query first).
    body = f"amount=1&signature={sign(account.api_secret, f'timestamp={now}amount=1')}"
    assert authenticate(venue, account.api_key, None, f"timestamp={now}", body, now)[1]["amount"] == "1"
    bx_refused(100413, authenticate, venue, "x" * 64, None, good, "", now)
    bx_refused(100413, authenticate, venue, None, None, good, "", now)
    bx_refused(100421, authenticate, venue, account.api_key, None, query("asset=USDT"), "", now)
    bx_refused(80014, authenticate, venue, account.api_key, None, query("timestamp=soon"), "", now)
    forged = query(f"timestamp={now}", "s" * 64)
    bx_refused(100001, authenticate, venue, account.api_key, None, forged, "", now)
    bx_refused(100001, authenticate, venue, account.api_key, None, f"timestamp={now}", "", now)
    bx_refused(100421, authenticate, venue, account.api_key, None, good, "", now + 5001)
    bx_refused(100421, authenticate, venue, account.api_key, None, good, "", now - 1000)
    longer = query(f"timestamp={now}&recvWindow=60000")
    assert authenticate(venue, account.api_key, None, longer, "", now + 59_000)[0] is account
    bx_refused(80014, authenticate, venue, account.api_key, None,
               query(f"timestamp={now}&recvWindow=60001"), "", now)
    bx_refused(80014, authenticate, venue, account.api_key, None,
               query(f"timestamp={now}&asset=A&asset=B"), "", now)
    account.ip_whitelist = frozenset({"10.0.0.1"})
    bx_refused(100419, authenticate, venue, account.api_key, "127.0.0.1", good, "", now)


def test_uid_limits_are_per_second_per_endpoint_and_the_100202_penalty():
    clock = [0]
    limiter = UidLimiter(lambda: clock[0])
    for _ in range(5):
        limiter.admit(7, "/balance", 5)
    bx_refused(100410, limiter.admit, 7, "/balance", 5)
    limiter.admit(8, "/balance", 5)  # another UID
    limiter.admit(7, "/transfer", 2)  # another endpoint
    clock[0] = 1000
    limiter.admit(7, "/balance", 5)

    for _ in range(21):
        limiter.record(7, "/transfer", insufficient_balance())
    error = bx_refused(100410, limiter.admit, 7, "/transfer", 2)
    assert error.msg.startswith("over 20 error code:100202 requests within 480000 ms")
    assert error.msg.endswith(f"can retry after time: {1000 + PENALTY_WINDOW_MS}")
    clock[0] += PENALTY_WINDOW_MS
    limiter.admit(7, "/transfer", 2)


def test_every_new_transfer_pair_and_every_v3_type_conserve_assets():
    exchange, venue, _ = venue_and_clock(**{
        w: {a: "100" for a in ("USDT", "BTC") if holds(w, a)} for w in NEW_TRANSFER_ACCOUNTS})
    account = venue.default
    before = everything(exchange)
    for source, destination in itertools.permutations(NEW_TRANSFER_ACCOUNTS, 2):
        asset = "USDT" if holds(destination, "USDT") and holds(source, "USDT") else "BTC"
        was = (account.free(source, asset), account.free(destination, asset))
        record = venue.transfer(account, source, destination, asset, Decimal("1.5"))
        assert (account.free(source, asset), account.free(destination, asset)) == (
            was[0] - Decimal("1.5"), was[1] + Decimal("1.5"))
        assert (record.source, record.destination, record.amount) == (source, destination, Decimal("1.5"))
    for kind in V3_POST_TYPES:
        source, destination = (V3_CODES[code] for code in kind.split("_"))
        venue.transfer(account, source, destination, "USDT", Decimal("0.25"))
    assert everything(exchange) == before
    assert len(account.transfers) == 20 + len(V3_POST_TYPES)


def test_transfer_refusals():
    exchange, venue, _ = venue_and_clock(fund={"USDT": "10", "BTC": "1"})
    account = venue.default
    bx_refused(100202, venue.transfer, account, "fund", "spot", "USDT", Decimal("10.01"))
    bx_refused(80014, venue.transfer, account, "fund", "fund", "USDT", Decimal("1"))
    bx_refused(80014, venue.transfer, account, "fund", "USDTMPerp", "BTC", Decimal("0.1"))
    bx_refused(80014, venue.transfer, account, "fund", "grid", "BTC", Decimal("0.1"))
    bx_refused(80014, venue.transfer, account, "fund", "spot", "USDT", Decimal("0"))
    bx_refused(80014, venue.transfer, account, "fund", "spot", "USDT", Decimal("0.000000001"))
    assert account.free("fund", "USDT") == Decimal("10") and account.transfers == []


def test_internal_transfers_between_bingx_users_and_to_binance_funding():
    exchange, venue, _ = venue_and_clock(fund={"USDT": "100"}, stdFutures={"USDT": "50"})
    payer = venue.default
    payee = venue.add("p" * 64, "q" * 64, {})
    payee.phone = ("44", "7700900123")
    before = everything(exchange)
    common = {"coin": "USDT", "calling_code": None, "client_id": ""}
    venue.inner_transfer(payer, account_type=1, recipient=str(payee.uid), amount=Decimal("10"),
                         wallet_type=1, **common)
    venue.inner_transfer(payer, account_type=3, recipient=payee.email, amount=Decimal("5"),
                         wallet_type=2, **{**common, "client_id": "abc1"})
    venue.inner_transfer(payer, account_type=2, recipient="7700900123", amount=Decimal("1"),
                         wallet_type=1, **{**common, "calling_code": "44"})
    assert payee.free("fund", "USDT") == Decimal("16")
    assert payer.free("fund", "USDT") == Decimal("89") and payer.free("stdFutures", "USDT") == Decimal("45")
    assert [t.record_type for t in payee.inner] == ["in"] * 3
    assert payee.inner[1].client_id == "abc1" and payee.inner[1].from_uid == payer.uid

    binance = exchange.wallet.book(exchange.default_account)
    venue.inner_transfer(payer, account_type=3, recipient=binance.email, amount=Decimal("20"),
                         wallet_type=1, **common)
    venue.inner_transfer(payer, account_type=1, recipient=str(binance.uid), amount=Decimal("2.5"),
                         wallet_type=1, **common)
    assert binance.wallets.wallet(FUNDING).free("USDT") == Decimal("22.5")
    assert payer.inner[-1].receiver == binance.uid
    assert everything(exchange) == before

    bx_refused(80014, venue.inner_transfer, payer, account_type=1, recipient="42", amount=Decimal("1"),
               wallet_type=1, **common)
    bx_refused(80014, venue.inner_transfer, payer, account_type=1, recipient=str(payer.uid),
               amount=Decimal("1"), wallet_type=1, **common)
    bx_refused(80014, venue.inner_transfer, payer, account_type=2, recipient="7700900123",
               amount=Decimal("1"), wallet_type=1, **common)  # no calling code
    bx_refused(80014, venue.inner_transfer, payer, account_type=1, recipient=str(payee.uid),
               amount=Decimal("1"), wallet_type=4, **common)
    bx_refused(80014, venue.inner_transfer, payer, account_type=3, recipient=payee.email,
               amount=Decimal("1"), wallet_type=1, **{**common, "client_id": "abc1"})  # reused id
    bx_refused(100202, venue.inner_transfer, payer, account_type=1, recipient=str(payee.uid),
               amount=Decimal("1000"), wallet_type=1, **common)
    assert everything(exchange) == before


def test_config_balances_are_checked_at_start():
    from sim import Exchange, SimConfig

    for balances in ({"moon": {"USDT": "1"}}, {"fund": {"USDT": "-1"}}, {"fund": {"USDT": "abc"}},
                     {"stdFutures": {"BTC": "1"}}):
        with pytest.raises(ValueError):
            Exchange(SimConfig(bingx_balances=balances), seed_liquidity=False)
    with pytest.raises(ValueError):
        Exchange(SimConfig(bingx_api_key="k" * 64), seed_liquidity=False)
    same = Exchange(SimConfig(seed=3), seed_liquidity=False).wallet.bingx.default
    again = Exchange(SimConfig(seed=3), seed_liquidity=False).wallet.bingx.default
    assert (same.api_key, same.api_secret, same.uid) == (again.api_key, again.api_secret, again.uid)
    assert same.api_key != Exchange(SimConfig(seed=4), seed_liquidity=False).wallet.bingx.default.api_key
