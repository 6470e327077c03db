"""The non-spot wallets of a simulated Binance account and the universal-transfer types.

Why these wallets are plain per-asset balances: nothing trades in them here (no
futures, margin or options engine), so a wallet needs no locks and no orders;
it only has to hold what ``POST /sapi/v1/asset/transfer`` moves in and out,
exactly.  The SPOT wallet (the seed's ``MAIN``) is not here: it is the trading
account of ``sim.accounts``, whose changes must reach the user-data stream, and
``sim.wallet.WalletBook`` moves money between the two.

The transfer types are the seed's enum plus the ones today's docs added (the
swagger's list): each names its source and destination wallet.  Isolated margin
holds one wallet per symbol; the seed's rule decides which side must name it::

    fromSymbol must be sent when type are ISOLATEDMARGIN_MARGIN and ISOLATEDMARGIN_ISOLATEDMARGIN
    toSymbol must be sent when type are MARGIN_ISOLATEDMARGIN and ISOLATEDMARGIN_ISOLATEDMARGIN

(and, by the same logic, ``MAIN_ISOLATED_MARGIN`` needs ``toSymbol``,
``ISOLATED_MARGIN_MAIN`` needs ``fromSymbol``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sim import errors, wallet_errors
from sim.accounts import LedgerError
from sim.numbers import ZERO

MAIN = "MAIN"  # the spot wallet, in the seed's transfer vocabulary
FUNDING = "FUNDING"
UMFUTURE = "UMFUTURE"
CMFUTURE = "CMFUTURE"
MARGIN = "MARGIN"
ISOLATED = "ISOLATEDMARGIN"
OPTION = "OPTION"
PORTFOLIO_MARGIN = "PORTFOLIO_MARGIN"

# The units of the wallet side's slow clocks (simulated time, see sim.wallet).
MINUTE_MS = 60_000
DAY_MS = 86_400_000

NON_SPOT_WALLETS: tuple[str, ...] = (FUNDING, UMFUTURE, CMFUTURE, MARGIN, OPTION, PORTFOLIO_MARGIN)


@dataclass(frozen=True)
class TransferType:
    name: str
    source: str
    destination: str

    @property
    def needs_from_symbol(self) -> bool:
        return self.source == ISOLATED

    @property
    def needs_to_symbol(self) -> bool:
        return self.destination == ISOLATED

    @property
    def touches_spot(self) -> bool:
        return MAIN in (self.source, self.destination)


def _types(*rows: tuple[str, str, str]) -> dict[str, TransferType]:
    return {name: TransferType(name, source, destination) for name, source, destination in rows}


TRANSFER_TYPES: dict[str, TransferType] = _types(
    # The seed (early 2022).
    ("MAIN_UMFUTURE", MAIN, UMFUTURE),
    ("MAIN_CMFUTURE", MAIN, CMFUTURE),
    ("MAIN_MARGIN", MAIN, MARGIN),
    ("UMFUTURE_MAIN", UMFUTURE, MAIN),
    ("UMFUTURE_MARGIN", UMFUTURE, MARGIN),
    ("CMFUTURE_MAIN", CMFUTURE, MAIN),
    ("CMFUTURE_MARGIN", CMFUTURE, MARGIN),
    ("MARGIN_MAIN", MARGIN, MAIN),
    ("MARGIN_UMFUTURE", MARGIN, UMFUTURE),
    ("MARGIN_CMFUTURE", MARGIN, CMFUTURE),
    ("ISOLATEDMARGIN_MARGIN", ISOLATED, MARGIN),
    ("MARGIN_ISOLATEDMARGIN", MARGIN, ISOLATED),
    ("ISOLATEDMARGIN_ISOLATEDMARGIN", ISOLATED, ISOLATED),
    ("MAIN_FUNDING", MAIN, FUNDING),
    ("FUNDING_MAIN", FUNDING, MAIN),
    ("FUNDING_UMFUTURE", FUNDING, UMFUTURE),
    ("UMFUTURE_FUNDING", UMFUTURE, FUNDING),
    ("MARGIN_FUNDING", MARGIN, FUNDING),
    ("FUNDING_MARGIN", FUNDING, MARGIN),
    ("FUNDING_CMFUTURE", FUNDING, CMFUTURE),
    ("CMFUTURE_FUNDING", CMFUTURE, FUNDING),
    # Added since (today's docs and the swagger).
    ("MAIN_OPTION", MAIN, OPTION),
    ("OPTION_MAIN", OPTION, MAIN),
    ("UMFUTURE_OPTION", UMFUTURE, OPTION),
    ("OPTION_UMFUTURE", OPTION, UMFUTURE),
    ("MARGIN_OPTION", MARGIN, OPTION),
    ("OPTION_MARGIN", OPTION, MARGIN),
    ("FUNDING_OPTION", FUNDING, OPTION),
    ("OPTION_FUNDING", OPTION, FUNDING),
    ("MAIN_PORTFOLIO_MARGIN", MAIN, PORTFOLIO_MARGIN),
    ("PORTFOLIO_MARGIN_MAIN", PORTFOLIO_MARGIN, MAIN),
    ("MAIN_ISOLATED_MARGIN", MAIN, ISOLATED),
    ("ISOLATED_MARGIN_MAIN", ISOLATED, MAIN),
)


@dataclass
class WalletBalances:
    """Free amounts per asset of one non-spot wallet; never negative."""

    amounts: dict[str, Decimal] = field(default_factory=dict)

    def free(self, asset: str) -> Decimal:
        return self.amounts.get(asset, ZERO)

    def credit(self, asset: str, amount: Decimal) -> None:
        if amount < 0:
            raise LedgerError(f"wallet.negative_credit asset={asset} amount={amount}")
        self.amounts[asset] = self.free(asset) + amount

    def debit(self, asset: str, amount: Decimal) -> None:
        held = self.free(asset)
        if amount < 0 or amount > held:
            raise LedgerError(f"wallet.negative asset={asset} available={held} amount={amount}")
        self.amounts[asset] = held - amount

    def nonzero(self) -> dict[str, Decimal]:
        return {asset: amount for asset, amount in sorted(self.amounts.items()) if amount > 0}


@dataclass
class AccountWallets:
    """Every non-spot wallet of one account; isolated margin keeps one wallet per symbol."""

    wallets: dict[str, WalletBalances] = field(
        default_factory=lambda: {name: WalletBalances() for name in NON_SPOT_WALLETS}
    )
    isolated: dict[str, WalletBalances] = field(default_factory=dict)

    def wallet(self, name: str, symbol: str | None = None) -> WalletBalances:
        if name == ISOLATED:
            if symbol is None:
                raise LedgerError("wallet.isolated_without_symbol")
            return self.isolated.setdefault(symbol, WalletBalances())
        return self.wallets[name]

    def total(self, asset: str) -> Decimal:
        """All of ``asset`` held outside SPOT (for conservation checks)."""
        held = sum((w.free(asset) for w in self.wallets.values()), ZERO)
        return held + sum((w.free(asset) for w in self.isolated.values()), ZERO)


@dataclass(frozen=True)
class TransferRecord:
    """One universal transfer as ``GET /sapi/v1/asset/transfer`` lists it."""

    tran_id: int
    type: str
    asset: str
    amount: Decimal
    timestamp: int
    from_symbol: str | None = None
    to_symbol: str | None = None
    status: str = "CONFIRMED"


@dataclass(frozen=True)
class TransferRequest:
    """A checked transfer: the type, what moves, and the isolated symbols it names."""

    type: TransferType
    asset: str
    amount: Decimal
    from_symbol: str | None
    to_symbol: str | None


def check_symbols(
    kind: TransferType, from_symbol: str | None, to_symbol: str | None,
    pair_assets: dict[str, tuple[str, str]],
) -> None:
    """The seed's fromSymbol/toSymbol rules; symbols must be margin pairs of the simulator.

    ``pair_assets`` maps each symbol to its (base, quote).  A symbol sent where the
    type does not use it is refused (-1128), like an unknown pair (-3028).
    """
    for needed, given, name in ((kind.needs_from_symbol, from_symbol, "fromSymbol"),
                                (kind.needs_to_symbol, to_symbol, "toSymbol")):
        if needed and given is None:
            raise errors.mandatory_missing(name)
        if not needed and given is not None:
            raise wallet_errors.bad_combination()
        if given is not None and given not in pair_assets:
            raise wallet_errors.not_valid_margin_pair()
    if kind.source == ISOLATED and kind.destination == ISOLATED and from_symbol == to_symbol:
        raise errors.invalid_parameter("toSymbol")


def check_margin_asset(request: TransferRequest, pair_assets: dict[str, tuple[str, str]]) -> None:
    """An isolated wallet holds only its pair's base and quote assets."""
    for symbol in (request.from_symbol, request.to_symbol):
        if symbol is not None and request.asset not in pair_assets[symbol]:
            raise wallet_errors.not_valid_margin_asset()
