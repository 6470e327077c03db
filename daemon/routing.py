"""Turns decoded venue events into state changes and strategy hook calls.

User-data events go to the store first (one transaction each, idempotent)
and only then to strategies, so a strategy never sees an order state the
database does not have.  Order and fill events are routed to the strategy
that owns the order; account events are broadcast.  Market events update
the shared ``MarketCache`` and are broadcast.
"""

from __future__ import annotations

import logging
from collections import Counter

import trio

from daemon.crash_points import crash_point
from daemon.venues.binance import models

log = logging.getLogger(__name__)

_MARKET_HOOKS = {
    models.Trade: ("on_trade", "trade"),
    models.AggTrade: ("on_agg_trade", "trade"),
    models.BookTicker: ("on_book_ticker", "ticker"),
    models.Kline: ("on_kline", "kline"),
    models.DepthUpdate: ("on_depth", "depth"),
    models.PartialDepth: ("on_depth", "depth"),
}


class EventRouter:
    """Applies user events to the store and fans events out to the dispatcher."""

    def __init__(self, store, market, dispatcher, on_unknown_order=None) -> None:
        self.store = store
        self.market = market
        self.dispatcher = dispatcher  # the Dispatcher, or the DispatchGate in front of it
        # ``on_unknown_order(symbol, order_id)``: an order with no intent was seen;
        # daemon.unknown_orders fetches it over REST (never dropped).
        self.on_unknown_order = on_unknown_order
        self.counts: Counter[str] = Counter()

    async def consume_user(self, receive: trio.MemoryReceiveChannel) -> None:
        async with receive:
            async for event, raw in receive:
                self.apply_user_event(event, raw)

    async def consume_market(self, receive: trio.MemoryReceiveChannel) -> None:
        async with receive:
            async for event in receive:
                self.market.update(event)
                hook = _MARKET_HOOKS.get(type(event))
                if hook is not None:
                    self.dispatcher.publish(hook[0], **{hook[1]: event})
                self.counts["market"] += 1

    def apply_user_event(self, event, raw: bytes | None = None) -> None:
        """Store first, then strategies.  Duplicates stop at the store."""
        kind = type(event).__name__
        self.counts[kind] += 1
        crash_point("event.before_apply")
        if isinstance(event, models.ExecutionReport):
            applied = self.store.apply_execution_report(event, raw)
            crash_point("event.after_apply")
            if applied.duplicate:
                self.counts["duplicate"] += 1
                return
            owner = self._owner(event, applied.order)
            if owner is None:
                log.info("order.external symbol=%s order_id=%s status=%s",
                         event.symbol, event.order_id, event.status)
                if self.on_unknown_order is not None:
                    self.on_unknown_order(event.symbol, event.order_id)
                return
            target = f"strategy:{owner}"
            self.dispatcher.publish_to(target, "on_execution_report", report=event)
            if applied.order is not None:  # None: the REST ack already stored this state
                self.dispatcher.publish_to(target, "on_order_update", order=applied.order)
            if applied.fill is not None:
                self.dispatcher.publish_to(target, "on_fill", fill=applied.fill)
        elif isinstance(event, models.AccountPosition):
            applied = self.store.apply_account_position(event, raw)
            crash_point("event.after_apply")
            if not applied.duplicate:
                self.dispatcher.publish("on_account_position", position=event)
        elif isinstance(event, models.BalanceUpdate):
            if not self.store.apply_balance_update(event, raw).duplicate:
                self.dispatcher.publish("on_balance_update", update=event)
        elif isinstance(event, models.ListStatus):
            applied = self.store.apply_list_status(event, raw)
            if not applied.duplicate:
                self.dispatcher.publish("on_list_status", status=event)
        elif isinstance(event, models.ExternalLockUpdate):
            self.store.apply_external_lock_update(event, raw)
        else:
            log.info("userdata.unhandled kind=%s", kind)

    def _owner(self, event: models.ExecutionReport, order) -> str | None:
        if order is not None:
            return order.strategy
        # A cancel's executionReport carries the cancel request's id in ``c`` and
        # the order's own id in ``C``.
        return self.store.strategy_for(event.orig_client_order_id or event.client_order_id)

    def summary(self) -> str:
        return " ".join(f"{k}={v}" for k, v in sorted(self.counts.items()))
