"""listenKeys: the seed's user-data stream (create, keepalive, close, expiry).

Why expiry is measured in simulated time: a listenKey lives 60 minutes unless
kept alive, and the daemon's keepalive and recreate logic must be testable in
seconds; with ``time_factor=60`` a key lives one real minute.  Server time
(``/api/v3/time``) stays wall-clock time, so expiry keeps its own deadline in
trio's clock, scaled.

When a key expires, its connected sockets receive ``listenKeyExpired`` and are
closed; when it is deleted they are closed without it (the live exchange's
behaviour, per the listenKey-era docs).
"""

from __future__ import annotations

import logging
import random
import string
from dataclasses import dataclass, field
from typing import Protocol

import trio

from sim import errors
from sim.accounts import Account
from sim.hub import user_topic

log = logging.getLogger(__name__)

VALIDITY_S = 60 * 60
_KEY_ALPHABET = string.ascii_letters + string.digits


class UserConnection(Protocol):
    def deliver(self, topic: str, data: bytes) -> None: ...

    def finish(self, reason: str) -> None:
        """Send what is queued, then close the websocket."""


@dataclass(eq=False)
class ListenKey:
    key: str
    account: Account
    deadline: float  # trio.current_time() seconds
    connections: dict[UserConnection, None] = field(default_factory=dict)

    @property
    def topic(self) -> str:
        return user_topic(self.account.account_id)


class ListenKeys:
    """Active listenKeys; one per account, as the seed describes for POST."""

    def __init__(self, *, time_factor: float, seed: int, clock=trio.current_time) -> None:
        self.validity_s = VALIDITY_S / time_factor
        self._clock = clock
        self._rng = random.Random(f"tradingd-sim-listen-keys:{seed}")
        self._by_key: dict[str, ListenKey] = {}

    def create(self, account: Account) -> str:
        """A new key, or the account's active one with its validity extended."""
        for entry in self._by_key.values():
            if entry.account is account:
                entry.deadline = self._clock() + self.validity_s
                return entry.key
        key = "".join(self._rng.choice(_KEY_ALPHABET) for _ in range(64))
        self._by_key[key] = ListenKey(key, account, self._clock() + self.validity_s)
        log.info("listenkey.created account=%d", account.account_id)
        return key

    def keepalive(self, account: Account, key: str) -> None:
        self._owned(account, key).deadline = self._clock() + self.validity_s

    def close(self, account: Account, key: str) -> None:
        entry = self._owned(account, key)
        del self._by_key[key]
        for connection in list(entry.connections):
            connection.finish("listenKey closed")
        log.info("listenkey.closed account=%d", account.account_id)

    def lookup(self, key: str) -> ListenKey | None:
        return self._by_key.get(key)

    def attach(self, key: str, connection: UserConnection) -> ListenKey | None:
        entry = self._by_key.get(key)
        if entry is not None:
            entry.connections[connection] = None
        return entry

    def detach(self, key: str, connection: UserConnection) -> None:
        entry = self._by_key.get(key)
        if entry is not None:
            entry.connections.pop(connection, None)

    def expire_due(self, event_time_ms: int) -> list[str]:
        """Drop the keys past their deadline; tell and close their sockets."""
        now = self._clock()
        expired = [entry for entry in self._by_key.values() if entry.deadline <= now]
        for entry in expired:
            del self._by_key[entry.key]
            payload = (
                b'{"e":"listenKeyExpired","E":%d,"listenKey":"%s"}'
                % (event_time_ms, entry.key.encode())
            )
            for connection in list(entry.connections):
                connection.deliver(entry.topic, payload)
                connection.finish("listenKey expired")
            log.info("listenkey.expired account=%d", entry.account.account_id)
        return [entry.key for entry in expired]

    def expire_all(self, event_time_ms: int) -> list[str]:
        """Expire every key now, as ``expire_due`` does at deadlines (``Faults.expire_listen_keys``)."""
        now = self._clock()
        for entry in self._by_key.values():
            entry.deadline = min(entry.deadline, now)
        return self.expire_due(event_time_ms)

    def _owned(self, account: Account, key: str) -> ListenKey:
        entry = self._by_key.get(key)
        if entry is None or entry.account is not account:
            raise errors.invalid_listen_key()
        return entry


async def run_expiry(listen_keys: ListenKeys, now_ms, *, task_status=trio.TASK_STATUS_IGNORED):
    """Check for expired keys often enough that expiry is late by at most 1/20 of validity."""
    interval = min(1.0, listen_keys.validity_s / 20)
    task_status.started()
    while True:
        await trio.sleep(interval)
        listen_keys.expire_due(now_ms())
