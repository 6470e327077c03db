"""Delivers events to plugins: one task and one inbox per plugin, faults isolated.

Why not ``pm.hook.on_trade(...)``: one raising implementation would stop the
call for every plugin after it, one slow ``async`` strategy would hold up all
the others, and each hook call costs several microseconds of pluggy
machinery.  Instead the implementations are resolved once (function, the
arguments it declares, sync or async), and each plugin gets its own task that
drains its own inbox and calls its functions directly.

Inbox rules:

* order, account and lifecycle events are never dropped; a growing backlog is
  logged (``dispatch.backlog``) each time it doubles;
* market events (``MARKET_HOOKS``) are bounded by ``inbox_size``: when a
  plugin lags, its *oldest* pending market event is dropped and counted, and
  one warning is logged per burst of drops.  A lagging strategy wants the
  newest price, not a queue of stale ones;
* ``on_start`` is delivered before anything else and ``on_stop`` after
  everything published before ``stop()``;
* an implementation that raises is logged with its traceback and counted;
  after ``max_faults`` consecutive faults the plugin is disabled and its
  inbox discarded.  Other plugins never notice.
"""

from __future__ import annotations

import inspect
import logging
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pluggy
import trio

from daemon.errors import TradingdError
from daemon.hookspecs import EVENT_HOOKS, LIFECYCLE_HOOKS, MARKET_HOOKS

log = logging.getLogger(__name__)

_MARKET = frozenset(MARKET_HOOKS)
_STRATEGY_PREFIX = "strategy:"


@dataclass(frozen=True)
class InboxStats:
    """Per-plugin delivery figures (``Dispatcher.stats()``)."""

    delivered: int      # hook calls that returned normally
    dropped: int        # market events dropped because the plugin lagged
    faults: int         # hook calls that raised (all time)
    disabled: bool      # stopped after max_faults consecutive faults
    pending: int        # events waiting in the inbox now
    discarded: int      # events refused after disable or stop


class _Call:
    """One resolved implementation: call ``function`` with the arguments it declares."""

    __slots__ = ("function", "argnames", "is_async")

    def __init__(self, function: Callable[..., Any], argnames: tuple[str, ...]) -> None:
        self.function = function
        self.argnames = argnames
        self.is_async = inspect.iscoroutinefunction(function)


class _Entry:
    __slots__ = ("hook", "kwargs", "alive")

    def __init__(self, hook: str, kwargs: Mapping[str, Any]) -> None:
        self.hook = hook
        self.kwargs = kwargs
        self.alive = True


class _Inbox:
    """A plugin's queue: one deque in arrival order, plus an index of its market entries.

    A dropped market entry is only marked dead (O(1)); dead entries are skipped
    when popped and compacted away once there are more than ``market_limit``.
    """

    def __init__(self, name: str, market_limit: int) -> None:
        self.name = name
        self.calls: dict[str, list[_Call]] = {}
        self.queue: deque[_Entry] = deque()
        self.market: deque[_Entry] = deque()
        self.market_limit = market_limit
        self.dead = 0
        self.wakeup = trio.Event()
        self.closing = False
        self.disabled = False
        self.finished = False
        self.delivered = self.dropped = self.faults = self.consecutive_faults = 0
        self.discarded = 0
        self.burst_dropped = 0
        self.backlog_warn_at = market_limit

    @property
    def pending(self) -> int:
        return len(self.queue) - self.dead

    def put(self, hook: str, kwargs: Mapping[str, Any]) -> bool:
        if self.disabled or self.closing:
            self.discarded += 1
            log.debug("dispatch.discarded plugin=%s hook=%s", self.name, hook)
            return False
        entry = _Entry(hook, kwargs)
        self.queue.append(entry)
        if hook in _MARKET:
            self.market.append(entry)
            if len(self.market) > self.market_limit:
                self._drop_oldest_market(hook)
        else:
            backlog = len(self.queue) - len(self.market) - self.dead
            if backlog >= self.backlog_warn_at:
                log.warning("dispatch.backlog plugin=%s pending_account_events=%d", self.name, backlog)
                self.backlog_warn_at *= 2
        self.wakeup.set()
        return True

    def _drop_oldest_market(self, hook: str) -> None:
        oldest = self.market.popleft()
        oldest.alive = False
        self.dead += 1
        self.dropped += 1
        self.burst_dropped += 1
        if self.burst_dropped == 1:
            log.warning("dispatch.market_dropped plugin=%s hook=%s inbox_size=%d (plugin lags; "
                        "dropping its oldest market events)", self.name, hook, self.market_limit)
        if self.dead > self.market_limit:
            self.queue = deque(entry for entry in self.queue if entry.alive)
            self.dead = 0

    def pop(self) -> _Entry | None:
        entry = self.queue.popleft()
        if not entry.alive:
            self.dead -= 1
            return None
        if self.market and self.market[0] is entry:
            self.market.popleft()
        return entry

    def caught_up(self) -> None:
        """The inbox is empty: a burst of drops (if any) is over."""
        if self.burst_dropped:
            log.info("dispatch.market_drop_burst_end plugin=%s dropped=%d total_dropped=%d",
                     self.name, self.burst_dropped, self.dropped)
            self.burst_dropped = 0
        self.backlog_warn_at = self.market_limit

    def discard_all(self) -> None:
        self.discarded += self.pending
        self.queue.clear()
        self.market.clear()
        self.dead = 0


