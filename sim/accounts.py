"""Simulated accounts: exact Decimal balances (free/locked), orders and trade history.

Why balances move only through these few operations (lock, unlock, spend_locked,
credit, debit): every change is then checked against going negative and
recorded as "changed" for the next ``outboundAccountPosition``, which must list
exactly the assets an event touched.  A negative balance is a simulator bug, so
it raises ``LedgerError`` rather than an API error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from sim import errors
from sim.numbers import ZERO

if TYPE_CHECKING:
    from sim.engine import Order
    from sim.order_lists import OrderList


class LedgerError(RuntimeError):
    """An internal accounting invariant broke (a balance would go negative)."""


@dataclass
class Balance:
    free: Decimal = ZERO
    locked: Decimal = ZERO


@dataclass
class TradeRecord:
    """One fill of this account, as ``GET /api/v3/myTrades`` reports it."""

    symbol: str
    trade_id: int
    order_id: int
    price: Decimal
    qty: Decimal
    quote_qty: Decimal
    commission: Decimal
    commission_asset: str
    time: int
    is_buyer: bool
    is_maker: bool
    order_list_id: int = -1


@dataclass
class Account:
    """One exchange account and everything the REST API reports about it."""

    account_id: int
    api_key: str
    api_secret: str
    maker_rate: Decimal
    taker_rate: Decimal
    balances: dict[str, Balance] = field(default_factory=dict)
    update_time: int = 0
    orders: dict[tuple[str, int], Order] = field(default_factory=dict)
    trades: dict[str, list[TradeRecord]] = field(default_factory=dict)
    # Order lists (OCO) by orderListId (sim.order_lists); ids are unique on the exchange.
    order_lists: dict[int, OrderList] = field(default_factory=dict)
    # canTrade false: every new order is refused ("This action is disabled on this account.").
    can_trade: bool = True
    # Pay commissions in BNB when free BNB covers them (sim.commissions).
    bnb_burn: bool = False
    _changed: dict[str, None] = field(default_factory=dict)
    # The orders that were open when last looked at (see open_orders), in placement order.
    _open: dict[tuple[str, int], Order] = field(default_factory=dict, repr=False)

    # ---------------------------------------------------------------- balances

    def balance(self, asset: str) -> Balance:
        found = self.balances.get(asset)
        if found is None:
            found = self.balances[asset] = Balance()
        return found

    def lock(self, asset: str, amount: Decimal) -> None:
        """Move ``amount`` from free to locked, or refuse like the matching engine."""
        held = self.balance(asset)
        if amount > held.free:
            raise errors.order_rejected(errors.INSUFFICIENT_BALANCE)
        held.free -= amount
        held.locked += amount
        self._touch(asset)

    def unlock(self, asset: str, amount: Decimal) -> None:
        if amount == 0:
            return
        held = self.balance(asset)
        self._require(asset, held.locked, amount)
        held.locked -= amount
        held.free += amount
        self._touch(asset)

    def spend_locked(self, asset: str, amount: Decimal) -> None:
        held = self.balance(asset)
        self._require(asset, held.locked, amount)
        held.locked -= amount
        self._touch(asset)

    def credit(self, asset: str, amount: Decimal) -> None:
        self.balance(asset).free += amount
        self._touch(asset)

    def debit(self, asset: str, amount: Decimal) -> None:
        held = self.balance(asset)
        self._require(asset, held.free, amount)
        held.free -= amount
        self._touch(asset)

    def take_changes(self) -> list[str]:
        """Assets touched since the last call, in the order they were first touched."""
        changed = list(self._changed)
        self._changed.clear()
        return changed

    def _touch(self, asset: str) -> None:
        self._changed[asset] = None

    @staticmethod
    def _require(asset: str, available: Decimal, amount: Decimal) -> None:
        if amount < 0 or amount > available:
            raise LedgerError(f"ledger.negative asset={asset} available={available} amount={amount}")

    # ------------------------------------------------------------------ orders

    def add_order(self, order: Order) -> None:
        """Keep a new order (``orders``) and note it among the open ones."""
        key = (order.symbol, order.order_id)
        self.orders[key] = order
        self._open[key] = order

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        """The open orders, oldest first.

        Why an index: every new order's filter checks ask for them, and scanning
        ``orders`` (every order ever placed) made placement cost grow with the
        history (1.2 ms per order after 10k orders, most of it here).  An order
        never reopens (NEW -> PARTIALLY_FILLED -> a final status), so the index
        only needs pruning of the orders that have closed since the last call.
        """
        open_now = self._open
        for key in [key for key, order in open_now.items() if not order.is_open]:
            del open_now[key]
        if symbol is None:
            return list(open_now.values())
        return [order for order in open_now.values() if order.symbol == symbol]

    def find_order(
        self, symbol: str, order_id: int | None, client_order_id: str | None
    ) -> Order | None:
        """By orderId (and, if both are given, both must match), else the newest by client id."""
        if order_id is not None:
            order = self.orders.get((symbol, order_id))
            if order is not None and client_order_id is not None:
                if order.client_order_id != client_order_id:
                    return None
            return order
        newest: Order | None = None
        for order in self.orders.values():
            if order.symbol == symbol and order.client_order_id == client_order_id:
                if newest is None or order.order_id > newest.order_id:
                    newest = order
        return newest

    def open_order_lists(self, symbol: str | None = None) -> list[OrderList]:
        return [
            order_list
            for order_list in self.order_lists.values()
            if order_list.is_open and (symbol is None or order_list.symbol == symbol)
        ]

    def record_trade(self, record: TradeRecord) -> None:
        self.trades.setdefault(record.symbol, []).append(record)


class AccountRegistry:
    """Accounts by API key; the first one added is the simulator's default account."""

    def __init__(self) -> None:
        self._by_key: dict[str, Account] = {}

    def add(
        self,
        api_key: str,
        api_secret: str,
        balances: dict[str, Decimal],
        *,
        maker_rate: Decimal,
        taker_rate: Decimal,
    ) -> Account:
        if api_key in self._by_key:
            raise ValueError("sim account with this API key exists already")
        account = Account(
            account_id=len(self._by_key) + 1,
            api_key=api_key,
            api_secret=api_secret,
            maker_rate=maker_rate,
            taker_rate=taker_rate,
            balances={asset: Balance(free=amount) for asset, amount in balances.items()},
        )
        self._by_key[api_key] = account
        return account

    def get(self, api_key: str) -> Account | None:
        return self._by_key.get(api_key)

    def __iter__(self):
        return iter(self._by_key.values())
