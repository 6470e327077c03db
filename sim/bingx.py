"""The simulated BingX accounts: wallets, transfers between them, internal transfers between users.

What is modelled (the BingX Account & Wallet spec, seed 004):

* a BingX account has the wallets its APIs name: ``fund``, ``spot``,
  ``stdFutures`` (standard contract), ``coinMPerp``, ``USDTMPerp`` (perpetual
  futures), ``copyTrading``, ``grid``, ``eran`` (the spec's spelling of earn)
  and ``c2c``; plain per-asset balances (nothing trades here);
* the v3 transfer types name wallets by code: FUND -> ``fund``, SFUTURES ->
  ``stdFutures``, PFUTURES -> ``USDTMPerp``, STRADING -> ``grid``, CTRADING ->
  ``copyTrading``; the newer transfer names wallets directly.  Both write one
  history, which both record endpoints read (a v3 ``type`` exists only where
  both wallets have a code);
* USDⓈ-margined wallets hold USDT only; the others, ``coinMPerp`` included, any
  asset (so that every pair of the newer transfer's accounts can move something);
* an internal transfer debits the payer's ``walletType`` wallet (1 fund, 2
  standard futures, 3 perpetual futures) and credits the recipient's fund
  wallet.  The recipient is another simulated BingX user (by UID, email or
  phone) or, as the bridge between the two venues, a simulated *Binance*
  account (by its UID or its ``sim-<uid>@binance.invalid`` email): the money
  then lands in that account's Binance FUNDING wallet.
"""

from __future__ import annotations

import logging
import random
import string
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from sim.bingx_errors import BingxError, insufficient_balance, invalid
from sim.bingx_limits import UidLimiter
from sim.config import API_KEY_RE
from sim.numbers import ZERO, down8

if TYPE_CHECKING:
    from sim.wallet import WalletBook

log = logging.getLogger(__name__)

WALLETS = ("fund", "spot", "stdFutures", "coinMPerp", "USDTMPerp", "copyTrading", "grid", "eran", "c2c")
# GET /openApi/account/v1/allAccountBalance lists these; its "spot" is "spot (fund account)".
OVERVIEW_TYPES = ("spot", "stdFutures", "coinMPerp", "USDTMPerp", "copyTrading", "grid", "eran", "c2c")
NEW_TRANSFER_ACCOUNTS = ("fund", "spot", "stdFutures", "coinMPerp", "USDTMPerp")
V3_CODES = {"FUND": "fund", "SFUTURES": "stdFutures", "PFUTURES": "USDTMPerp", "STRADING": "grid",
            "CTRADING": "copyTrading"}
V3_POST_TYPES = ("FUND_SFUTURES", "SFUTURES_FUND", "FUND_PFUTURES", "PFUTURES_FUND",
                 "SFUTURES_PFUTURES", "PFUTURES_SFUTURES")
V3_QUERY_TYPES = V3_POST_TYPES + ("FUND_STRADING", "STRADING_FUND", "FUND_CTRADING", "SFUTURES_CTRADING",
                                  "PFUTURES_CTRADING", "CTRADING_FUND", "CTRADING_SFUTURES",
                                  "CTRADING_PFUTURES")
INNER_WALLETS = {1: "fund", 2: "stdFutures", 3: "USDTMPerp"}
USD_MARGINED = frozenset({"stdFutures", "USDTMPerp", "copyTrading", "grid"})
DEFAULT_BALANCES: dict[str, dict[str, str]] = {"fund": {"USDT": "1000"},
                                               "spot": {"USDT": "500", "BTC": "0.01"}}
_ALPHABET = string.ascii_letters + string.digits


def bingx_credentials(seed: int) -> tuple[str, str]:
    """A deterministic (api_key, api_secret) pair, like the Binance account's (sim.config)."""
    rng = random.Random(f"tradingd-sim-bingx-credentials:{seed}")
    return ("".join(rng.choice(_ALPHABET) for _ in range(64)),
            "".join(rng.choice(_ALPHABET) for _ in range(64)))


