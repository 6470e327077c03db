"""Ledger invariants of the simulator under random order flow between user accounts.

Whatever sequence of orders and cancels three accounts send, of every type
(LIMIT GTC/IOC/FOK, MARKET by quantity and by quote, LIMIT_MAKER, icebergs,
STOP_LOSS/TAKE_PROFIT and their LIMIT forms, trailing stops, OCO lists and their
cancels), no asset is created or lost (balances plus commissions charged equal
the start, BNB-burn commissions included), every locked amount is exactly what
the account's open orders still reserve, the book is never crossed, and no
contingent order is left waiting whose trigger has already been reached.
"""

from __future__ import annotations

from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from sim import errors
from sim.config import SimConfig
from sim.exchange import Exchange
from sim.oco_requests import parse_list_ref, parse_new_oco
from sim.requests import parse_new_order, parse_order_ref

START = {"USDT": D("50000"), "BTC": D("2"), "BNB": D("5")}
KINDS = ["limit", "ioc", "fok", "market", "quote", "maker", "iceberg", "stop", "stop_limit",
         "take_profit", "trailing", "oco", "cancel", "cancel_list"]

actions = st.lists(
    st.tuples(
        st.sampled_from(KINDS),
        st.integers(min_value=0, max_value=2),      # which account
        st.sampled_from(["BUY", "SELL"]),
        st.integers(min_value=29996, max_value=30004),  # price in whole USDT
        st.integers(min_value=40, max_value=5000),       # quantity in 1e-5 BTC
    ),
    min_size=15,
    max_size=60,
)


def build() -> tuple[Exchange, list]:
    exchange = Exchange(
        SimConfig(balances={k: str(v) for k, v in START.items()}, bnb_burn=True),
        clock=lambda: 1_700_000_000_000, seed_liquidity=False,
    )
    accounts = [exchange.default_account]
    for n in (1, 2):
        accounts.append(exchange.accounts.add(f"K{n}", f"S{n}", dict(START),
                                              maker_rate=D("0.00075"), taker_rate=D("0.002")))
    return exchange, accounts


def _stop_params(side: str, price: int, last: D, kind: str) -> dict[str, str]:
    """A stop/take-profit on the side of ``last`` where it will not trigger at once."""
    above = (kind == "stop") == (side == "BUY")  # STOP_LOSS BUY / TAKE_PROFIT SELL sit above
    offset = abs(price - 30000) + 1
    stop = (last + offset) if above else (last - offset)
    return {"stopPrice": f"{stop:.2f}"}


def act(exchange: Exchange, account, kind: str, side: str, price: int, units: int) -> None:
    qty = str(D(units) / D(100000))
    params = {"symbol": "BTCUSDT", "side": side}
    last = exchange.last_price("BTCUSDT")
    if kind in ("limit", "ioc", "fok", "iceberg"):
        params.update(type="LIMIT", quantity=qty, price=f"{price}.00",
                      timeInForce={"ioc": "IOC", "fok": "FOK"}.get(kind, "GTC"))
        if kind == "iceberg":
            params["icebergQty"] = str(D(units // 4 + 1) / D(100000))
    elif kind == "maker":
        params.update(type="LIMIT_MAKER", quantity=qty, price=f"{price}.00")
    elif kind == "market":
        params.update(type="MARKET", quantity=qty)
    elif kind == "quote":
        params.update(type="MARKET", quoteOrderQty=str(units // 10 + 10))
    elif kind in ("stop", "take_profit"):
        params.update(type="STOP_LOSS" if kind == "stop" else "TAKE_PROFIT", quantity=qty,
                      **_stop_params(side, price, last, kind))
    elif kind == "stop_limit":
        params.update(type="STOP_LOSS_LIMIT", quantity=qty, price=f"{price}.00",
                      timeInForce="GTC", **_stop_params(side, price, last, "stop"))
    elif kind == "trailing":
        params.update(type="STOP_LOSS", quantity=qty, trailingDelta=str(units % 50 + 1))
    elif kind == "oco":
        gap = abs(price - 30000) + 1
        limit_price, stop_price = (last + gap, last - gap) if side == "SELL" else (
            last - gap, last + gap)
        request = parse_new_oco({"symbol": "BTCUSDT", "side": side, "quantity": qty,
                                 "price": f"{limit_price:.2f}", "stopPrice": f"{stop_price:.2f}"})
        try:
            exchange.place_oco(account, request)
        except errors.SimApiError as refused:
            assert refused.code in (-2010, -1013), refused
        return
    elif kind == "cancel_list":
        lists = account.open_order_lists("BTCUSDT")
        if lists:
            exchange.cancel_order_list(account, parse_list_ref(
                {"symbol": "BTCUSDT", "orderListId": str(lists[0].order_list_id)}, for_cancel=True))
        return
    else:
        open_orders = account.open_orders("BTCUSDT")
        if open_orders:
            ref = {"symbol": "BTCUSDT", "orderId": str(open_orders[-1].order_id)}
            exchange.cancel_order(account, parse_order_ref(ref, for_cancel=True))
        return
    try:
        exchange.place_order(account, parse_new_order(params))
    except errors.SimApiError as refused:
        assert refused.code in (-2010, -1013), refused


@settings(max_examples=120, deadline=None)
@given(actions)
def test_random_flow_keeps_the_ledger_exact(steps):
    exchange, accounts = build()
    for kind, who, side, price, units in steps:
        act(exchange, accounts[who], kind, side, price, units)
        book = exchange.books["BTCUSDT"]
        bid, ask = book.best("BUY"), book.best("SELL")
        assert bid is None or ask is None or bid[0] < ask[0]

    for asset in START:
        held = sum(a.balance(asset).free + a.balance(asset).locked for a in accounts)
        fees = sum(t.commission for a in accounts for trades in a.trades.values()
                   for t in trades if t.commission_asset == asset)
        assert held + fees == START[asset] * 3, asset
    for account in accounts:
        reserved = {"USDT": D(0), "BTC": D(0), "BNB": D(0)}
        for open_order in account.open_orders():
            reserved["USDT" if open_order.side == "BUY" else "BTC"] += open_order.reserved
            if not open_order.working:   # still waiting: its trigger was never reached
                assert open_order in exchange.stops["BTCUSDT"]
        for asset in START:
            assert account.balance(asset).locked == reserved[asset]
            assert account.balance(asset).free >= 0
        for order_list in account.order_lists.values():
            legs_open = [leg.is_open for leg in order_list.orders]
            if order_list.is_open:
                assert legs_open == [True, True]
            else:
                assert legs_open != [True, True]
