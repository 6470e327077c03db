"""OCO (one-cancels-the-other) rules: the pair's price relationship, each leg, the counts.

Sources: the seed ("New order type: OCO", ``POST /api/v3/order/oco``), and
``rest-api.md`` today.  An OCO is two orders placed atomically:

* the limit leg, a LIMIT_MAKER at ``price`` (optionally an iceberg);
* the stop leg, a STOP_LOSS at ``stopPrice``, or a STOP_LOSS_LIMIT when a
  ``stopLimitPrice`` is given (then ``stopLimitTimeInForce`` is required:
  exchange error -1128 otherwise).

Price restrictions: SELL ``price > last price > stopPrice``; BUY
``price < last price < stopPrice``.  Both legs have the same quantity (one
``quantity`` field makes that true by construction); iceberg quantities may
differ.  Each leg must pass every rule a single order of its type passes,
and the pair counts as two open orders (one of them algo) and one order list.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from daemon.filters.base import reject, show
from daemon.filters.counts import OpenOrderLimit
from daemon.filters.inputs import NO_MARKET_DATA, NOTHING_ADDED, MarketInputs, OpenCounts, additions
from daemon.filters.rules import SymbolRules, as_rules, run_rules
from daemon.orders import OcoRequest, OrderRequest, OrderType, RejectCode, Rejection, Side, TimeInForce
from daemon.venues.binance.models import SymbolInfo

__all__ = ["normalized_oco", "oco_additions", "oco_legs", "validate_oco", "validate_oco_all"]


def oco_legs(oco: OcoRequest) -> tuple[OrderRequest, OrderRequest]:
    """The two orders an OCO places: (limit leg, stop leg), as single-order requests."""
    limit_leg = OrderRequest(symbol=oco.symbol, side=oco.side, type=OrderType.LIMIT_MAKER,
                             quantity=oco.quantity, price=oco.price, iceberg_qty=oco.limit_iceberg_qty,
                             client_order_id=oco.limit_client_order_id)
    stop_type = OrderType.STOP_LOSS if oco.stop_limit_price is None else OrderType.STOP_LOSS_LIMIT
    stop_leg = OrderRequest(symbol=oco.symbol, side=oco.side, type=stop_type, quantity=oco.quantity,
                            price=oco.stop_limit_price, stop_price=oco.stop_price,
                            time_in_force=oco.stop_limit_time_in_force, iceberg_qty=oco.stop_iceberg_qty,
                            trailing_delta=oco.trailing_delta, client_order_id=oco.stop_client_order_id)
    return limit_leg, stop_leg


def oco_additions(oco: OcoRequest) -> OpenCounts:
    """Two orders (the stop leg is algo), icebergs per leg, one order list."""
    limit_leg, stop_leg = oco_legs(oco)
    return additions(limit_leg).plus(additions(stop_leg)).plus(OpenCounts(0, 0, 0, 1))


def normalized_oco(oco: OcoRequest) -> OcoRequest:
    """``oco`` with side and stopLimitTimeInForce as enum members when given as their strings."""
    changes = {}
    if isinstance(oco.side, str) and type(oco.side) is not Side and oco.side in Side._value2member_map_:
        changes["side"] = Side(oco.side)
    tif = oco.stop_limit_time_in_force
    if isinstance(tif, str) and type(tif) is not TimeInForce and tif in TimeInForce._value2member_map_:
        changes["stop_limit_time_in_force"] = TimeInForce(tif)
    return msgspec.structs.replace(oco, **changes) if changes else oco


def _check_prices(oco: OcoRequest, last: Decimal | None) -> Rejection | None:
    """SELL: price > last > stopPrice; BUY: price < last < stopPrice."""
    price, stop = oco.price, oco.stop_price
    if type(price) is not Decimal or type(stop) is not Decimal or type(oco.side) is not Side:
        return None  # malformed values: the legs' parameter checks name them
    sell = oco.side is Side.SELL
    rule = "price > last price > stopPrice" if sell else "price < last price < stopPrice"
    if last is None:
        return reject(RejectCode.OCO_PRICES, oco,
                      f"OCO_PRICES: cannot check {oco.side.value} OCO rule {rule}: no last price of "
                      f"{oco.symbol}", {"rule": rule, "price": price, "stopPrice": stop})
    if (price > last > stop) if sell else (price < last < stop):
        return None
    return reject(RejectCode.OCO_PRICES, oco,
                  f"OCO_PRICES: {oco.side.value} OCO needs {rule}; got price {show(price)}, last price "
                  f"{show(last)}, stopPrice {show(stop)}",
                  {"rule": rule, "price": price, "lastPrice": last, "stopPrice": stop})


def _as_oco(oco: OcoRequest, leg: str, refused: Rejection) -> Rejection:
    """A leg's refusal, re-addressed to the OCO: its list id, and the leg named in the reason."""
    code = refused.code.value
    body = refused.reason[len(code) + 2:] if refused.reason.startswith(f"{code}: ") else refused.reason
    return msgspec.structs.replace(refused, reason=f"{code}: {leg} leg: {body}",
                                   client_order_id=oco.list_client_order_id or "",
                                   detail={**refused.detail, "leg": leg})


def _run_oco(rules: SymbolRules, oco: OcoRequest, market: MarketInputs,
             first_only: bool) -> list[Rejection]:
    oco = normalized_oco(oco)
    found: list[Rejection] = []
    if not rules.oco_allowed:
        found.append(reject(RejectCode.ORDER_TYPE_NOT_ALLOWED, oco,
                            f"ORDER_TYPE_NOT_ALLOWED: OCO orders are not allowed on {rules.symbol}",
                            {"type": "OCO", "ocoAllowed": "False"}))
        if first_only:
            return found
    refused = _check_prices(oco, market.last_price)
    if refused is not None:
        found.append(refused)
        if first_only:
            return found
    for leg, request in zip(("limit", "stop"), oco_legs(oco)):
        for refused in run_rules(rules, request, market, NOTHING_ADDED, first_only):
            found.append(_as_oco(oco, leg, refused))
            if first_only:
                return found
    adding = oco_additions(oco)
    probe = oco_legs(oco)[0]
    for item in rules.filters:
        if isinstance(item, OpenOrderLimit) and (refused := item.check(probe, market, adding)) is not None:
            found.append(msgspec.structs.replace(refused, client_order_id=oco.list_client_order_id or ""))
            if first_only:
                return found
    return found


def validate_oco(rules: SymbolRules | SymbolInfo, oco: OcoRequest,
                 market: MarketInputs = NO_MARKET_DATA) -> Rejection | None:
    """The first rule the OCO breaks (ocoAllowed, prices, each leg, the counts), or None."""
    found = _run_oco(as_rules(rules), oco, market, True)
    return found[0] if found else None


def validate_oco_all(rules: SymbolRules | SymbolInfo, oco: OcoRequest,
                     market: MarketInputs = NO_MARKET_DATA) -> list[Rejection]:
    """Every rule the OCO breaks, in the same order."""
    return _run_oco(as_rules(rules), oco, market, False)