class Dispatcher:
    """Per-plugin inboxes and tasks for every plugin implementing an event hook.

    ``contexts`` maps a plugin name (``"strategy:grid"``; the bare strategy name
    is accepted too) to the ``ctx`` its hooks receive; it is read when ``run``
    starts, so it may be filled after construction.  Implementations are
    resolved here, once: plugins registered later are not seen.
    """

    def __init__(self, pm: pluggy.PluginManager, contexts: Mapping[str, object], *,
                 inbox_size: int = 1024, max_faults: int = 10) -> None:
        if inbox_size < 1 or max_faults < 1:
            raise TradingdError("dispatcher: inbox_size and max_faults must be at least 1")
        self._contexts = contexts
        self._max_faults = max_faults
        self._inboxes: dict[str, _Inbox] = {}
        self._subscribers: dict[str, list[_Inbox]] = {hook: [] for hook in EVENT_HOOKS}
        self._event_args: dict[str, frozenset[str]] = {}
        for hook in EVENT_HOOKS:
            caller = getattr(pm.hook, hook)
            self._event_args[hook] = frozenset(caller.spec.argnames) - {"ctx"}
            for impl in caller.get_hookimpls():
                if impl.hookwrapper or impl.wrapper:
                    log.warning("dispatch.wrapper_ignored plugin=%s hook=%s", impl.plugin_name, hook)
                    continue
                inbox = self._inboxes.get(impl.plugin_name)
                if inbox is None:
                    inbox = self._inboxes[impl.plugin_name] = _Inbox(impl.plugin_name, inbox_size)
                if hook not in inbox.calls:
                    self._subscribers[hook].append(inbox)
                inbox.calls.setdefault(hook, []).append(_Call(impl.function, tuple(impl.argnames)))
        self._state = "new"  # -> running -> stopping -> stopped
        self._cancel_scope: trio.CancelScope | None = None
        self._done = trio.Event()

    # ------------------------------------------------------------------ publishing

    def publish(self, hook: str, **kwargs: Any) -> int:
        """Queue an event for every plugin implementing ``hook``; returns how many took it."""
        self._check(hook, kwargs)
        queued = 0
        for inbox in self._subscribers[hook]:
            queued += inbox.put(hook, kwargs)
        return queued

    def publish_to(self, plugin_name: str, hook: str, **kwargs: Any) -> bool:
        """Queue an event for one plugin (the strategy that owns an order)."""
        self._check(hook, kwargs)
        inbox = self._inboxes.get(plugin_name)
        if inbox is None or hook not in inbox.calls:
            log.debug("dispatch.no_subscriber plugin=%s hook=%s", plugin_name, hook)
            return False
        return inbox.put(hook, kwargs)

    def _check(self, hook: str, kwargs: Mapping[str, Any]) -> None:
        """A misspelt hook or argument is the publisher's bug: fail loudly, at the publisher."""
        expected = self._event_args.get(hook)
        if expected is None or hook in LIFECYCLE_HOOKS:
            raise TradingdError(f"dispatch: {hook!r} is not a publishable event hook")
        if kwargs.keys() != expected:
            raise TradingdError(f"dispatch: {hook} takes {sorted(expected)}, got {sorted(kwargs)}")

    # -------------------------------------------------------------------- running

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve every inbox until ``stop()`` (or cancellation); ready once the tasks exist."""
        if self._state != "new":
            raise TradingdError(f"dispatch: run() called while {self._state}")
        self._state = "running"
        try:
            async with trio.open_nursery() as nursery:
                self._cancel_scope = nursery.cancel_scope
                for inbox in self._inboxes.values():
                    nursery.start_soon(self._serve, inbox, self._context_for(inbox.name),
                                       name=f"dispatch:{inbox.name}")
                log.info("dispatch.started plugins=%s", ",".join(self._inboxes) or "-")
                task_status.started()
        finally:
            self._state = "stopped"
            self._done.set()

    async def stop(self, drain_timeout_s: float = 5.0) -> None:
        """Deliver ``on_stop`` after everything already queued; wait a bounded time for it.

        Plugins still busy after ``drain_timeout_s`` are cancelled (and named in the log).
        """
        if self._state == "new":
            self._state = "stopped"
            self._done.set()
            return
        if self._state == "running":
            self._state = "stopping"
            for inbox in self._inboxes.values():
                if not inbox.disabled and "on_stop" in inbox.calls:
                    inbox.queue.append(_Entry("on_stop", {}))
                inbox.closing = True
                inbox.wakeup.set()
            with trio.move_on_after(drain_timeout_s):
                await self._done.wait()
            if not self._done.is_set():
                busy = [f"{i.name}(pending={i.pending})" for i in self._inboxes.values()
                        if not i.finished]
                log.warning("dispatch.stop_timeout after_s=%s cancelling=%s",
                            drain_timeout_s, ",".join(busy))
                assert self._cancel_scope is not None
                self._cancel_scope.cancel()
        await self._done.wait()
        log.info("dispatch.stopped %s", " ".join(
            f"{name}:delivered={s.delivered},dropped={s.dropped},faults={s.faults}"
            for name, s in self.stats().items()) or "-")

    def stats(self) -> dict[str, InboxStats]:
        return {name: InboxStats(delivered=inbox.delivered, dropped=inbox.dropped,
                                 faults=inbox.faults, disabled=inbox.disabled,
                                 pending=inbox.pending, discarded=inbox.discarded)
                for name, inbox in self._inboxes.items()}

    @property
    def plugin_names(self) -> list[str]:
        """Plugins that implement at least one event hook."""
        return list(self._inboxes)

    def _context_for(self, plugin_name: str) -> object | None:
        if plugin_name in self._contexts:
            return self._contexts[plugin_name]
        if plugin_name.startswith(_STRATEGY_PREFIX):
            return self._contexts.get(plugin_name[len(_STRATEGY_PREFIX):])
        return None

    # ------------------------------------------------------------------ delivery

    async def _serve(self, inbox: _Inbox, ctx: object | None) -> None:
        try:
            if "on_start" in inbox.calls:
                await self._deliver(inbox, ctx, "on_start", {})
            while not inbox.disabled:
                if not inbox.queue:
                    inbox.caught_up()
                    if inbox.closing:
                        return
                    inbox.wakeup = trio.Event()
                    await inbox.wakeup.wait()
                    continue
                entry = inbox.pop()
                if entry is None:
                    continue
                await self._deliver(inbox, ctx, entry.hook, entry.kwargs)
                # Yield after every event so a plugin with a deep inbox of quick,
                # synchronous calls cannot starve the other plugins' tasks.
                await trio.lowlevel.checkpoint()
        finally:
            inbox.finished = True

    async def _deliver(self, inbox: _Inbox, ctx: object | None, hook: str,
                       kwargs: Mapping[str, Any]) -> None:
        for call in inbox.calls[hook]:
            if inbox.disabled:
                return
            args = [ctx if name == "ctx" else kwargs[name] for name in call.argnames]
            try:
                if call.is_async:
                    await call.function(*args)
                else:
                    result = call.function(*args)
                    if inspect.isawaitable(result):
                        await result
            except Exception:
                inbox.faults += 1
                inbox.consecutive_faults += 1
                log.exception("dispatch.hook_failed plugin=%s hook=%s consecutive_faults=%d",
                              inbox.name, hook, inbox.consecutive_faults)
                if inbox.consecutive_faults >= self._max_faults:
                    self._disable(inbox)
            else:
                inbox.delivered += 1
                inbox.consecutive_faults = 0

    def _disable(self, inbox: _Inbox) -> None:
        inbox.disabled = True
        inbox.discard_all()
        log.error("dispatch.plugin_disabled plugin=%s consecutive_faults=%d discarded=%d",
                  inbox.name, inbox.consecutive_faults, inbox.discarded)
