"""``track_event`` delivery: observers (metrics, audit, alerting) see what the daemon did.

Why not ``pm.hook.track_event(...)``: one raising implementation would stop
the others and propagate into the order path.  Observers must never be able
to break trading, so each implementation is called on its own and a fault is
logged and counted.  They run on the caller's task, so they must be quick and
synchronous; a coroutine returned by mistake is closed and reported.
"""

from __future__ import annotations

import inspect
import logging
from collections import Counter
from typing import Any

import pluggy

log = logging.getLogger(__name__)


class EventTracker:
    """Callable ``tracker(kind, payload)`` over every ``track_event`` implementation."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self._pm = pm
        self.faults: Counter[str] = Counter()

    def __call__(self, kind: str, payload: dict[str, Any]) -> None:
        for impl in self._pm.hook.track_event.get_hookimpls():
            kwargs = {name: value for name, value in (("kind", kind), ("payload", payload))
                      if name in impl.argnames}
            try:
                result = impl.function(**kwargs)
            except Exception:
                self.faults[impl.plugin_name] += 1
                log.exception("track_event.failed plugin=%s kind=%s", impl.plugin_name, kind)
                continue
            if inspect.iscoroutine(result):
                result.close()
                self.faults[impl.plugin_name] += 1
                log.error("track_event.async_impl plugin=%s: track_event must be a plain function",
                          impl.plugin_name)
