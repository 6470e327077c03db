"""Helpers for the wallet-side simulator tests: an exchange on a fake clock, conservation."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sim import Exchange, SimConfig
from sim.errors import SimApiError

START_MS = 1_700_000_000_000
ASSETS = ("BNB", "BTC", "ETH", "USDT")


class FakeClock:
    def __init__(self) -> None:
        self.ms = START_MS

    def __call__(self) -> int:
        return self.ms


def make(time_factor: float = 1.0, balances: dict[str, str] | None = None):
    clock = FakeClock()
    config = SimConfig(time_factor=time_factor,
                       balances=balances or {"USDT": "1000", "BTC": "0.5", "ETH": "5", "BNB": "10"})
    exchange = Exchange(config, clock=clock, seed_liquidity=False)
    return exchange, clock


def world(exchange: Exchange) -> dict[str, Decimal]:
    """Per asset: everything every account holds anywhere, plus the house's signed balance."""
    book = exchange.wallet
    return {
        asset: sum((book.holdings(account, asset) for account in exchange.accounts), Decimal(0))
        + book.house.get(asset, Decimal(0))
        for asset in ASSETS
    }


def refused(code: int, call, *args, **kwargs) -> SimApiError:
    with pytest.raises(SimApiError) as caught:
        call(*args, **kwargs)
    assert caught.value.code == code, caught.value.msg
    return caught.value
