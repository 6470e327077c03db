"""A gate in front of the dispatcher: strategies hear nothing while the account is resynced.

Why: after a reconnect the store is briefly behind the exchange (events were
missed while the stream was down).  A strategy that reacted in that window
would decide on a stale picture: cancel an order that already filled, or place
a second order because it never heard of the first one's fill.  So while
reconciliation runs the gate is *closed*: every hook call the router or the
reconciler publishes is held, in order, and released when reconciliation has
brought the store level with the exchange.  The store itself keeps applying
events meanwhile (its idempotence makes that safe); only the strategies wait.

Held account and order events are never dropped.  Market events are: while
closed, at most ``market_limit`` are kept and the oldest go first, because a
strategy that resumes wants the newest prices, not a backlog of stale ones
(the dispatcher applies the same rule to a lagging plugin).

The gate stays closed across failed reconciliation attempts: strategies see
events again only after one succeeded.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Mapping
from typing import Any, Protocol

from daemon.errors import TradingdError
from daemon.hookspecs import EVENT_HOOKS, LIFECYCLE_HOOKS, MARKET_HOOKS

log = logging.getLogger(__name__)

_MARKET = frozenset(MARKET_HOOKS)
_PUBLISHABLE = frozenset(EVENT_HOOKS) - frozenset(LIFECYCLE_HOOKS)


class Publisher(Protocol):
    """What the gate forwards to (``daemon.dispatch.Dispatcher``)."""

    def publish(self, hook: str, **kwargs: Any) -> int: ...

    def publish_to(self, plugin_name: str, hook: str, **kwargs: Any) -> bool: ...


class _Held:
    __slots__ = ("target", "hook", "kwargs", "alive")

    def __init__(self, target: str | None, hook: str, kwargs: Mapping[str, Any]) -> None:
        self.target = target
        self.hook = hook
        self.kwargs = kwargs
        self.alive = True


class DispatchGate:
    """``publish``/``publish_to`` like the dispatcher; ``close()`` holds, ``open()`` releases."""

    def __init__(self, dispatcher: Publisher, *, market_limit: int = 1024) -> None:
        if market_limit < 1:
            raise ValueError("market_limit must be at least 1")
        self._dispatcher = dispatcher
        self._market_limit = market_limit
        self._held: deque[_Held] = deque()
        self._market: deque[_Held] = deque()
        self._dead = 0
        self._closed = False
        self.dropped_market = 0

    @property
    def is_closed(self) -> bool:
        return self._closed

    @property
    def pending(self) -> int:
        """Hook calls held now."""
        return len(self._held) - self._dead

    def close(self) -> None:
        """Hold every publication from now on (idempotent)."""
        if not self._closed:
            self._closed = True
            log.info("dispatch_gate.closed")

    def open(self) -> int:
        """Release the held calls in their order, then pass publications straight on.

        Returns how many held calls were released.
        """
        released = 0
        while self._held:
            entry = self._held.popleft()
            if not entry.alive:
                continue
            self._forward(entry.target, entry.hook, entry.kwargs)
            released += 1
        self._market.clear()
        self._dead = 0
        if self._closed:
            self._closed = False
            log.info("dispatch_gate.opened released=%d dropped_market=%d", released,
                     self.dropped_market)
        return released

    # ------------------------------------------------------------ publishing

    def publish(self, hook: str, **kwargs: Any) -> int:
        """Broadcast now (open) or hold (closed; returns 0: nobody has it yet)."""
        if not self._closed:
            return self._dispatcher.publish(hook, **kwargs)
        self._hold(None, hook, kwargs)
        return 0

    def publish_to(self, plugin_name: str, hook: str, **kwargs: Any) -> bool:
        """Send to one plugin now (open) or hold (closed; returns True: it will be sent)."""
        if not self._closed:
            return self._dispatcher.publish_to(plugin_name, hook, **kwargs)
        self._hold(plugin_name, hook, kwargs)
        return True

    def _forward(self, target: str | None, hook: str, kwargs: Mapping[str, Any]) -> None:
        if target is None:
            self._dispatcher.publish(hook, **kwargs)
        else:
            self._dispatcher.publish_to(target, hook, **kwargs)

    def _hold(self, target: str | None, hook: str, kwargs: Mapping[str, Any]) -> None:
        if hook not in _PUBLISHABLE:  # a misspelt hook fails at the publisher, held or not
            raise TradingdError(f"dispatch: {hook!r} is not a publishable event hook")
        entry = _Held(target, hook, kwargs)
        self._held.append(entry)
        if hook not in _MARKET:
            return
        self._market.append(entry)
        if len(self._market) > self._market_limit:
            self._market.popleft().alive = False
            self._dead += 1
            self.dropped_market += 1
            if self._dead > self._market_limit:  # compact: keep memory bounded while closed
                self._held = deque(e for e in self._held if e.alive)
                self._dead = 0
