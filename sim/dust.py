"""Dust to BNB: which small SPOT balances convert, what they fetch, and the conversion log.

The seed's rules (Wallet Endpoints, "Dust Transfer", "Get Assets That Can Be
Converted Into BNB", and the -5xxx errors):

* a balance is dust when its BTC value is below 0.001 BTC (-5004 otherwise);
  BNB itself is the target, never dust;
* the whole free balance converts, at the simulator's current prices, to BNB
  minus a 2 % service charge (``dribbletPercentage`` "0.02"), truncated to 1e-8;
* an account converts at most once in 24 hours (-5006), measured in simulated
  time so a test with a large ``time_factor`` waits seconds, not a day.

The exchange (the wallet book's *house*) takes the dust and pays the BNB, so
for every asset user holdings plus the house's balance stay constant, and the
BNB value of the dust equals what was credited plus the service charge.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from sim import errors, wallet_errors
from sim.accounts import Account
from sim.numbers import ZERO, down8, fmt8
from sim.wallets import DAY_MS

if TYPE_CHECKING:
    from sim.wallet import WalletBook

log = logging.getLogger(__name__)

TARGET = "BNB"
SERVICE_CHARGE = Decimal("0.02")
THRESHOLD_BTC = Decimal("0.001")
LOG_LIMIT = 100
_NAMES = {"BTC": "Bitcoin", "ETH": "Ethereum", "USDT": "TetherUS", "BNB": "BNB"}


@dataclass(frozen=True)
class DustQuote:
    """What converting the whole free balance of one asset would give."""

    asset: str
    amount: Decimal
    to_btc: Decimal
    to_bnb: Decimal  # before the service charge

    @property
    def service_charge(self) -> Decimal:
        return down8(self.to_bnb * SERVICE_CHARGE)

    @property
    def transferred(self) -> Decimal:
        return self.to_bnb - self.service_charge


@dataclass(frozen=True)
class DustConversion:
    """One ``POST /sapi/v1/asset/dust``: one transId, one line per asset."""

    trans_id: int
    operate_time: int
    quotes: tuple[DustQuote, ...]

    @property
    def total_transferred(self) -> Decimal:
        return sum((quote.transferred for quote in self.quotes), ZERO)

    @property
    def total_service_charge(self) -> Decimal:
        return sum((quote.service_charge for quote in self.quotes), ZERO)


class Dust:
    def __init__(self, book: WalletBook) -> None:
        self.book = book

    def quote(self, account: Account, asset: str) -> DustQuote | None:
        """The conversion of ``asset``'s free balance, or None if it has no price or no balance."""
        amount = account.balance(asset).free
        to_btc = self.book.valuation.value(asset, amount, "BTC")
        to_bnb = self.book.valuation.value(asset, amount, TARGET)
        if asset == TARGET or amount <= 0 or to_btc is None or to_bnb is None:
            return None
        return DustQuote(asset, amount, down8(to_btc), down8(to_bnb))

    def convertible(self, account: Account) -> list[DustQuote]:
        """``POST /sapi/v1/asset/dust-btc``: the assets below the threshold, by name."""
        quotes = (self.quote(account, asset) for asset in sorted(account.balances))
        return [q for q in quotes if q is not None and q.to_btc < THRESHOLD_BTC and q.transferred > 0]

    def convert(self, account: Account, assets: list[str]) -> DustConversion:
        """Convert every named asset or none (every refusal is checked before anything moves)."""
        self.book.require(account, "enableSpotAndMarginTrading")
        if not assets:
            raise errors.mandatory_missing("asset")
        if len(set(assets)) != len(assets):
            raise errors.invalid_parameter("asset")
        state = self.book.book(account)
        now_sim = self.book.sim_ms()
        if state.last_dust_sim_ms is not None and now_sim - state.last_dust_sim_ms < DAY_MS:
            raise wallet_errors.once_in_24_hours()
        quotes = [self._checked_quote(account, asset) for asset in assets]
        conversion = DustConversion(self.book.next_id(), self.book.now_ms(), tuple(quotes))
        with self.book.spot(account) as spot:
            for quote in quotes:
                spot.debit(quote.asset, quote.amount)
                self.book.house_add(quote.asset, quote.amount)
            spot.credit(TARGET, conversion.total_transferred)
            self.book.house_add(TARGET, -conversion.total_transferred)
        state.last_dust_sim_ms = now_sim
        state.dust_log.append(conversion)
        log.info("wallet.dust account=%d assets=%s bnb=%s", account.account_id, ",".join(assets),
                 conversion.total_transferred)
        return conversion

    def _checked_quote(self, account: Account, asset: str) -> DustQuote:
        self.book.check_asset(asset)
        if asset == TARGET:
            raise errors.invalid_parameter("asset")
        if account.balance(asset).free <= 0:
            raise wallet_errors.no_such_asset_held()
        quote = self.quote(account, asset)
        if quote is None:
            raise wallet_errors.no_such_asset_held()
        if quote.to_btc >= THRESHOLD_BTC:
            raise wallet_errors.dust_over_threshold(asset)
        if quote.transferred <= 0:
            raise wallet_errors.dust_too_low(asset)
        return quote


# ---------------------------------------------------------------------- renderers


def render_convertible(quotes: list[DustQuote]) -> dict[str, object]:
    return {
        "details": [
            {
                "asset": q.asset,
                "assetFullName": _NAMES.get(q.asset, q.asset),
                "amountFree": fmt8(q.amount),
                "toBTC": fmt8(q.to_btc),
                "toBNB": fmt8(q.to_bnb),
                "toBNBOffExchange": fmt8(q.transferred),
                "exchange": fmt8(q.service_charge),
            }
            for q in quotes
        ],
        "totalTransferBtc": fmt8(sum((q.to_btc for q in quotes), ZERO)),
        "totalTransferBNB": fmt8(sum((q.to_bnb for q in quotes), ZERO)),
        "dribbletPercentage": format(SERVICE_CHARGE, "f"),
    }


def render_conversion(conversion: DustConversion) -> dict[str, object]:
    return {
        "totalServiceCharge": fmt8(conversion.total_service_charge),
        "totalTransfered": fmt8(conversion.total_transferred),
        "transferResult": [
            {
                "amount": fmt8(q.amount),
                "fromAsset": q.asset,
                "operateTime": conversion.operate_time,
                "serviceChargeAmount": fmt8(q.service_charge),
                "tranId": conversion.trans_id,
                "transferedAmount": fmt8(q.transferred),
            }
            for q in conversion.quotes
        ],
    }


def render_log(conversions: list[DustConversion], start_time: int | None,
               end_time: int | None) -> dict[str, object]:
    """``GET /sapi/v1/asset/dribblet``: the last 100 conversions in the range, oldest first."""
    chosen = [
        c for c in conversions
        if (start_time is None or c.operate_time >= start_time)
        and (end_time is None or c.operate_time <= end_time)
    ][-LOG_LIMIT:]
    return {
        "total": len(chosen),
        "userAssetDribblets": [
            {
                "operateTime": c.operate_time,
                "totalTransferedAmount": fmt8(c.total_transferred),
                "totalServiceChargeAmount": fmt8(c.total_service_charge),
                "transId": c.trans_id,
                "userAssetDribbletDetails": [
                    {
                        "transId": c.trans_id,
                        "serviceChargeAmount": fmt8(q.service_charge),
                        "amount": fmt8(q.amount),
                        "operateTime": c.operate_time,
                        "transferedAmount": fmt8(q.transferred),
                        "fromAsset": q.asset,
                    }
                    for q in c.quotes
                ],
            }
            for c in chosen
        ],
    }
