"""The simulator's savings ledger: subscriptions, interest per simulated minute, redemptions."""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

from sim_wallet_fakes import make, refused, world

from sim import Exchange
from sim.hub import Collector, user_topic
from sim.savings import MINUTES_PER_YEAR, Product, Savings
from sim.wallets import FUNDING, MINUTE_MS


def test_subscribe_moves_spot_into_the_position_with_events_and_conservation():
    exchange, _ = make()
    book, account = exchange.wallet, exchange.default_account
    events = Collector()
    exchange.hub.subscribe(user_topic(account.account_id), events)
    before = world(exchange)
    book.savings.subscribe(account, "USDT001", Decimal("250"))
    assert account.balance("USDT").free == Decimal("750")
    position = book.savings.position(account, book.savings.product("USDT001"))
    assert position.amount == Decimal("250") and position.today_purchased == Decimal("250")
    assert world(exchange) == before
    assert [(p["e"], p.get("d")) for p in events.payloads()] == [
        ("balanceUpdate", "-250.00000000"), ("outboundAccountPosition", None)]


def _interest_after(minutes: int, *, tick_every: int | None) -> tuple[Exchange, Decimal]:
    exchange, clock = make(time_factor=60.0)  # one real second is one simulated minute
    book, account = exchange.wallet, exchange.default_account
    book.savings.subscribe(account, "USDT001", Decimal("1000"))
    start, elapsed = clock.ms, 0
    while elapsed < minutes:
        elapsed = minutes if tick_every is None else min(elapsed + tick_every, minutes)
        clock.ms = start + elapsed * 1000 + 7  # a little past each boundary: ticks are never punctual
        book.advance()
    return exchange, book.savings.position(account, book.savings.product("USDT001")).amount


def test_interest_accrues_per_simulated_minute_whatever_the_tick_pattern():
    minutes = 24 * 60
    exchange, once = _interest_after(minutes, tick_every=None)
    _, often = _interest_after(minutes, tick_every=1)
    _, irregular = _interest_after(minutes, tick_every=97)
    assert once == often == irregular
    earned = once - Decimal("1000")
    # Per-minute compounding, each minute truncated to 1e-8: computed independently here.
    expected = Decimal("1000")
    for _ in range(minutes):
        expected += (expected * Decimal("0.05") / MINUTES_PER_YEAR).quantize(Decimal("1e-8"), ROUND_DOWN)
    assert once == expected
    assert abs(earned - Decimal("1000") * Decimal("0.05") / 365) < Decimal("0.0001")
    assert exchange.wallet.house["USDT"] == -earned  # the house paid it, to the last 1e-8
    position = exchange.wallet.savings.position(exchange.default_account,
                                                exchange.wallet.savings.product("USDT001"))
    assert position.total_interest == earned


def test_fast_redemption_is_immediate_and_normal_arrives_a_simulated_day_later():
    exchange, clock = make(time_factor=1440.0)  # one real minute is one simulated day
    book, account = exchange.wallet, exchange.default_account
    book.savings.subscribe(account, "BTC001", Decimal("0.3"))
    book.savings.redeem(account, "BTC001", Decimal("0.1"), kind="FAST")
    assert account.balance("BTC").free == Decimal("0.3")
    events = Collector()
    exchange.hub.subscribe(user_topic(account.account_id), events)
    book.savings.redeem(account, "BTC001", Decimal("0.1"), kind="NORMAL")
    position = book.savings.position(account, book.savings.product("BTC001"))
    assert position.redeeming == Decimal("0.1") and account.balance("BTC").free == Decimal("0.3")
    clock.ms += 59_000
    book.advance()
    assert account.balance("BTC").free == Decimal("0.3") and events.events == []
    clock.ms += 1_000
    book.advance()
    assert account.balance("BTC").free == Decimal("0.4") and position.redeeming == 0
    assert [p["e"] for p in events.payloads()] == ["balanceUpdate", "outboundAccountPosition"]
    assert events.payloads("balanceUpdate")[0]["d"] == "0.10000000"


def test_funding_sources_and_destinations():
    exchange, _ = make()
    book, account = exchange.wallet, exchange.default_account
    funding = book.book(account).wallets.wallet(FUNDING)
    book.transfer(account, "MAIN_FUNDING", "USDT", Decimal("100"))
    book.savings.subscribe(account, "USDT001", Decimal("60"), source="FUND")
    assert funding.free("USDT") == Decimal("40") and account.balance("USDT").free == Decimal("900")
    book.savings.subscribe(account, "USDT001", Decimal("930"), source="ALL")  # SPOT first
    assert account.balance("USDT").free == 0 and funding.free("USDT") == Decimal("10")
    refused(-6012, book.savings.subscribe, account, "USDT001", Decimal("11"), source="ALL")
    book.savings.redeem(account, "USDT001", None, kind="EARN", destination="FUND")
    assert funding.free("USDT") == Decimal("1000")


