"""The gateway's own checks around the filters: client ids, balance, risk verdicts, rate budget.

Why apart from ``daemon.filters``: these read the account and the daemon's
state (free balances, orders in flight, the risk plugins, the ORDERS budget),
not the exchange's published rules, and they run after the filters in the
gateway's sequence.  Each is a plain function of its inputs, so the gateway
reads as the sequence and each rule can be read on its own.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from decimal import Decimal

from daemon.filters import reject, show
from daemon.in_flight import InFlight
from daemon.order_rate import OrderRateBudget
from daemon.orders import OcoRequest, OrderRequest, RejectCode, Rejection, Side

__all__ = ["CLIENT_ORDER_ID", "check_balance", "check_client_ids", "check_rate", "check_risk",
           "gateway_closed", "unknown_symbol"]

log = logging.getLogger("daemon.gateway")

#: Binance's pattern for newClientOrderId (and the list and leg ids of an OCO).
CLIENT_ORDER_ID = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")

Subject = OrderRequest | OcoRequest


def gateway_closed(subject: Subject, reason: str | None) -> Rejection:
    return reject(RejectCode.GATEWAY_CLOSED, subject,
                  f"GATEWAY_CLOSED: no new orders are accepted ({reason})", {"reason": reason or ""})


def unknown_symbol(subject: Subject) -> Rejection:
    return reject(RejectCode.UNKNOWN_SYMBOL, subject,
                  f"UNKNOWN_SYMBOL: {subject.symbol} is not in exchangeInfo", {"symbol": subject.symbol})


def check_client_ids(subject: Subject, ids: Sequence[str], in_flight: InFlight) -> Rejection | None:
    """Each id matches Binance's pattern and is not already on its way (ids are unique among open orders)."""
    for cid in ids:
        if not CLIENT_ORDER_ID.match(cid):
            return reject(RejectCode.INVALID_PARAMETERS, subject,
                          f"INVALID_PARAMETERS: client_order_id {cid!r} does not match "
                          f"{CLIENT_ORDER_ID.pattern}",
                          {"parameter": "newClientOrderId", "newClientOrderId": cid})
        if cid in in_flight:
            return reject(RejectCode.INVALID_PARAMETERS, subject,
                          f"INVALID_PARAMETERS: client_order_id {cid} is already in flight",
                          {"parameter": "newClientOrderId", "newClientOrderId": cid})
    return None


def check_balance(subject: Subject, asset: str, needed: Decimal | None,
                  balances: dict[str, tuple[Decimal, Decimal]], in_flight: InFlight) -> Rejection | None:
    """Free balance minus what unacknowledged orders hold must cover ``needed``.

    ``needed`` None means the order's cost cannot be estimated (a MARKET order
    without a reference price): refused, since the exchange's answer to an
    unfunded order is a wasted request at best.
    """
    if needed is None:
        return reject(RejectCode.INSUFFICIENT_BALANCE, subject,
                      f"INSUFFICIENT_BALANCE: no reference price for {subject.symbol} to "
                      f"estimate the {asset} a MARKET {Side(subject.side).value} needs",
                      {"asset": asset})
    free = balances.get(asset, (Decimal(0), Decimal(0)))[0]
    pending, holders = in_flight.held(asset)
    if free - pending >= needed:
        return None
    return reject(RejectCode.INSUFFICIENT_BALANCE, subject,
                  f"INSUFFICIENT_BALANCE: needs {show(needed)} {asset}, free {show(free)} "
                  f"minus {show(pending)} held by {holders} unacknowledged orders "
                  f"leaves {show(free - pending)}",
                  {"asset": asset, "required": needed, "free": free, "pending": pending})


def check_risk(risk_check: Callable[[str, OrderRequest], Sequence[Rejection]] | None, strategy: str,
               request: OrderRequest, subject: Subject) -> Rejection | None:
    """The risk plugins' verdict on ``request``; several refusals come back as one that names them all.

    One rejection per order keeps "logged once, persisted once"; the others
    are listed in its reason and in ``detail["also"]``.
    """
    if risk_check is None:
        return None
    try:
        found = list(risk_check(strategy, request))
    except Exception as exc:  # the collector isolates plugins; this guards the collector itself
        log.exception("risk.check_failed strategy=%s symbol=%s", strategy, request.symbol)
        return reject(RejectCode.RISK_CHECK_FAILED, subject,
                      f"RISK_CHECK_FAILED: the risk check raised {type(exc).__name__}: {exc}",
                      {"error": type(exc).__name__})
    if not found:
        return None
    first = found[0]
    detail, reason = dict(first.detail), first.reason
    if len(found) > 1:
        others = [refused.code.value for refused in found[1:]]
        detail["also"] = ",".join(others)
        reason = f"{reason} (also refused by: {', '.join(others)})"
    return reject(first.code, subject, reason, detail)


def check_rate(budget: OrderRateBudget, now_s: float, subject: Subject, count: int) -> Rejection | None:
    """Take ``count`` orders from the ORDERS budget, or refuse (taking nothing)."""
    refused = budget.try_acquire(now_s, count)
    if refused is None:
        return None
    return reject(refused.code, subject, refused.reason, refused.detail)