def v3_type(source: str, destination: str) -> str | None:
    codes = {wallet: code for code, wallet in V3_CODES.items()}
    if source in codes and destination in codes:
        return f"{codes[source]}_{codes[destination]}"
    return None


def holds(wallet: str, asset: str) -> bool:
    """USDⓈ-margined wallets hold USDT only; the others (coin-margined included) any asset."""
    if wallet in USD_MARGINED:
        return asset == "USDT"
    return True


@dataclass(frozen=True)
class Transfer:
    transfer_id: int
    asset: str
    amount: Decimal
    source: str
    destination: str
    timestamp: int


@dataclass(frozen=True)
class InnerTransfer:
    transfer_id: int
    coin: str
    amount: Decimal
    from_uid: int
    receiver: int
    time: int
    client_id: str
    record_type: str  # "out" for the payer, "in" for the recipient
    status: int = 6  # completed


@dataclass(eq=False)
class BingxAccount:
    uid: int
    api_key: str
    api_secret: str
    email: str
    phone: tuple[str, str] | None = None  # (callingCode, number)
    wallets: dict[str, dict[str, Decimal]] = field(default_factory=lambda: {w: {} for w in WALLETS})
    transfers: list[Transfer] = field(default_factory=list)
    inner: list[InnerTransfer] = field(default_factory=list)
    ip_whitelist: frozenset[str] | None = None  # None: any address (the simulator is loopback only)

    def free(self, wallet: str, asset: str) -> Decimal:
        return self.wallets[wallet].get(asset, ZERO)

    def credit(self, wallet: str, asset: str, amount: Decimal) -> None:
        self.wallets[wallet][asset] = self.free(wallet, asset) + amount

    def debit(self, wallet: str, asset: str, amount: Decimal) -> None:
        if amount > self.free(wallet, asset):
            raise insufficient_balance()
        self.wallets[wallet][asset] = self.free(wallet, asset) - amount

    def total(self, asset: str) -> Decimal:
        return sum((held.get(asset, ZERO) for held in self.wallets.values()), ZERO)


