"""Daily account snapshots (``GET /sapi/v1/accountSnapshot``) recorded by the simulator.

Why recorded rather than computed on request: a snapshot is what the balances
*were* at the end of a day; the wallet book takes one per account when a
simulated day begins (and once at start, so a fresh simulator has one), with
the prices of that moment for ``totalAssetOfBtc``.  ``updateTime`` is exchange
time (what clients filter on), the day is simulated time.

Types: SPOT (the trading account), MARGIN (the cross-margin wallet: nothing is
ever borrowed here) and FUTURES (the USDⓈ-M wallet, no positions).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from sim import errors, wallet_errors
from sim.numbers import ZERO, fmt8
from sim.wallets import DAY_MS, MARGIN, UMFUTURE

if TYPE_CHECKING:
    from sim.wallet import AccountBook, WalletBook

TYPES = ("SPOT", "MARGIN", "FUTURES")
DEFAULT_LIMIT, MIN_LIMIT, MAX_LIMIT = 5, 5, 30
MAX_RANGE_MS = 30 * DAY_MS
DEFAULT_RANGE_DAYS = 7
# Cross margin with no liability: Binance reports a margin level of 999.
NO_LIABILITY_MARGIN_LEVEL = Decimal(999)


@dataclass(frozen=True)
class Snapshot:
    sim_day: int
    update_time: int
    spot: tuple[tuple[str, Decimal, Decimal], ...]  # (asset, free, locked)
    margin: tuple[tuple[str, Decimal], ...]
    futures: tuple[tuple[str, Decimal], ...]
    spot_btc: Decimal
    margin_btc: Decimal


def take_snapshot(book: WalletBook, state: AccountBook) -> Snapshot:
    account = state.account
    spot = tuple(
        (asset, held.free, held.locked)
        for asset, held in sorted(account.balances.items())
        if held.free + held.locked > 0
    )
    margin = tuple(state.wallets.wallet(MARGIN).nonzero().items())
    futures = tuple(state.wallets.wallet(UMFUTURE).nonzero().items())
    snapshot = Snapshot(
        sim_day=book.sim_ms() // DAY_MS,
        update_time=book.now_ms(),
        spot=spot,
        margin=margin,
        futures=futures,
        spot_btc=sum((book.btc_value(a, free + locked) for a, free, locked in spot), ZERO),
        margin_btc=sum((book.btc_value(a, amount) for a, amount in margin), ZERO),
    )
    state.snapshots.append(snapshot)
    return snapshot


def select(
    book: WalletBook, state: AccountBook, kind: str, *, start_time: int | None,
    end_time: int | None, limit: int | None,
) -> list[Snapshot]:
    """The seed's rules: at most 30 days apart; default the last 7 (simulated) days, 5 rows."""
    if kind not in TYPES:
        raise errors.invalid_parameter("type")
    if limit is None:
        limit = DEFAULT_LIMIT
    if not MIN_LIMIT <= limit <= MAX_LIMIT:
        raise errors.invalid_parameter("limit")
    if start_time is not None and end_time is not None:
        if end_time - start_time > MAX_RANGE_MS:
            raise wallet_errors.interval_too_big(MAX_RANGE_MS // 3_600_000)
    chosen = state.snapshots
    if start_time is None and end_time is None:
        first_day = book.sim_ms() // DAY_MS - DEFAULT_RANGE_DAYS
        chosen = [s for s in chosen if s.sim_day > first_day]
    chosen = [
        s for s in chosen
        if (start_time is None or s.update_time >= start_time)
        and (end_time is None or s.update_time <= end_time)
    ]
    return chosen[-limit:]


def render(kind: str, snapshots: list[Snapshot]) -> dict[str, object]:
    return {"code": 200, "msg": "", "snapshotVos": [_render_one(kind, s) for s in snapshots]}


def _render_one(kind: str, snapshot: Snapshot) -> dict[str, object]:
    if kind == "SPOT":
        data: dict[str, object] = {
            "balances": [{"asset": a, "free": fmt8(free), "locked": fmt8(locked)}
                         for a, free, locked in snapshot.spot],
            "totalAssetOfBtc": fmt8(snapshot.spot_btc),
        }
    elif kind == "MARGIN":
        data = {
            "marginLevel": fmt8(NO_LIABILITY_MARGIN_LEVEL),
            "totalAssetOfBtc": fmt8(snapshot.margin_btc),
            "totalLiabilityOfBtc": fmt8(ZERO),
            "totalNetAssetOfBtc": fmt8(snapshot.margin_btc),
            "userAssets": [
                {"asset": a, "borrowed": fmt8(ZERO), "free": fmt8(amount), "interest": fmt8(ZERO),
                 "locked": fmt8(ZERO), "netAsset": fmt8(amount)}
                for a, amount in snapshot.margin
            ],
        }
    else:
        data = {
            "assets": [{"asset": a, "marginBalance": fmt8(amount), "walletBalance": fmt8(amount)}
                       for a, amount in snapshot.futures],
            "position": [],
        }
    return {"data": data, "type": kind.lower(), "updateTime": snapshot.update_time}
