"""Named points where the crash test kills the daemon, and the tiny hook that does it.

Why: "no fill lost, none counted twice, no order sent twice" has to hold for a
process killed at *any* instant, and the dangerous instants are narrow (between
the exchange accepting an order and the answer being committed, between an
event being committed and a strategy hearing of it).  A kill from outside at a
random time rarely lands there; a named point makes the crash test hit each one
on purpose and repeatably.

Usage: ``TRADINGD_CRASH_AT=<point>:<n>`` in the daemon's environment kills the
process with SIGKILL on the ``n``-th pass through ``crash_point("<point>")``
(``n`` defaults to 1).  SIGKILL, not ``sys.exit``: no ``finally``, no atexit, no
buffered log line is flushed, exactly like the OOM killer or a power cut
(SQLite's committed transactions survive; nothing else does).  One line is
written straight to stderr (fd 2, unbuffered) first, so the harness can tell a
planned death from a real crash.

Zero cost when the variable is unset: ``crash_point`` is then a function that
returns at once (one call, no lookup), decided once at import.

The points (grep ``crash_point(`` for the exact places):

================================  ==============================================
``order.before_send``             intent committed, request not yet sent
``order.after_send``              the exchange answered (order exists), answer not recorded
``order.after_ack``               answer recorded, strategy not yet told
``order.outcome_unknown``         5xx/-1007/lost answer recorded as unknown, not yet resolved
``event.before_apply``            a user-data event received, not yet stored
``event.after_apply``             the event committed, strategies not yet told
``store.before_commit``           inside any store transaction, before COMMIT
``reconcile.after_snapshot``      account and open orders applied, fills not yet
``reconcile.after_fill_page``     one page of recovered fills committed, the rest not yet
``reconcile.after_intent``        one pending/unknown intent resolved, the rest not yet
================================  ==============================================
"""

from __future__ import annotations

import os
import signal

ENV_VAR = "TRADINGD_CRASH_AT"

POINTS = frozenset({
    "order.before_send", "order.after_send", "order.after_ack", "order.outcome_unknown",
    "event.before_apply", "event.after_apply", "store.before_commit",
    "reconcile.after_snapshot", "reconcile.after_fill_page", "reconcile.after_intent",
})


def parse(spec: str) -> tuple[str, int]:
    """``"order.after_send:3"`` -> ``("order.after_send", 3)``; ValueError when malformed."""
    name, _, count = spec.strip().partition(":")
    if name not in POINTS:
        raise ValueError(f"{ENV_VAR}: unknown crash point {name!r} (known: {', '.join(sorted(POINTS))})")
    try:
        nth = int(count) if count else 1
    except ValueError:
        raise ValueError(f"{ENV_VAR}: pass count must be an integer, got {count!r}") from None
    if nth < 1:
        raise ValueError(f"{ENV_VAR}: pass count must be >= 1, got {nth}")
    return name, nth


class _Armed:
    """Counts passes through the armed point and kills the process on the n-th."""

    def __init__(self, name: str, nth: int) -> None:
        self.name = name
        self.nth = nth
        self.passes = 0

    def __call__(self, name: str) -> None:
        if name != self.name:
            return
        self.passes += 1
        if self.passes == self.nth:
            os.write(2, f"crash_point.kill point={name} pass={self.passes} pid={os.getpid()}\n"
                        .encode())
            os.kill(os.getpid(), signal.SIGKILL)


def _disarmed(name: str) -> None:
    """The hook when no crash is planned: nothing to do."""


def arm(spec: str | None):
    """The hook for ``spec`` (None or empty: the no-op).  Raises ValueError when malformed."""
    if not spec:
        return _disarmed
    return _Armed(*parse(spec))


#: Call ``crash_point("<point>")`` at a named point; see the module docstring.
crash_point = arm(os.environ.get(ENV_VAR))