def test_subscription_and_redemption_refusals():
    exchange, _ = make(balances={"BTC": "100", "USDT": "10"})
    book, account = exchange.wallet, exchange.default_account
    savings = book.savings
    before = world(exchange)
    refused(-6001, savings.subscribe, account, "DOGE001", Decimal("1"))
    refused(-6005, savings.subscribe, account, "BTC001", Decimal("0.00009"))
    refused(-6011, savings.subscribe, account, "BTC001", Decimal("50.00000001"))
    refused(-6012, savings.subscribe, account, "USDT001", Decimal("10.1"))
    refused(-5007, savings.subscribe, account, "USDT001", Decimal("0"))
    refused(-6006, savings.redeem, account, "BTC001", Decimal("1"))  # no position
    assert world(exchange) == before
    savings.subscribe(account, "BTC001", Decimal("50"))
    refused(-6011, savings.subscribe, account, "BTC001", Decimal("0.001"))
    refused(-6006, savings.redeem, account, "BTC001", Decimal("50.1"))
    refused(-6006, savings.redeem, account, "BTC001", Decimal("0.00001"))  # below the minimum
    savings.redeem(account, "BTC001", Decimal("49.9"), kind="FAST")
    savings.subscribe(account, "BTC001", Decimal("10"))
    refused(-6006, savings.redeem, account, "BTC001", Decimal("0.2"), kind="FAST")  # daily quota
    savings.redeem(account, "BTC001", Decimal("0.2"), kind="NORMAL")  # NORMAL has none
    book.book(account).permissions["enableSpotAndMarginTrading"] = False
    refused(-2015, savings.subscribe, account, "USDT001", Decimal("1"))


def test_product_up_limit_counts_every_account():
    exchange, _ = make(balances={"BTC": "10"})
    second = exchange.accounts.add("k" * 64, "s" * 64, {"BTC": Decimal("10")},
                                   maker_rate=Decimal("0.001"), taker_rate=Decimal("0.001"))
    small = Product("BTC", Decimal("0.01"), Decimal("0.1"), up_limit=Decimal("8"),
                    up_limit_per_user=Decimal("5"), fast_daily_quota=Decimal("5"),
                    min_redemption=Decimal("0.1"))
    savings = exchange.wallet.savings = Savings(exchange.wallet, (small,))
    savings.subscribe(exchange.default_account, "BTC001", Decimal("5"))
    refused(-6011, savings.subscribe, exchange.default_account, "BTC001", Decimal("0.1"))
    savings.subscribe(second, "BTC001", Decimal("3"))
    assert savings.purchased(small) == Decimal("8")
    refused(-6014, savings.subscribe, second, "BTC001", Decimal("0.1"))
    assert savings.left_quota(second, small) == Decimal("2")


def test_simple_earn_throttle_is_one_call_per_three_real_seconds():
    exchange, clock = make()
    book, account = exchange.wallet, exchange.default_account
    book.savings.throttle(account, "subscribe")
    book.savings.throttle(account, "redeem")  # its own counter
    refused(-6009, book.savings.throttle, account, "subscribe")
    clock.ms += 3_000
    book.savings.throttle(account, "subscribe")


def test_positions_start_earning_the_minute_after_purchase():
    exchange, clock = make(time_factor=60.0)
    book, account = exchange.wallet, exchange.default_account
    book.savings.subscribe(account, "USDT001", Decimal("1000"))
    position = book.savings.position(account, book.savings.product("USDT001"))
    assert position.accrued_minute == book.sim_ms() // MINUTE_MS
    left_in_minute = MINUTE_MS - book.sim_ms() % MINUTE_MS  # simulated ms
    clock.ms += (left_in_minute - 600) // 60  # still the same simulated minute
    book.advance()
    assert position.total_interest == 0
    clock.ms += 20  # 1200 simulated ms later: the next minute has begun
    book.advance()
    assert position.total_interest == (Decimal(1000) * Decimal("0.05") / MINUTES_PER_YEAR).quantize(
        Decimal("1e-8"), ROUND_DOWN)
