"""The simulator's wallet book: universal transfers, their rules and events, dust, snapshots.

Synchronous and clock-driven: the exchange runs on a fake millisecond clock
with empty books, so prices stay at the symbols' initial mids and simulated
time moves only when a test moves it.
"""

from __future__ import annotations

from decimal import Decimal

from sim_wallet_fakes import START_MS, make, refused, world

from sim import Exchange
from sim.dust import SERVICE_CHARGE, render_conversion, render_log
from sim.hub import Collector, user_topic
from sim.snapshots import select
from sim.wallets import DAY_MS, ISOLATED, MAIN, TRANSFER_TYPES


def symbols_for(kind) -> tuple[str | None, str | None]:
    from_symbol = "BTCUSDT" if kind.source == ISOLATED else None
    to_symbol = None
    if kind.destination == ISOLATED:
        to_symbol = "ETHUSDT" if kind.source == ISOLATED else "BTCUSDT"
    return from_symbol, to_symbol


def test_every_transfer_type_moves_exactly_the_amount_and_conserves_every_asset():
    exchange, clock = make()
    book, account = exchange.wallet, exchange.default_account
    before = world(exchange)
    for name, kind in TRANSFER_TYPES.items():
        from_symbol, to_symbol = symbols_for(kind)
        if kind.source != MAIN:  # fund the source wallet from SPOT first, through the book
            book.book(account).wallets.wallet(kind.source, from_symbol).credit("USDT", Decimal("7.5"))
            account.debit("USDT", Decimal("7.5"))
        source_before = _held(exchange, kind.source, from_symbol)
        target_before = _held(exchange, kind.destination, to_symbol)
        clock.ms += 1
        tran_id = book.transfer(account, name, "USDT", Decimal("7.5"), from_symbol, to_symbol)
        assert _held(exchange, kind.source, from_symbol) == source_before - Decimal("7.5"), name
        assert _held(exchange, kind.destination, to_symbol) == target_before + Decimal("7.5"), name
        assert world(exchange) == before, name
        record = book.book(account).transfers[-1]
        assert (record.tran_id, record.type, record.amount, record.timestamp) == (
            tran_id, name, Decimal("7.5"), clock.ms)
    assert len({r.tran_id for r in book.book(account).transfers}) == len(TRANSFER_TYPES)


def _held(exchange: Exchange, wallet: str, symbol: str | None) -> Decimal:
    if wallet == MAIN:
        return exchange.default_account.balance("USDT").free
    return exchange.wallet.book(exchange.default_account).wallets.wallet(wallet, symbol).free("USDT")


def test_a_spot_transfer_sends_balance_update_then_the_account_position():
    exchange, _ = make()
    account = exchange.default_account
    events = Collector()
    exchange.hub.subscribe(user_topic(account.account_id), events)
    exchange.wallet.transfer(account, "MAIN_FUNDING", "BTC", Decimal("0.1"))
    exchange.wallet.transfer(account, "FUNDING_MAIN", "BTC", Decimal("0.04"))
    exchange.wallet.transfer(account, "FUNDING_UMFUTURE", "BTC", Decimal("0.06"))  # no SPOT change
    kinds = [payload["e"] for payload in events.payloads()]
    assert kinds == ["balanceUpdate", "outboundAccountPosition"] * 2
    out, back = events.payloads("balanceUpdate")
    assert (out["a"], out["d"], back["a"], back["d"]) == ("BTC", "-0.10000000", "BTC", "0.04000000")
    assert out["E"] == out["T"] == START_MS
    position = events.payloads("outboundAccountPosition")[-1]
    assert position["B"] == [{"a": "BTC", "f": "0.44000000", "l": "0.00000000"}]


