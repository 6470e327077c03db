"""Simulator rules that disagreed with the gateway's in the differential test, and the spec.

Each test pins one reading the simulator got wrong against the text
(``tests/integration/test_gateway_differential.py`` found them):

* LOT_SIZE / MARKET_LOT_SIZE ``maxQty`` and NOTIONAL ``maxNotional`` of 0: filters.md
  gives only PRICE_FILTER a "disabled on 0" rule, so 0 is a limit like any other;
* an empty ``permissions`` list: today's exchangeInfo moved permissions to
  ``permissionSets`` and sends ``"permissions": []`` (CHANGELOG 2024-04-10);
* MAX_POSITION: "BUY orders will be rejected if the account's position is greater
  than the maximum position allowed", also a BUY whose estimated quantity is 0;
* request amounts up to the grammar's 20 + 20 digits are judged, not a crash.
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from sim_trading_helpers import Clock, order

from sim import errors
from sim.config import SimConfig
from sim.exchange import Exchange
from sim.numbers import down8, is_multiple, up8
from sim.requests import parse_new_order


def market_with(*filters: dict, **entry) -> Exchange:
    symbols = [{"symbol": "BTCUSDT", "baseAsset": "BTC", "quoteAsset": "USDT", "filters": list(filters),
                "simInitialPrice": "30000", "simLot": "0.01", **entry}]
    config = SimConfig(balances={"USDT": "1000000", "BTC": "2"}, symbols=symbols)
    return Exchange(config, clock=Clock(), seed_liquidity=False)


def answer(ex: Exchange, **params) -> tuple[int, str] | None:
    """``order/test``'s answer (the checks of a new order, nothing placed)."""
    params.setdefault("symbol", "BTCUSDT")
    try:
        req = parse_new_order({k: str(v) for k, v in params.items()})
        ex.check_user_order(ex.default_account, ex.spec(req.symbol), req, ex.now_ms())
    except errors.SimApiError as exc:
        return exc.code, exc.msg
    return None


LIMIT = {"side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "price": "29000"}


@pytest.mark.parametrize("kind", ["LOT_SIZE", "MARKET_LOT_SIZE"])
def test_a_zero_max_qty_is_a_limit_not_a_switch(kind):
    ex = market_with({"filterType": kind, "minQty": "0", "maxQty": "0", "stepSize": "0"})
    assert answer(ex, side="BUY", type="MARKET", quantity="0.001") == (-1013, f"Filter failure: {kind}")
    ex = market_with({"filterType": kind, "minQty": "0", "maxQty": "1", "stepSize": "0"})
    assert answer(ex, side="BUY", type="MARKET", quantity="1") is None


def test_a_zero_max_notional_refuses_what_it_applies_to():
    ex = market_with({"filterType": "NOTIONAL", "minNotional": "0", "applyMinToMarket": True,
                      "maxNotional": "0", "applyMaxToMarket": False, "avgPriceMins": 5})
    assert answer(ex, **LIMIT, quantity="0.001") == (-1013, "Filter failure: NOTIONAL")
    assert answer(ex, side="BUY", type="MARKET", quantity="0.001") is None  # applyMaxToMarket false


def test_an_empty_permissions_list_restricts_nothing():
    assert answer(market_with(permissions=[]), **LIMIT, quantity="0.001") is None
    assert answer(market_with(permissions=["MARGIN"]), **LIMIT, quantity="0.001") == (
        -2010, "This symbol is not permitted for this account.")


def test_max_position_refuses_every_buy_over_the_limit():
    ex = market_with({"filterType": "MAX_POSITION", "maxPosition": "1"})  # holds 2 BTC
    # 0.0001 USDT buys less than 1e-8 BTC at 30000: the position is over the limit all the same.
    assert answer(ex, side="BUY", type="MARKET", quoteOrderQty="0.0001") == (
        -1013, "Filter failure: MAX_POSITION")
    assert answer(ex, side="SELL", type="MARKET", quoteOrderQty="0.0001") is None


def test_large_legal_amounts_are_judged_not_crashed():
    # 28 significant digits (the default context) are too few for a 20 + 8 digit
    # quantity on a 1e-10 grid, or for price * quantity to 1e-8: both raised InvalidOperation.
    ex = market_with({"filterType": "LOT_SIZE", "minQty": "0.0000000001",
                      "maxQty": "100000000000000000000", "stepSize": "0.0000000001"})
    huge = "12345678901234567890.12345678"
    assert answer(ex, **LIMIT, quantity=huge) is None
    assert answer(ex, **{**LIMIT, "price": "0.00000001"}, quantity="0.1") == (
        -2010, "Price * QTY is zero or less.")
    assert is_multiple(D(huge), D(0), D("0.0000000001"))
    assert not is_multiple(D(huge) + D("0.00000001"), D(0), D("0.00000002"))
    assert down8(D(29000) * D(huge)) == D(29000) * D(huge)
    assert up8(D(huge) / 7) > D(huge) / 7
    with pytest.raises(errors.SimApiError) as caught:  # placing it fails on the balance, no crash
        order(ex, side="BUY", type="LIMIT", timeInForce="GTC", quantity=huge, price="1")
    assert caught.value.msg == "Account has insufficient balance for requested action."