class BingxVenue:
    """Every simulated BingX account; prices and the Binance bridge come from the wallet book."""

    def __init__(self, book: WalletBook) -> None:
        self.book = book
        config = book.exchange.config
        self._rng = random.Random(f"tradingd-sim-bingx-uids:{config.seed}")
        self._ids = 1_000_000_000
        self._by_key: dict[str, BingxAccount] = {}
        self.limiter = UidLimiter(book.now_ms)  # per-UID request limits of the REST routes
        key, secret = config.bingx_api_key, config.bingx_api_secret
        if (key is None) != (secret is None):
            raise ValueError("sim bingx_api_key and bingx_api_secret must be given together")
        if key is None or secret is None:
            key, secret = bingx_credentials(config.seed)
        if not API_KEY_RE.match(key) or not API_KEY_RE.match(secret):
            raise ValueError("sim bingx_api_key and bingx_api_secret must be 1-128 letters and digits")
        balances = DEFAULT_BALANCES if config.bingx_balances is None else config.bingx_balances
        self.default = self.add(key, secret, balances)

    def add(self, api_key: str, api_secret: str, balances: dict[str, dict[str, str]]) -> BingxAccount:
        """A new user with ``balances`` per wallet (amounts as strings, checked here)."""
        if api_key in self._by_key:
            raise ValueError("sim bingx account with this API key exists already")
        uid = self._rng.randrange(10**9, 10**10)
        account = BingxAccount(uid, api_key, api_secret, email=f"sim-{uid}@bingx.invalid")
        for wallet, amounts in balances.items():
            if wallet not in WALLETS:
                raise ValueError(f"sim bingx balances: unknown wallet {wallet!r}")
            for asset, raw in amounts.items():
                try:
                    amount = Decimal(str(raw))
                except InvalidOperation as exc:
                    raise ValueError(f"sim bingx balances.{wallet}.{asset} is not a decimal") from exc
                if not amount.is_finite() or amount < 0 or not holds(wallet, asset):
                    raise ValueError(f"sim bingx balances.{wallet}.{asset} is not valid: {raw!r}")
                account.credit(wallet, asset, amount)
        self._by_key[api_key] = account
        return account

    def get(self, api_key: str) -> BingxAccount | None:
        return self._by_key.get(api_key)

    def __iter__(self):
        return iter(self._by_key.values())

    def next_id(self) -> int:
        self._ids += 1
        return self._ids

    def usdt_value(self, asset: str, amount: Decimal) -> Decimal:
        value = self.book.valuation.value(asset, amount, "USDT")
        return ZERO if value is None else down8(value)

    # ------------------------------------------------------------------ moves

    def transfer(self, account: BingxAccount, source: str, destination: str, asset: str,
                 amount: Decimal) -> Transfer:
        if source == destination:
            raise invalid("toAccount")
        _check_amount(amount)
        if not holds(destination, asset) or not holds(source, asset):
            raise invalid("asset")
        account.debit(source, asset, amount)  # refuses before anything moved
        account.credit(destination, asset, amount)
        record = Transfer(self.next_id(), asset, amount, source, destination, self.book.now_ms())
        account.transfers.append(record)
        log.info("bingx.transfer uid=%d from=%s to=%s asset=%s amount=%s", account.uid, source,
                 destination, asset, amount)
        return record

    def inner_transfer(self, account: BingxAccount, *, coin: str, account_type: int, recipient: str,
                       calling_code: str | None, amount: Decimal, wallet_type: int,
                       client_id: str) -> InnerTransfer:
        source = INNER_WALLETS.get(wallet_type)
        if source is None:
            raise invalid("walletType")
        _check_amount(amount)
        if client_id and any(t.client_id == client_id for t in account.inner if t.record_type == "out"):
            raise invalid("transferClientId")
        target, binance = self._recipient(account_type, recipient, calling_code)
        if target is account:
            raise invalid("userAccount")
        account.debit(source, coin, amount)
        now = self.book.now_ms()
        record_id = self.next_id()
        receiver = binance.uid if binance is not None else target.uid
        out = InnerTransfer(record_id, coin, amount, account.uid, receiver, now, client_id, "out")
        account.inner.append(out)
        if binance is not None:
            self.book.receive_external(binance.account, coin, amount)
        else:
            target.credit("fund", coin, amount)
            target.inner.append(InnerTransfer(record_id, coin, amount, account.uid, receiver, now,
                                              client_id, "in"))
        log.info("bingx.inner_transfer uid=%d to=%d coin=%s amount=%s binance=%s", account.uid,
                 receiver, coin, amount, binance is not None)
        return out

    def _recipient(self, account_type: int, recipient: str, calling_code: str | None):
        """(BingX account, None) or (None, Binance AccountBook) for a UID, phone or email."""
        if account_type == 1:
            for candidate in self:
                if str(candidate.uid) == recipient:
                    return candidate, None
            for binance in self._binance_books():
                if str(binance.uid) == recipient:
                    return None, binance
        elif account_type == 2:
            if not calling_code:
                raise invalid("callingCode")
            for candidate in self:
                if candidate.phone == (calling_code, recipient):
                    return candidate, None
        elif account_type == 3:
            for candidate in self:
                if candidate.email == recipient:
                    return candidate, None
            found = self.book.find_by_email(recipient)
            if found is not None:
                return None, found
        else:
            raise invalid("userAccountType")
        raise invalid("userAccount")

    def _binance_books(self):
        return [self.book.book(account) for account in self.book.exchange.accounts]


def _check_amount(amount: Decimal) -> None:
    if amount <= 0 or down8(amount) != amount:
        raise invalid("amount")


__all__ = ["BingxAccount", "BingxError", "BingxVenue", "bingx_credentials"]