def test_transfer_refusals_change_nothing_and_publish_nothing():
    exchange, _ = make()
    book, account = exchange.wallet, exchange.default_account
    events = Collector()
    exchange.hub.subscribe(user_topic(account.account_id), events)
    before = world(exchange)
    refused(-5002, book.transfer, account, "MAIN_FUNDING", "BTC", Decimal("0.50000001"))
    refused(-5002, book.transfer, account, "FUNDING_MAIN", "BTC", Decimal("0.1"))
    refused(-5007, book.transfer, account, "MAIN_FUNDING", "BTC", Decimal("0"))
    refused(-1111, book.transfer, account, "MAIN_FUNDING", "BTC", Decimal("0.000000001"))
    refused(-3002, book.transfer, account, "MAIN_FUNDING", "DOGE", Decimal("1"))
    refused(-1130, book.transfer, account, "MAIN_MOON", "BTC", Decimal("1"))
    # The seed's fromSymbol / toSymbol rules, and margin pairs and assets.
    refused(-1102, book.transfer, account, "ISOLATEDMARGIN_MARGIN", "BTC", Decimal("0.1"))
    refused(-1102, book.transfer, account, "MARGIN_ISOLATEDMARGIN", "BTC", Decimal("0.1"))
    refused(-1102, book.transfer, account, "ISOLATEDMARGIN_ISOLATEDMARGIN", "BTC", Decimal("0.1"),
            "BTCUSDT", None)
    refused(-1128, book.transfer, account, "MAIN_FUNDING", "BTC", Decimal("0.1"), "BTCUSDT", None)
    refused(-3028, book.transfer, account, "MAIN_ISOLATED_MARGIN", "BTC", Decimal("0.1"), None, "BTCEUR")
    refused(-3027, book.transfer, account, "MAIN_ISOLATED_MARGIN", "ETH", Decimal("0.1"), None, "BTCUSDT")
    refused(-1130, book.transfer, account, "ISOLATEDMARGIN_ISOLATEDMARGIN", "BTC", Decimal("0.1"),
            "BTCUSDT", "BTCUSDT")
    book.book(account).permissions["permitsUniversalTransfer"] = False
    refused(-2015, book.transfer, account, "MAIN_FUNDING", "BTC", Decimal("0.1"))
    assert world(exchange) == before
    assert events.events == [] and book.book(account).transfers == []


def test_isolated_margin_keeps_one_wallet_per_symbol():
    exchange, _ = make()
    book, account = exchange.wallet, exchange.default_account
    book.transfer(account, "MAIN_ISOLATED_MARGIN", "USDT", Decimal("100"), None, "BTCUSDT")
    book.transfer(account, "ISOLATEDMARGIN_ISOLATEDMARGIN", "USDT", Decimal("40"), "BTCUSDT", "ETHUSDT")
    wallets = book.book(account).wallets
    assert wallets.isolated["BTCUSDT"].free("USDT") == Decimal("60")
    assert wallets.isolated["ETHUSDT"].free("USDT") == Decimal("40")
    refused(-5002, book.transfer, account, "ISOLATEDMARGIN_MARGIN", "USDT", Decimal("41"), "ETHUSDT")
    book.transfer(account, "ISOLATEDMARGIN_MARGIN", "USDT", Decimal("40"), "ETHUSDT")
    assert wallets.wallet("MARGIN").free("USDT") == Decimal("40")


def test_transfer_history_filters_pages_and_defaults_to_seven_days():
    exchange, clock = make()
    book, account = exchange.wallet, exchange.default_account
    for n in range(5):
        clock.ms = START_MS + n * DAY_MS * 2  # one transfer every two days
        book.transfer(account, "MAIN_FUNDING", "USDT", Decimal(n + 1))
    book.transfer(account, "MAIN_UMFUTURE", "USDT", Decimal("1"))
    total, rows = book.transfer_history(account, "MAIN_FUNDING", start_time=None, end_time=None,
                                        current=1, size=10, from_symbol=None, to_symbol=None)
    assert total == 4 and [r.amount for r in rows] == [5, 4, 3, 2]  # newest first, 7 days back
    total, rows = book.transfer_history(account, "MAIN_FUNDING", start_time=START_MS, end_time=None,
                                        current=2, size=2, from_symbol=None, to_symbol=None)
    assert total == 5 and [r.amount for r in rows] == [3, 2]
    total, rows = book.transfer_history(account, "MAIN_FUNDING", start_time=START_MS,
                                        end_time=START_MS + DAY_MS, current=1, size=10,
                                        from_symbol=None, to_symbol=None)
    assert total == 1 and rows[0].amount == 1


