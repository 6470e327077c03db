"""Commissions: the asset received by default, BNB at the BNB/quote price with BNB burn."""

from __future__ import annotations

from decimal import Decimal as D

from sim_trading_helpers import bal, build, limit, maker, order

from sim.commissions import commission


def test_bnb_burn_pays_the_same_value_in_bnb_at_the_bnbusdt_price():
    ex = build(bnb_burn=True)
    assert ex.default_account.bnb_burn and not maker(ex).bnb_burn
    limit(ex, maker(ex), "SELL", "1", "300.0", symbol="BNBUSDT")
    order(ex, maker(ex, 2), symbol="BNBUSDT", side="BUY", type="MARKET", quantity="1")
    assert ex.last_price("BNBUSDT") == D(300)
    limit(ex, maker(ex), "SELL", "0.1", "30000.00")
    answer = order(ex, side="BUY", type="MARKET", quantity="0.1")
    # 0.1 BTC worth 3000 USDT; 0.1% taker = 3 USDT = 0.01 BNB at 300.
    assert [(f["commission"], f["commissionAsset"]) for f in answer["fills"]] == [
        ("0.01000000", "BNB")]
    assert bal(ex.default_account, "BTC") == (D("2.1"), D(0))          # nothing taken off
    assert bal(ex.default_account, "BNB") == (D("9.99"), D(0))
    assert bal(ex.default_account, "USDT") == (D(97000), D(0))
    (trade,) = ex.my_trades(ex.default_account, "BTCUSDT")
    assert (trade["commission"], trade["commissionAsset"]) == ("0.01000000", "BNB")


def test_without_enough_free_bnb_the_received_asset_pays():
    ex = build(bnb_burn=True, balances={"USDT": "100000", "BTC": "2", "BNB": "0.001"})
    limit(ex, maker(ex), "BUY", "0.1", "30000.00")
    answer = order(ex, side="SELL", type="MARKET", quantity="0.1")
    assert [(f["commission"], f["commissionAsset"]) for f in answer["fills"]] == [
        ("3.00000000", "USDT")]
    assert bal(ex.default_account, "BNB") == (D("0.001"), D(0))


def test_commission_rule_edges():
    args = dict(base="ETH", quote="BTC", price=D("0.05"), qty=D("2"), quote_qty=D("0.1"),
                rate=D("0.001"), free_bnb=D(100))
    plain = commission(side="SELL", bnb_burn=False, bnb_price=lambda q: D(1), **args)
    assert (plain.amount, plain.asset) == (D("0.0001"), "BTC")
    no_pair = commission(side="SELL", bnb_burn=True, bnb_price=lambda q: None, **args)
    assert no_pair.asset == "BTC"
    in_bnb = commission(side="BUY", bnb_burn=True, bnb_price=lambda q: D("0.01"), **args)
    assert (in_bnb.amount, in_bnb.asset) == (D("0.01"), "BNB")      # 0.0001 BTC / 0.01
    bnb_quote = commission(side="SELL", base="ETH", quote="BNB", price=D(5), qty=D(1),
                           quote_qty=D(5), rate=D("0.001"), free_bnb=D(1), bnb_burn=True,
                           bnb_price=lambda q: None)
    assert (bnb_quote.amount, bnb_quote.asset) == (D("0.005"), "BNB")
    rounded_up = commission(side="BUY", base="BTC", quote="USDT", price=D(3), qty=D("0.00000001"),
                            quote_qty=D("0.00000003"), rate=D("0.001"), free_bnb=D(0),
                            bnb_burn=False, bnb_price=lambda q: None)
    assert rounded_up.amount == D("0.00000001")
