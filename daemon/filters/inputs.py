"""What the filters need to know about the market and the account, as plain values.

Why plain values: several filters compare an order with live state (the
average price for PERCENT_PRICE and MARKET notionals, the last price for
stop directions, the book for LIMIT_MAKER, open-order counts for the
MAX_NUM_* family, the position for MAX_POSITION).  Keeping ``daemon.filters``
pure means that state arrives as one immutable ``MarketInputs`` built by the
caller (the gateway, a test, the differential test against the simulator).

A field left ``None`` means "not known".  A rule that needs it then refuses
the order and says which input was missing: trading on a rule that cannot be
evaluated is how an order breaks a limit.
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

import msgspec

from daemon.orders import OrderRequest
from daemon.filters.base import ALGO_TYPES

__all__ = [
    "AVERAGE_PRICE", "BOOK", "EXCHANGE_OPEN", "LAST_PRICE", "NO_MARKET_DATA", "NOTHING_ADDED",
    "MarketInputs", "OpenCounts", "POSITION", "SYMBOL_OPEN", "additions",
]

# Names of the inputs a rule can need (``Filter.needs``, ``SymbolRules.needs``).
AVERAGE_PRICE = "average_price"
LAST_PRICE = "last_price"
BOOK = "book"
SYMBOL_OPEN = "symbol_open"
EXCHANGE_OPEN = "exchange_open"
POSITION = "position"


class OpenCounts(NamedTuple):
    """Open orders by the kinds the exchange limits: all, algo (stop), iceberg, order lists."""

    orders: int = 0
    algo: int = 0
    iceberg: int = 0
    lists: int = 0

    def plus(self, other: OpenCounts) -> OpenCounts:
        return OpenCounts(self.orders + other.orders, self.algo + other.algo,
                          self.iceberg + other.iceberg, self.lists + other.lists)


class MarketInputs(msgspec.Struct, frozen=True, kw_only=True):
    """Live state one validation reads.  ``None`` = unknown (the rule that needs it refuses).

    * ``average_price``: the exchange's average price over the symbol's
      ``avgPriceMins`` (``GET /api/v3/avgPrice`` or a stream); MARKET notionals,
      PERCENT_PRICE, MAX_ASSET and MAX_POSITION estimates use it.
    * ``last_price``: the last trade; stop directions, OCO straddles, and the
      filters whose ``avgPriceMins`` is 0.
    * ``best_bid`` / ``best_ask``: the local book top; a LIMIT_MAKER that would
      cross it is refused.  Unknown book = not checked (the exchange refuses it).
    * ``symbol_open`` / ``exchange_open``: open orders on this symbol and on
      the whole account, including orders sent but not yet acknowledged.
    * ``position``: MAX_POSITION's position, base free + locked + the quantity
      of open BUY orders on the symbol (in flight included).
    """

    average_price: Decimal | None = None
    last_price: Decimal | None = None
    best_bid: Decimal | None = None
    best_ask: Decimal | None = None
    symbol_open: OpenCounts | None = None
    exchange_open: OpenCounts | None = None
    position: Decimal | None = None


#: Nothing known: every rule that needs live state refuses.
NO_MARKET_DATA = MarketInputs()

#: For checks that must not count (the legs of an OCO, counted once as a pair).
NOTHING_ADDED = OpenCounts()

_ONE_ORDER = OpenCounts(1, 0, 0, 0)
_ONE_ALGO = OpenCounts(1, 1, 0, 0)


def additions(request: OrderRequest) -> OpenCounts:
    """How many open orders of each kind ``request`` adds once placed."""
    iceberg = isinstance(request.iceberg_qty, Decimal) and request.iceberg_qty > 0
    if request.type in ALGO_TYPES:
        return OpenCounts(1, 1, 1, 0) if iceberg else _ONE_ALGO
    return OpenCounts(1, 0, 1, 0) if iceberg else _ONE_ORDER