def test_dust_lists_small_balances_and_converts_them_to_bnb_minus_two_percent():
    exchange, _ = make(balances={"USDT": "5", "ETH": "0.003", "BTC": "0.5", "BNB": "0.001"})
    book, account = exchange.wallet, exchange.default_account
    quotes = book.dust.convertible(account)
    # BTC is worth far more than 0.001 BTC; BNB is the target; 5 USDT and 0.003 ETH are dust.
    assert [q.asset for q in quotes] == ["ETH", "USDT"]
    eth_rate = exchange.market.mid("ETHUSDT") / exchange.market.mid("BNBUSDT")
    eth = quotes[0]
    assert eth.to_bnb == (Decimal("0.003") * eth_rate).quantize(Decimal("1e-8"), "ROUND_DOWN")
    assert eth.service_charge == (eth.to_bnb * SERVICE_CHARGE).quantize(Decimal("1e-8"), "ROUND_DOWN")
    assert eth.transferred + eth.service_charge == eth.to_bnb

    events = Collector()
    exchange.hub.subscribe(user_topic(account.account_id), events)
    before = world(exchange)
    conversion = book.dust.convert(account, ["USDT", "ETH"])
    assert account.balance("USDT").free == 0 and account.balance("ETH").free == 0
    assert account.balance("BNB").free == Decimal("0.001") + conversion.total_transferred
    assert world(exchange) == before  # the house took the dust and paid the BNB
    assert sum(q.to_bnb for q in conversion.quotes) == (
        conversion.total_transferred + conversion.total_service_charge)
    assert [(p["e"], p.get("a")) for p in events.payloads()] == [
        ("balanceUpdate", "USDT"), ("balanceUpdate", "ETH"), ("balanceUpdate", "BNB"),
        ("outboundAccountPosition", None)]
    rendered = render_conversion(conversion)
    assert rendered["totalTransfered"] == f"{conversion.total_transferred:.8f}"
    assert [r["fromAsset"] for r in rendered["transferResult"]] == ["USDT", "ETH"]
    log = render_log(book.book(account).dust_log, None, None)
    assert log["total"] == 1 and log["userAssetDribblets"][0]["transId"] == conversion.trans_id


def test_dust_refusals_and_the_once_per_24_simulated_hours_rule():
    exchange, clock = make(time_factor=1440.0,  # one real minute is one simulated day
                           balances={"USDT": "5", "ETH": "1", "BTC": "0.0001", "BNB": "1"})
    book, account = exchange.wallet, exchange.default_account
    refused(-5004, book.dust.convert, account, ["ETH"])  # 1 ETH is ~0.067 BTC
    refused(-5004, book.dust.convert, account, ["USDT", "BTC", "ETH"])  # all or nothing
    refused(-3002, book.dust.convert, account, ["ADA"])
    account.debit("BTC", Decimal("0.0001"))
    refused(-5003, book.dust.convert, account, ["BTC"])
    refused(-1130, book.dust.convert, account, ["BNB"])
    refused(-1130, book.dust.convert, account, ["USDT", "USDT"])
    refused(-1102, book.dust.convert, account, [])
    assert account.balance("USDT").free == Decimal("5")  # nothing moved on a refusal
    book.dust.convert(account, ["USDT"])
    account.credit("USDT", Decimal("3"))
    clock.ms += 59_000  # 59 real seconds: 23.6 simulated hours
    refused(-5006, book.dust.convert, account, ["USDT"])
    clock.ms += 1_000
    assert book.dust.convert(account, ["USDT"]).quotes[0].amount == Decimal("3")


def test_snapshots_are_taken_each_simulated_day_and_selected_by_the_seed_rules():
    exchange, clock = make(time_factor=1440.0)
    book, account = exchange.wallet, exchange.default_account
    book.advance()
    state = book.book(account)
    assert len(state.snapshots) == 1
    assert {a: f for a, f, _ in state.snapshots[0].spot}["BTC"] == Decimal("0.5")
    book.transfer(account, "MAIN_MARGIN", "BTC", Decimal("0.2"))
    book.transfer(account, "MAIN_UMFUTURE", "USDT", Decimal("100"))
    for _ in range(9):
        clock.ms += 60_000  # one simulated day
        book.advance()
    assert len(state.snapshots) == 10
    latest = state.snapshots[-1]
    assert {a: f for a, f, _ in latest.spot}["BTC"] == Decimal("0.3")
    assert latest.margin == (("BTC", Decimal("0.2")),) and latest.futures == (("USDT", Decimal("100")),)
    assert latest.margin_btc == Decimal("0.2")
    default = select(book, state, "SPOT", start_time=None, end_time=None, limit=None)
    assert default == state.snapshots[-5:]
    last_week = select(book, state, "SPOT", start_time=None, end_time=None, limit=30)
    assert last_week == state.snapshots[-7:]
    ranged = select(book, state, "MARGIN", start_time=state.snapshots[1].update_time,
                    end_time=state.snapshots[3].update_time, limit=10)
    assert ranged == state.snapshots[1:4]
    refused(-1130, select, book, state, "FUNDING", start_time=None, end_time=None, limit=None)
    refused(-1130, select, book, state, "SPOT", start_time=None, end_time=None, limit=4)
    refused(-1127, select, book, state, "SPOT", start_time=0, end_time=31 * DAY_MS, limit=None)
