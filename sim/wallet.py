"""The Binance wallet side of the simulated exchange: wallets, transfers, savings, dust, snapshots.

Why one book per exchange: every wallet operation moves money between the SPOT
trading account (``sim.accounts``), the other wallets of the same account
(``sim.wallets``), the savings ledger and the exchange itself (the *house*,
which absorbs dust, pays BNB and interest and keeps fees).  Keeping them in one
place makes one rule checkable: for every asset, what the users hold in all
wallets and savings plus the house's (signed) balance never changes, except by
deposits from outside (the BingX bridge).

SPOT changes made here are pushed on the account's user-data stream as the seed
documents for transfers between accounts: one ``balanceUpdate`` per change,
then one ``outboundAccountPosition`` listing the assets touched.

Time: records carry exchange time (wall-clock ms, what clients filter on); the
slow clocks (the 24 h dust rule, interest per simulated minute, daily
snapshots, NORMAL redemptions a day later) run on *simulated* time, which is
exchange time scaled by ``time_factor`` since the book was made.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

import trio

from sim import errors, wallet_errors
from sim.accounts import Account
from sim.bingx import BingxVenue
from sim.dust import Dust, DustConversion
from sim.hub import user_topic
from sim.numbers import ZERO, down8, fmt8
from sim.savings import Savings
from sim.snapshots import Snapshot, take_snapshot
from sim.valuation import Valuation
from sim.wallet_weights import WALLET_UID_WEIGHTS, WALLET_WEIGHTS
from sim.wallets import (
    DAY_MS,
    FUNDING,
    MAIN,
    MINUTE_MS,
    TRANSFER_TYPES,
    AccountWallets,
    TransferRecord,
    TransferRequest,
    check_margin_asset,
    check_symbols,
)

if TYPE_CHECKING:
    from sim.exchange import Exchange

log = logging.getLogger(__name__)

# Re-exported: the rate limiter looks for the wallet endpoints' weights here (sim.weighing).
__all__ = [
    "WALLET_UID_WEIGHTS", "WALLET_WEIGHTS", "AccountBook", "SpotChanges", "WalletBook",
    "run_wallet_clock",
]

HISTORY_DEFAULT_MS = 7 * DAY_MS

# GET /sapi/v1/account/apiRestrictions, as a key with universal transfer enabled.
DEFAULT_PERMISSIONS: dict[str, bool] = {
    "ipRestrict": False,
    "enableWithdrawals": False,
    "enableInternalTransfer": True,
    "permitsUniversalTransfer": True,
    "enableVanillaOptions": False,
    "enableReading": True,
    "enableFutures": False,
    "enableMargin": False,
    "enableSpotAndMarginTrading": True,
}


@dataclass
class AccountBook:
    """Everything the wallet endpoints know about one account beyond its SPOT balances."""

    account: Account
    uid: int
    created_ms: int
    wallets: AccountWallets = field(default_factory=AccountWallets)
    transfers: list[TransferRecord] = field(default_factory=list)
    dust_log: list[DustConversion] = field(default_factory=list)
    last_dust_sim_ms: int | None = None
    snapshots: list[Snapshot] = field(default_factory=list)
    permissions: dict[str, bool] = field(default_factory=lambda: dict(DEFAULT_PERMISSIONS))

    @property
    def email(self) -> str:
        """The address a BingX internal transfer names to reach this account (see sim.bingx)."""
        return f"sim-{self.uid}@binance.invalid"


class SpotChanges:
    """Balance changes of one SPOT account, published when the ``with`` block ends."""

    def __init__(self, account: Account) -> None:
        self.account = account
        self.deltas: list[tuple[str, Decimal]] = []

    def credit(self, asset: str, amount: Decimal) -> None:
        if amount > 0:
            self.account.credit(asset, amount)
            self.deltas.append((asset, amount))

    def debit(self, asset: str, amount: Decimal) -> None:
        if amount > self.account.balance(asset).free:
            raise wallet_errors.insufficient_balance()
        if amount > 0:
            self.account.debit(asset, amount)
            self.deltas.append((asset, -amount))


class WalletBook:
    def __init__(self, exchange: Exchange) -> None:
        self.exchange = exchange
        self.time_factor = exchange.config.time_factor
        self.valuation = Valuation(exchange.specs, exchange.market.mid)
        self.pairs = {name: (spec.base, spec.quote) for name, spec in exchange.specs.items()}
        self.house: dict[str, Decimal] = {}
        self.maintenance = False
        self.started_ms = exchange.now_ms()
        self._day: int | None = None
        self._books: dict[int, AccountBook] = {}
        self._tran_ids = 13_526_853_000
        self.savings = Savings(self)
        self.dust = Dust(self)
        self.bingx = BingxVenue(self)  # the other venue, bridged through FUNDING (sim.bingx)

    # ------------------------------------------------------------------ clocks

    def now_ms(self) -> int:
        return self.exchange.now_ms()

    def sim_ms(self) -> int:
        """Simulated time: exchange time, sped up by ``time_factor`` since the book began."""
        elapsed = self.exchange.now_ms() - self.started_ms
        return self.started_ms + int(elapsed * self.time_factor)

    def next_id(self) -> int:
        self._tran_ids += 1
        return self._tran_ids

    def advance(self) -> None:
        """Bring the slow clocks up to now: interest, due redemptions, day roll-over, snapshots.

        Called by the background tick and before every wallet request, so results
        depend on simulated time only, never on when the tick happened to run.
        """
        now_sim = self.sim_ms()
        self.savings.catch_up(now_sim)
        day = now_sim // DAY_MS
        if day != self._day:
            self._day = day
            self.savings.new_day()
            for account in self.exchange.accounts:
                take_snapshot(self, self.book(account))

    # ----------------------------------------------------------------- accounts

    def book(self, account: Account) -> AccountBook:
        found = self._books.get(account.account_id)
        if found is None:
            # Per seed and account, not per creation order: the same account has the same UID.
            rng = random.Random(f"tradingd-sim-uid:{self.exchange.config.seed}:{account.account_id}")
            uid = rng.randrange(10**8, 10**9)
            found = self._books[account.account_id] = AccountBook(account, uid, self.now_ms())
        return found

    def find_by_email(self, email: str) -> AccountBook | None:
        for account in self.exchange.accounts:
            candidate = self.book(account)
            if candidate.email == email:
                return candidate
        return None

    def require(self, account: Account, permission: str) -> None:
        """A key without the permission an endpoint needs is refused like a wrong key."""
        if not self.book(account).permissions[permission]:
            raise errors.rejected_api_key()

    @contextmanager
    def spot(self, account: Account) -> Iterator[SpotChanges]:
        """Change SPOT balances; each change then goes out as ``balanceUpdate``, then the position."""
        changes = SpotChanges(account)
        try:
            yield changes
        finally:
            if changes.deltas:
                self._publish(changes)

    def _publish(self, changes: SpotChanges) -> None:
        now = self.now_ms()
        account = changes.account
        account.update_time = now
        topic = user_topic(account.account_id)
        for asset, delta in changes.deltas:
            self.exchange.hub.publish(topic, {"e": "balanceUpdate", "E": now, "a": asset,
                                              "d": fmt8(delta), "T": now})
        self.exchange.publish_changes(())
        log.info("wallet.spot_changed account=%d assets=%s", account.account_id,
                 ",".join(dict.fromkeys(asset for asset, _ in changes.deltas)))

    def house_add(self, asset: str, amount: Decimal) -> None:
        """The exchange's own side of a conversion or payout (negative: it paid out)."""
        self.house[asset] = self.house.get(asset, ZERO) + amount

    def holdings(self, account: Account, asset: str) -> Decimal:
        """All of ``asset`` the account owns: SPOT (free and locked), other wallets, savings."""
        held = account.balance(asset)
        book = self.book(account)
        return held.free + held.locked + book.wallets.total(asset) + self.savings.held(account, asset)

    # --------------------------------------------------------------- transfers

    def transfer(
        self, account: Account, type_name: str, asset: str, amount: Decimal,
        from_symbol: str | None = None, to_symbol: str | None = None,
    ) -> int:
        """``POST /sapi/v1/asset/transfer``: checked in full before anything moves."""
        self.require(account, "permitsUniversalTransfer")
        kind = TRANSFER_TYPES.get(type_name)
        if kind is None:
            raise errors.invalid_parameter("type")
        self.check_amount(amount)
        self.check_asset(asset)
        check_symbols(kind, from_symbol, to_symbol, self.pairs)
        request = TransferRequest(kind, asset, amount, from_symbol, to_symbol)
        check_margin_asset(request, self.pairs)
        wallets = self.book(account).wallets
        if kind.source == MAIN:
            available = account.balance(asset).free
        else:
            available = wallets.wallet(kind.source, from_symbol).free(asset)
        if amount > available:
            raise wallet_errors.insufficient_balance()
        with self.spot(account) as spot:
            if kind.source == MAIN:
                spot.debit(asset, amount)
            else:
                wallets.wallet(kind.source, from_symbol).debit(asset, amount)
            if kind.destination == MAIN:
                spot.credit(asset, amount)
            else:
                wallets.wallet(kind.destination, to_symbol).credit(asset, amount)
        record = TransferRecord(self.next_id(), kind.name, asset, amount, self.now_ms(),
                                from_symbol, to_symbol)
        self.book(account).transfers.append(record)
        log.info("wallet.transfer account=%d type=%s asset=%s amount=%s", account.account_id,
                 kind.name, asset, amount)
        return record.tran_id

    def transfer_history(
        self, account: Account, type_name: str, *, start_time: int | None, end_time: int | None,
        current: int, size: int, from_symbol: str | None, to_symbol: str | None,
    ) -> tuple[int, list[TransferRecord]]:
        """Newest first; without a time range, the last 7 days (the seed's default)."""
        kind = TRANSFER_TYPES.get(type_name)
        if kind is None:
            raise errors.invalid_parameter("type")
        check_symbols(kind, from_symbol, to_symbol, self.pairs)
        if start_time is None and end_time is None:
            start_time = self.now_ms() - HISTORY_DEFAULT_MS
        rows = [
            record for record in reversed(self.book(account).transfers)
            if record.type == kind.name
            and (start_time is None or record.timestamp >= start_time)
            and (end_time is None or record.timestamp <= end_time)
            and (from_symbol is None or record.from_symbol == from_symbol)
            and (to_symbol is None or record.to_symbol == to_symbol)
        ]
        first = (current - 1) * size
        return len(rows), rows[first:first + size]

    def receive_external(self, account: Account, asset: str, amount: Decimal) -> None:
        """A payment from outside Binance (the BingX bridge) lands in the FUNDING wallet."""
        self.book(account).wallets.wallet(FUNDING).credit(asset, amount)
        log.info("wallet.received account=%d asset=%s amount=%s", account.account_id, asset, amount)

    # ------------------------------------------------------------------ checks

    def check_asset(self, asset: str) -> None:
        if asset not in self.valuation.assets():
            raise wallet_errors.asset_unknown()

    @staticmethod
    def check_amount(amount: Decimal) -> None:
        if amount <= 0:
            raise wallet_errors.amount_over_zero()
        if down8(amount) != amount:
            raise wallet_errors.too_precise()

    def btc_value(self, asset: str, amount: Decimal) -> Decimal:
        """``amount`` of ``asset`` in BTC truncated to 1e-8 (zero where no price path exists)."""
        value = self.valuation.value(asset, amount, "BTC")
        return ZERO if value is None else down8(value)


async def run_wallet_clock(book: WalletBook) -> None:
    """Advance the slow clocks about once per simulated minute (at most 20 times a second).

    Only for timeliness: events such as a NORMAL redemption's arrival or a day's
    snapshot happen close to their simulated time even when no request comes.
    """
    interval = max(0.05, MINUTE_MS / 1000 / book.time_factor)
    while True:
        await trio.sleep(interval)
        book.advance()
