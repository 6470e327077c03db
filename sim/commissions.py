"""Trading commissions: the maker or taker rate, in the asset received or in BNB.

Why its own module: the rule has a branch the matching code should not carry.
By default a fill pays ``rate * amount received`` (rounded up to 1e-8) in the
asset received: base on a BUY, quote on a SELL.  An account with "BNB burn" on
pays the same value in BNB instead, converted at the last price of BNB against
the trade's quote asset, as long as its *free* BNB covers it; otherwise (or
when no such price exists, or BNB is the asset received anyway) it pays the
default way.  The simulator applies no BNB discount: the rate is the
account's rate either way, so a test can predict the charge exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from sim.numbers import up8

BNB = "BNB"


@dataclass(frozen=True)
class Charge:
    amount: Decimal
    asset: str

    @property
    def in_bnb(self) -> bool:
        return self.asset == BNB


def commission(
    *,
    side: str,
    base: str,
    quote: str,
    price: Decimal,
    qty: Decimal,
    quote_qty: Decimal,
    rate: Decimal,
    bnb_burn: bool,
    free_bnb: Decimal,
    bnb_price: Callable[[str], Decimal | None],
) -> Charge:
    """The charge for one fill of ``qty`` at ``price`` (``quote_qty`` already truncated).

    ``bnb_price(quote)`` is the price of one BNB in ``quote`` (None when the
    simulator lists no BNB/``quote`` symbol); with ``quote == "BNB"`` it is 1.
    """
    received, amount = (base, qty) if side == "BUY" else (quote, quote_qty)
    default = Charge(up8(amount * rate), received)
    if not bnb_burn or rate == 0 or received == BNB:
        return default
    value_in_quote = (qty * price if side == "BUY" else quote_qty) * rate
    bnb_in_quote = Decimal(1) if quote == BNB else bnb_price(quote)
    if bnb_in_quote is None or bnb_in_quote <= 0:
        return default
    in_bnb = up8(value_in_quote / bnb_in_quote)
    if in_bnb > free_bnb:
        return default
    return Charge(in_bnb, BNB)
