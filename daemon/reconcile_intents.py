"""Resolving write-ahead intents whose outcome nobody knows: ask, never resend.

An intent is ``pending`` when the process died between committing it and
recording the answer, and ``unknown`` when the answer was lost (5xx, -1007, a
dropped connection) and the gateway's own queries did not settle it.  In both
cases the order may or may not exist on the exchange.  Sending it again could
double a position (a MARKET or IOC order executes at once), so the only safe
move is to look it up by the client id it was sent with
(``GET /api/v3/order?origClientOrderId=``):

* found: the order exists; its REST view is merged into the store, which links
  the intent (``acked``) and attributes the order to its strategy; if it traded,
  its fills are fetched by order id (``myTrades?orderId=``);
* "no such order" (-2013): it never reached the matching engine.  An intent
  younger than ``settle_s`` is asked again every ``SETTLE_POLL_S`` until it is
  that old (a request can still be inside the exchange); then the intent
  becomes ``error``.
  If the order shows up later after all, the next sighting (stream, snapshot)
  links the intent again: ``acked`` always wins;
* found but different (another side, type or symbol): ``newClientOrderId`` is
  unique only among *open* orders, so an old order can carry the same id.  The
  intent is left unresolved and the mismatch logged loudly for an operator;
* any other failure (network, 5xx on the query): the intent stays as it is and
  the error propagates, so reconciliation fails and is retried on the next
  connection, with the strategies still held.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import trio

from daemon.crash_points import crash_point
from daemon.errors import UnknownOrder
from daemon.reconcile_fills import order_trades

log = logging.getLogger("daemon.reconcile")

PENDING, UNKNOWN = "pending", "unknown"
#: How often a too-young "no such order" is asked again.
SETTLE_POLL_S = 0.25


@dataclass
class IntentChanges:
    """What resolving the intents found."""

    orders: list[Any] = field(default_factory=list)       # OrderRecord of intents found
    fills: list[Any] = field(default_factory=list)        # FillRecord recovered for them
    missing: list[str] = field(default_factory=list)      # client ids the exchange never had
    mismatched: list[str] = field(default_factory=list)   # client ids carried by another order


def unresolved(store: Any, *, created_before_ms: int | None) -> list[Any]:
    """Intents to resolve: every ``unknown`` one, and ``pending`` ones older than ``created_before_ms``.

    A ``pending`` intent created by this process is the gateway's, still in
    flight: it will be settled by the answer, so reconcile leaves it alone.
    """
    found = []
    for intent in store.intents(states=(PENDING, UNKNOWN)):
        if intent.state == PENDING and created_before_ms is not None \
                and intent.created_at >= created_before_ms:
            continue
        found.append(intent)
    return found


def _same_order(intent: Any, order: Any) -> bool:
    request = intent.request
    return (order.symbol == intent.symbol
            and order.side == request.get("side", order.side)
            and order.type == request.get("type", order.type))


async def resolve_intents(rest: Any, store: Any, intents: Sequence[Any], *,
                          settle_s: float = 1.0,
                          clock_ms: Callable[[], int] = lambda: int(time.time() * 1000)
                          ) -> IntentChanges:
    """Look every intent up by its client id; see the module docstring for the outcomes."""
    changes = IntentChanges()
    for intent in intents:
        cid = intent.client_order_id
        order = await _lookup(rest, intent, settle_s, clock_ms)
        if order is None:
            store.record_send_error(cid, "reconcile: the exchange has no order with this client id",
                                    outcome_unknown=False)
            changes.missing.append(cid)
            log.warning("reconcile.intent_not_placed symbol=%s client_order_id=%s strategy=%s "
                        "was=%s", intent.symbol, cid, intent.strategy, intent.state)
        elif not _same_order(intent, order):
            changes.mismatched.append(cid)
            log.error("reconcile.intent_id_reused symbol=%s client_order_id=%s order_id=%d "
                      "intent=%s/%s order=%s/%s (left unresolved; check by hand)",
                      intent.symbol, cid, order.order_id, intent.request.get("side"),
                      intent.request.get("type"), order.side, order.type)
        else:
            before = store.order(order.symbol, order.order_id)
            record = store.upsert_rest_order(order, source="reconcile")
            if record != before:
                changes.orders.append(record)
            if record.executed_qty > 0:
                trades = await order_trades(rest, order.symbol, order.order_id)
                changes.fills.extend(store.record_rest_fills(trades, source="reconcile"))
            log.info("reconcile.intent_found symbol=%s client_order_id=%s order_id=%d status=%s "
                     "was=%s", intent.symbol, cid, order.order_id, order.status, intent.state)
        crash_point("reconcile.after_intent")
    return changes


async def _lookup(rest: Any, intent: Any, settle_s: float, clock_ms: Callable[[], int]):
    """The exchange's view of the intent's order, or None when it has no such order.

    While the intent is younger than ``settle_s`` the query is repeated every
    ``SETTLE_POLL_S`` (the order may still be on its way in); one "no such
    order" after that is believed.
    """
    while True:
        try:
            return await rest.get_order(intent.symbol, orig_client_order_id=intent.client_order_id)
        except UnknownOrder:
            age_s = (clock_ms() - intent.updated_at) / 1000
            if age_s >= settle_s:
                return None
            log.info("reconcile.intent_settling client_order_id=%s age_s=%.2f",
                     intent.client_order_id, age_s)
            await trio.sleep(min(SETTLE_POLL_S, settle_s - age_s))
