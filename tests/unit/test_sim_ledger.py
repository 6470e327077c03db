"""Ledger invariants of the simulator under random order flow between user accounts.

Whatever sequence of orders and cancels three accounts send, no asset is
created or lost (balances plus commissions charged equal the start), every
locked amount is exactly what the account's open orders still reserve, and
the book is never crossed.
"""

from __future__ import annotations

from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from sim import errors
from sim.config import SimConfig
from sim.exchange import Exchange
from sim.requests import parse_new_order, parse_order_ref

START = {"USDT": D("50000"), "BTC": D("2")}

actions = st.lists(
    st.tuples(
        st.sampled_from(["limit", "ioc", "fok", "market", "quote", "cancel"]),
        st.integers(min_value=0, max_value=2),      # which account
        st.sampled_from(["BUY", "SELL"]),
        st.integers(min_value=29998, max_value=30002),  # price in whole USDT
        st.integers(min_value=40, max_value=5000),       # quantity in 1e-5 BTC
    ),
    min_size=15,
    max_size=60,
)


def build() -> tuple[Exchange, list]:
    exchange = Exchange(
        SimConfig(balances={k: str(v) for k, v in START.items()}),
        clock=lambda: 1_700_000_000_000, seed_liquidity=False,
    )
    accounts = [exchange.default_account]
    for n in (1, 2):
        accounts.append(exchange.accounts.add(f"K{n}", f"S{n}", dict(START),
                                              maker_rate=D("0.00075"), taker_rate=D("0.002")))
    return exchange, accounts


def act(exchange: Exchange, account, kind: str, side: str, price: int, units: int) -> None:
    qty = str(D(units) / D(100000))
    params = {"symbol": "BTCUSDT", "side": side}
    if kind in ("limit", "ioc", "fok"):
        params.update(type="LIMIT", quantity=qty, price=f"{price}.00",
                      timeInForce={"limit": "GTC", "ioc": "IOC", "fok": "FOK"}[kind])
    elif kind == "market":
        params.update(type="MARKET", quantity=qty)
    elif kind == "quote":
        params.update(type="MARKET", quoteOrderQty=str(units // 10 + 10))
    else:
        open_orders = account.open_orders("BTCUSDT")
        if open_orders:
            ref = {"symbol": "BTCUSDT", "orderId": str(open_orders[0].order_id)}
            exchange.cancel_order(account, parse_order_ref(ref, for_cancel=True))
        return
    try:
        exchange.place_order(account, parse_new_order(params))
    except errors.SimApiError as refused:
        assert refused.code in (-2010, -1013), refused


@settings(max_examples=100, deadline=None)
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
        reserved = {"USDT": D(0), "BTC": D(0)}
        for open_order in account.open_orders():
            reserved["USDT" if open_order.side == "BUY" else "BTC"] += open_order.reserved
        for asset in START:
            assert account.balance(asset).locked == reserved[asset]
            assert account.balance(asset).free >= 0
