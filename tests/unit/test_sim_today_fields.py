"""Fields today's docs add to the seed's shapes, with the values the sim's behaviour implies:
``workingTime`` (-1 until a stop fires), ``selfTradePreventionMode`` NONE (the engine lets an
account trade with itself), ``transactTime`` on cancel, ``commissionRates`` and ``uid``."""

from __future__ import annotations

from decimal import Decimal as D

from sim_trading_helpers import T0, build, limit, maker, order, trade_at

from sim.requests import parse_order_ref


def ref(placed: dict, *, for_cancel: bool = False) -> object:
    return parse_order_ref({"symbol": "BTCUSDT", "orderId": str(placed["orderId"])},
                           for_cancel=for_cancel)


def test_working_time_is_placement_for_limits_and_trigger_time_for_stops():
    ex = build()
    clock = ex.clock
    placed = limit(ex, None, "BUY", "0.01", "29000.00", newOrderRespType="RESULT")
    assert (placed["workingTime"], placed["transactTime"]) == (T0, T0)
    assert placed["selfTradePreventionMode"] == "NONE"
    assert placed["origQuoteOrderQty"] == "0.00000000"

    stop = order(ex, side="SELL", type="STOP_LOSS_LIMIT", timeInForce="GTC", quantity="0.1",
                 price="29900.00", stopPrice="29950.00", newOrderRespType="RESULT")
    assert stop["workingTime"] == -1
    assert ex.query_order(ex.default_account, ref(stop))["workingTime"] == -1
    clock.now = T0 + 5_000
    limit(ex, maker(ex), "BUY", "1", "29920.00")
    trade_at(ex, "29950.00")  # the stop fires now
    assert ex.query_order(ex.default_account, ref(stop))["workingTime"] == T0 + 5_000


def test_cancel_reports_its_own_time_and_the_stp_mode():
    ex = build()
    placed = limit(ex, None, "BUY", "0.01", "29000.00")
    ex.clock.now = T0 + 1_234
    canceled = ex.cancel_order(ex.default_account, ref(placed, for_cancel=True))
    assert canceled["transactTime"] == T0 + 1_234
    assert canceled["selfTradePreventionMode"] == "NONE"
    assert "workingTime" not in canceled  # today's cancel shape has none


def test_an_account_can_trade_with_itself_so_stp_none_is_true():
    """The mode the sim reports must be what it does: no self-trade is prevented."""
    ex = build()
    limit(ex, None, "SELL", "0.01", "30000.00")
    taken = order(ex, side="BUY", type="MARKET", quantity="0.01")
    assert taken["status"] == "FILLED" and "preventedMatchId" not in taken
    info = ex.spec("BTCUSDT").info()
    assert info["defaultSelfTradePreventionMode"] == "NONE"
    assert info["allowedSelfTradePreventionModes"] == ["NONE"]
    assert info["permissionSets"] == [info["permissions"]]


def test_account_commission_rates_and_uid():
    ex = build()
    ex.accounts.add("K", "S", {"USDT": D(1)}, maker_rate=D("0.00075"), taker_rate=D("0.001"))
    account = ex.accounts.get("K")
    body = ex.account_info(account)
    assert body["commissionRates"] == {"maker": "0.00075000", "taker": "0.00100000",
                                       "buyer": "0.00000000", "seller": "0.00000000"}
    assert (body["makerCommission"], body["takerCommission"]) == (7, 10)
    assert body["uid"] == ex.wallet.book(account).uid  # the same user as the wallet endpoints
    assert body["uid"] != ex.account_info(ex.default_account)["uid"]
