"""Shared setup for the simulator's trading tests: empty books, a user, two makers.

Every resting order belongs to a maker account, so each test states its whole
market and can check every balance to the last 1e-8.
"""

from __future__ import annotations

from decimal import Decimal as D

from sim.config import SimConfig
from sim.exchange import Exchange
from sim.hub import Collector, user_topic
from sim.oco_requests import parse_new_oco
from sim.requests import parse_new_order

T0 = 1_700_000_000_000


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        return self.now


def build(**config) -> Exchange:
    config.setdefault("balances", {"USDT": "100000", "BTC": "2", "BNB": "10"})
    exchange = Exchange(SimConfig(**config), clock=Clock(), seed_liquidity=False)
    for n in (1, 2):
        exchange.accounts.add(f"MAKER{n}", f"s{n}",
                              {"USDT": D(1_000_000), "BTC": D(100), "BNB": D(1000)},
                              maker_rate=D("0.001"), taker_rate=D("0.002"))
    return exchange


def maker(exchange: Exchange, n: int = 1):
    return exchange.accounts.get(f"MAKER{n}")


def listen(exchange: Exchange, account=None) -> Collector:
    log = Collector()
    account = account or exchange.default_account
    exchange.hub.subscribe(user_topic(account.account_id), log)
    return log


def order(exchange: Exchange, account=None, **params) -> dict:
    """Place an order from wire-shaped parameters (strings), like the REST endpoint does."""
    params.setdefault("symbol", "BTCUSDT")
    return exchange.place_order(account or exchange.default_account,
                                parse_new_order({k: str(v) for k, v in params.items()}))


def limit(exchange: Exchange, account, side: str, qty: str, price: str, **extra) -> dict:
    return order(exchange, account, side=side, type="LIMIT", timeInForce=extra.pop("tif", "GTC"),
                 quantity=qty, price=price, **extra)


def oco(exchange: Exchange, account=None, **params) -> dict:
    params.setdefault("symbol", "BTCUSDT")
    return exchange.place_oco(account or exchange.default_account,
                              parse_new_oco({k: str(v) for k, v in params.items()}))


def trade_at(exchange: Exchange, price: str, qty: str = "0.01") -> None:
    """Make the last trade price ``price``: maker 2 crosses with maker 1 there."""
    limit(exchange, maker(exchange, 1), "SELL", qty, price)
    order(exchange, maker(exchange, 2), side="BUY", type="MARKET", quantity=qty)


def bal(account, asset: str) -> tuple[D, D]:
    held = account.balance(asset)
    return held.free, held.locked


def reports(log: Collector) -> list[tuple]:
    return [(r["i"], r["o"], r["x"], r["X"]) for r in log.payloads("executionReport")]
