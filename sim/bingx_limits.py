"""BingX's per-UID rate limits and its penalty for repeated insufficient-balance errors.

Each endpoint allows N requests per second per UID (the spec's "rate limitation
by UID: N/s"); more are refused with 100410 "rate limited".  The spec's
penalty: more than 20 answers of 100202 (insufficient balance) on one endpoint
within 480 s disable that endpoint for the account until 480 s have passed
(100410, "over 20 error code:100202 requests within 480000 ms ...").  The
spec's per-IP group limits give no numbers and are not modelled.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from sim.bingx_errors import BingxError, penalty, rate_limited

WINDOW_MS = 1000
PENALTY_CODE = 100202
PENALTY_COUNT = 20
PENALTY_WINDOW_MS = 480_000


class UidLimiter:
    """Sliding one-second windows per (UID, endpoint), and the 100202 penalty."""

    def __init__(self, clock: Callable[[], int]) -> None:
        self.clock = clock  # exchange milliseconds; tests may replace it
        self._admitted: dict[tuple[int, str], deque[int]] = {}
        self._failures: dict[tuple[int, str], deque[int]] = {}
        self._blocked_until: dict[tuple[int, str], int] = {}

    def admit(self, uid: int, endpoint: str, per_second: int) -> None:
        now = self.clock()
        key = (uid, endpoint)
        blocked_until = self._blocked_until.get(key)
        if blocked_until is not None:
            if now < blocked_until:
                raise penalty(PENALTY_WINDOW_MS, blocked_until)
            del self._blocked_until[key]
        window = self._admitted.setdefault(key, deque())
        while window and window[0] <= now - WINDOW_MS:
            window.popleft()
        if len(window) >= per_second:
            raise rate_limited()
        window.append(now)

    def record(self, uid: int, endpoint: str, error: BingxError) -> None:
        """Count a refusal; the 21st 100202 within 480 s blocks the endpoint for 480 s."""
        if error.code != PENALTY_CODE:
            return
        now = self.clock()
        key = (uid, endpoint)
        failures = self._failures.setdefault(key, deque())
        failures.append(now)
        while failures and failures[0] <= now - PENALTY_WINDOW_MS:
            failures.popleft()
        if len(failures) > PENALTY_COUNT:
            self._blocked_until[key] = now + PENALTY_WINDOW_MS
            failures.clear()
