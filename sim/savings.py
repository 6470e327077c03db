"""Flexible savings: one ledger per account behind both the 2022 Savings and today's Simple Earn API.

Why one ledger: ``/sapi/v1/lending/daily/*`` (the seed) and
``/sapi/v1/simple-earn/flexible/*`` (today) are two faces of the same product;
a client using either must see the same positions, so a product has one id
(``USDT001``) and one position per account whichever API bought it.

Interest: each simulated minute a position earns ``amount * APR / 525600``,
truncated to 1e-8 and added to the position (flexible savings compound), paid
by the house.  Accrual runs in whole simulated minutes from the minute after a
purchase, so the result depends only on simulated time, never on when the
background tick ran.  Redemption: FAST (and Simple Earn's) is immediate;
NORMAL leaves the position at once and arrives one simulated day later.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from sim import wallet_errors
from sim.accounts import Account
from sim.numbers import ZERO, down8
from sim.wallets import DAY_MS, FUNDING, MINUTE_MS

if TYPE_CHECKING:
    from sim.wallet import WalletBook

log = logging.getLogger(__name__)

MINUTES_PER_YEAR = Decimal(365 * 24 * 60)
SIMPLE_EARN_INTERVAL_MS = 3000  # "Rate Limit: 1/3s per account" (subscribe, redeem)
SOURCES = frozenset({"SPOT", "FUND", "ALL"})


@dataclass(frozen=True)
class Product:
    asset: str
    apr: Decimal
    min_purchase: Decimal
    up_limit: Decimal  # all accounts together
    up_limit_per_user: Decimal
    fast_daily_quota: Decimal
    min_redemption: Decimal
    featured: bool = True

    @property
    def product_id(self) -> str:
        return f"{self.asset}001"


def _product(asset: str, apr: str, minimum: str, up_limit: str, per_user: str) -> Product:
    return Product(asset, Decimal(apr), Decimal(minimum), Decimal(up_limit), Decimal(per_user),
                   fast_daily_quota=Decimal(per_user), min_redemption=Decimal(minimum))


PRODUCTS: tuple[Product, ...] = (
    _product("BNB", "0.015", "0.01", "500000", "5000"),
    _product("BTC", "0.01", "0.0001", "5000", "50"),
    _product("ETH", "0.02", "0.001", "50000", "500"),
    _product("USDT", "0.05", "0.1", "100000000", "2000000"),
)


@dataclass
class Pending:
    """A NORMAL redemption on its way: due at a simulated time, to SPOT or FUNDING."""

    due_sim_ms: int
    amount: Decimal
    destination: str


@dataclass
class Position:
    product: Product
    accrued_minute: int  # interest is paid up to the start of this simulated minute
    amount: Decimal = ZERO  # principal plus compounded interest: what can be redeemed
    total_interest: Decimal = ZERO
    today_interest: Decimal = ZERO
    yesterday_interest: Decimal = ZERO
    today_purchased: Decimal = ZERO
    fast_redeemed_today: Decimal = ZERO
    auto_subscribe: bool = True
    pending: list[Pending] = field(default_factory=list)

    @property
    def redeeming(self) -> Decimal:
        return sum((p.amount for p in self.pending), ZERO)

    def accrue(self, until_minute: int) -> Decimal:
        """Pay each whole minute up to ``until_minute``; returns the interest paid."""
        paid = ZERO
        while self.accrued_minute < until_minute:
            interest = down8(self.amount * self.product.apr / MINUTES_PER_YEAR)
            if interest == 0:  # nothing will ever accrue at this amount: skip ahead
                self.accrued_minute = until_minute
                break
            self.amount += interest
            paid += interest
            self.accrued_minute += 1
        self.total_interest += paid
        self.today_interest += paid
        return paid


class Savings:
    def __init__(self, book: WalletBook, products: tuple[Product, ...] = PRODUCTS) -> None:
        self.book = book
        listed = set(book.valuation.assets())
        self.products = {p.product_id: p for p in products if p.asset in listed}
        self._positions: dict[tuple[int, str], Position] = {}
        self._accounts: dict[int, Account] = {}
        self._last_call: dict[tuple[int, str], int] = {}

    # ------------------------------------------------------------------ queries

    def product(self, product_id: str) -> Product:
        found = self.products.get(product_id)
        if found is None:
            raise wallet_errors.product_not_exist()
        return found

    def position(self, account: Account, product: Product) -> Position | None:
        return self._positions.get((account.account_id, product.product_id))

    def positions(self, account: Account) -> list[Position]:
        return [p for (owner, _), p in sorted(self._positions.items()) if owner == account.account_id]

    def purchased(self, product: Product) -> Decimal:
        """All accounts' holdings of a product (the list's ``purchasedAmount``)."""
        return sum((p.amount + p.redeeming for (_, pid), p in self._positions.items()
                    if pid == product.product_id), ZERO)

    def held(self, account: Account, asset: str) -> Decimal:
        return sum((p.amount + p.redeeming for p in self.positions(account)
                    if p.product.asset == asset), ZERO)

    def left_quota(self, account: Account, product: Product) -> Decimal:
        position = self.position(account, product)
        holding = ZERO if position is None else position.amount + position.redeeming
        return max(ZERO, product.up_limit_per_user - holding)

    # ------------------------------------------------------------------- clocks

    def catch_up(self, now_sim: int) -> None:
        """Interest up to the current simulated minute, then the NORMAL redemptions now due."""
        minute = now_sim // MINUTE_MS
        for (owner, _), position in sorted(self._positions.items()):
            paid = position.accrue(minute)
            if paid:
                self.book.house_add(position.product.asset, -paid)
            due = [p for p in position.pending if p.due_sim_ms <= now_sim]
            if due:
                position.pending = [p for p in position.pending if p.due_sim_ms > now_sim]
                for pending in due:
                    self._pay_out(self._accounts[owner], position.product.asset, pending.amount,
                                  pending.destination)

    def new_day(self) -> None:
        for position in self._positions.values():
            position.yesterday_interest = position.today_interest
            position.today_interest = position.today_purchased = position.fast_redeemed_today = ZERO

    def throttle(self, account: Account, action: str) -> None:
        """Simple Earn's one call per 3 s per account (real time: it is a rate limit)."""
        now = self.book.now_ms()
        key = (account.account_id, action)
        last = self._last_call.get(key)
        if last is not None and now - last < SIMPLE_EARN_INTERVAL_MS:
            raise wallet_errors.frequency_too_high()
        self._last_call[key] = now

    # ---------------------------------------------------------------- movements

    def subscribe(self, account: Account, product_id: str, amount: Decimal, *,
                  source: str = "SPOT", auto_subscribe: bool | None = None) -> int:
        """Buy ``amount`` from SPOT, FUNDING (``FUND``) or both (``ALL``: SPOT first)."""
        self.book.require(account, "enableSpotAndMarginTrading")
        product = self.product(product_id)
        self.book.check_amount(amount)
        if amount < product.min_purchase:
            raise wallet_errors.below_min_purchase()
        if amount > self.left_quota(account, product):
            raise wallet_errors.over_user_limit()
        if self.purchased(product) + amount > product.up_limit:
            raise wallet_errors.over_product_limit()
        funding = self.book.book(account).wallets.wallet(FUNDING)
        from_spot = self._split_source(account, product.asset, amount, source, funding.free(product.asset))
        self.catch_up(self.book.sim_ms())
        position = self._open(account, product)
        with self.book.spot(account) as spot:
            spot.debit(product.asset, from_spot)
        funding.debit(product.asset, amount - from_spot)
        position.amount += amount
        position.today_purchased += amount
        if auto_subscribe is not None:
            position.auto_subscribe = auto_subscribe
        log.info("savings.subscribed account=%d product=%s amount=%s", account.account_id,
                 product_id, amount)
        return self.book.next_id()

    def redeem(self, account: Account, product_id: str, amount: Decimal | None, *,
               kind: str = "FAST", destination: str = "SPOT") -> int:
        """``amount=None`` redeems everything; FAST/Simple Earn now, NORMAL a simulated day later."""
        self.book.require(account, "enableSpotAndMarginTrading")
        product = self.product(product_id)
        self.catch_up(self.book.sim_ms())
        position = self.position(account, product)
        if position is None or position.amount <= 0:
            raise wallet_errors.redeem_amount_error()
        if amount is None:
            amount = position.amount
        self.book.check_amount(amount)
        if amount > position.amount:
            raise wallet_errors.redeem_amount_error()
        if amount < product.min_redemption and amount != position.amount:
            raise wallet_errors.redeem_amount_error()
        if kind == "FAST" and position.fast_redeemed_today + amount > product.fast_daily_quota:
            raise wallet_errors.redeem_amount_error()
        position.amount -= amount
        if kind == "NORMAL":
            position.pending.append(Pending(self.book.sim_ms() + DAY_MS, amount, destination))
        else:
            if kind == "FAST":
                position.fast_redeemed_today += amount
            self._pay_out(account, product.asset, amount, destination)
        log.info("savings.redeemed account=%d product=%s amount=%s kind=%s", account.account_id,
                 product_id, amount, kind)
        return self.book.next_id()

    # ---------------------------------------------------------------- internals

    def _split_source(self, account: Account, asset: str, amount: Decimal, source: str,
                      in_funding: Decimal) -> Decimal:
        """How much of ``amount`` comes from SPOT (the rest from FUNDING), or -6012."""
        in_spot = account.balance(asset).free
        if source == "SPOT":
            available, from_spot = in_spot, amount
        elif source == "FUND":
            available, from_spot = in_funding, ZERO
        else:
            available, from_spot = in_spot + in_funding, min(amount, in_spot)
        if amount > available:
            raise wallet_errors.savings_balance_not_enough()
        return from_spot

    def _open(self, account: Account, product: Product) -> Position:
        key = (account.account_id, product.product_id)
        found = self._positions.get(key)
        if found is None:
            minute = self.book.sim_ms() // MINUTE_MS
            found = self._positions[key] = Position(product, accrued_minute=minute)
            self._accounts[account.account_id] = account
        return found

    def _pay_out(self, account: Account, asset: str, amount: Decimal, destination: str) -> None:
        if destination == "FUND":
            self.book.book(account).wallets.wallet(FUNDING).credit(asset, amount)
            return
        with self.book.spot(account) as spot:
            spot.credit(asset, amount)
