"""Everything a user's new order must pass before the matching engine takes it.

Why one function in its own module: the order of the refusals is part of the
exchange's behaviour (a client sees only the first), and ``POST order``,
``POST order/test`` and each leg of an OCO must be refused identically.  The
order, as the seed's error sections group them:

1. the account and the symbol: trading disabled on the account (-2010 "This
   action is disabled on this account."), a symbol the account may not trade;
2. what the symbol enables: the order type, quote-quantity MARKET orders,
   icebergs, trailing stops (-2010 "... are not supported for this symbol.");
3. precision beyond the assets' (-1111), an iceberg without GTC or not
   smaller than the quantity (-2010);
4. a client order id already used by an open order (-2010 "Duplicate order sent.");
5. the filters (-1013 "Filter failure: ..."), ``sim.filters``;
6. ``price * quantity`` that rounds to nothing (-2010 "Price * QTY is zero or less.");
7. a stop price the last trade already reached (-2010 "Order would trigger immediately.").

Balance (-2010 "Account has insufficient balance ...") and LIMIT_MAKER's "would
immediately match and take" depend on the book and are the exchange's own.
"""

from __future__ import annotations

from decimal import Decimal

from sim import errors
from sim.accounts import Account
from sim.filter_specs import ExchangeFilters
from sim.filters import (
    AccountState,
    NewOrders,
    check_account_limits,
    check_asset_limits,
    check_order_values,
)
from sim.numbers import down8
from sim.requests import NewOrder
from sim.symbols import SymbolSpec
from sim.triggers import would_trigger

ZERO = Decimal(0)


def account_state(owner: Account, spec: SymbolSpec) -> AccountState:
    """What the count and position filters see of ``owner`` right now."""
    every = owner.open_orders()
    mine = [order for order in every if order.symbol == spec.symbol]
    held = owner.balance(spec.base)
    return AccountState(
        open_on_symbol=len(mine),
        algo_on_symbol=sum(1 for o in mine if o.order_type in _ALGO),
        iceberg_on_symbol=sum(1 for o in mine if o.is_iceberg),
        lists_on_symbol=len(owner.open_order_lists(spec.symbol)),
        open_total=len(every),
        algo_total=sum(1 for o in every if o.order_type in _ALGO),
        iceberg_total=sum(1 for o in every if o.is_iceberg),
        lists_total=len(owner.open_order_lists()),
        base_held=held.free + held.locked,
        open_buy_qty=sum((o.remaining for o in mine if o.side == "BUY"), ZERO),
    )


_ALGO = frozenset({"STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"})


def check_permissions(owner: Account, spec: SymbolSpec) -> None:
    if not owner.can_trade:
        raise errors.order_rejected(errors.ACTION_DISABLED)
    # Today's exchangeInfo sends "permissions": [] and lists them in permissionSets
    # instead (CHANGELOG, 2024-04): an empty list restricts nothing.
    if not spec.is_spot_trading_allowed or (spec.permissions and "SPOT" not in spec.permissions):
        raise errors.order_rejected(errors.SYMBOL_NOT_PERMITTED)


def check_order_form(spec: SymbolSpec, req: NewOrder) -> None:
    """Steps 2 and 3: what the symbol enables, precision, iceberg rules."""
    if req.order_type not in spec.order_types:
        raise errors.order_rejected(errors.TYPE_NOT_SUPPORTED.get(
            req.order_type, errors.UNSUPPORTED_ORDER_COMBINATION))
    if req.quote_order_qty is not None and not spec.quote_order_qty_market_allowed:
        raise errors.order_rejected(errors.QUOTE_QTY_NOT_SUPPORTED)
    if req.is_iceberg and not spec.iceberg_allowed:
        raise errors.order_rejected(errors.ICEBERG_NOT_SUPPORTED)
    if req.trailing_delta is not None and not spec.allow_trailing_stop:
        raise errors.order_rejected(errors.TRAILING_NOT_SUPPORTED)
    for value, places in ((req.quantity, spec.base_asset_precision),
                          (req.iceberg_qty, spec.base_asset_precision),
                          (req.price, spec.quote_precision),
                          (req.stop_price, spec.quote_precision),
                          (req.quote_order_qty, spec.quote_asset_precision)):
        if value is not None and _decimals(value) > places:
            raise errors.bad_precision()
    if req.is_iceberg:
        assert req.iceberg_qty is not None and req.quantity is not None
        if req.time_in_force != "GTC":
            raise errors.order_rejected(errors.UNSUPPORTED_ORDER_COMBINATION)
        if req.iceberg_qty >= req.quantity:
            raise errors.order_rejected(errors.ICEBERG_EXCEEDS_QTY)


def check_duplicate(owner: Account, symbol: str, client_order_id: str | None) -> None:
    if client_order_id is not None and any(
        order.client_order_id == client_order_id for order in owner.open_orders(symbol)
    ):
        raise errors.order_rejected(errors.DUPLICATE_ORDER)


def check_price_qty(req: NewOrder) -> None:
    """Step 6: a priced order whose notional truncates to nothing at 1e-8."""
    if req.price is not None and req.quantity is not None and down8(req.price * req.quantity) <= 0:
        raise errors.order_rejected(errors.PRICE_QTY_ZERO)


def check_trigger(req: NewOrder, last_price: Decimal) -> None:
    """Step 7: a contingent order must not be triggered by the price it arrives at."""
    if req.is_algo and req.stop_price is not None and would_trigger(
            req.order_type, req.side, req.stop_price, last_price):
        raise errors.order_rejected(errors.WOULD_TRIGGER)


def check_user_order(owner: Account, spec: SymbolSpec, req: NewOrder, *, avg_price: Decimal,
                     last_price: Decimal, exchange_filters: ExchangeFilters,
                     asset_limits: dict[str, Decimal]) -> None:
    """Steps 1-7 for one plain order (not an OCO: see ``sim.contingent``)."""
    check_permissions(owner, spec)
    check_order_form(spec, req)
    check_duplicate(owner, spec.symbol, req.client_order_id)
    check_order_values(spec, req, avg_price)
    buy_qty = None
    if req.side == "BUY":
        buy_qty = req.quantity if req.quantity is not None else (
            down8(req.quote_order_qty / avg_price) if req.quote_order_qty and avg_price else ZERO)
    adds = NewOrders(algo=1 if req.is_algo else 0, iceberg=1 if req.is_iceberg else 0,
                     buy_qty=buy_qty)
    check_account_limits(spec, account_state(owner, spec), adds,
                         exchange_filters=exchange_filters)
    check_asset_limits(spec, req, avg_price, dict(asset_limits))
    check_price_qty(req)
    check_trigger(req, last_price)


def _decimals(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)
