"""Publish/subscribe between the synchronous exchange core and its websocket clients.

Why synchronous delivery into per-subscriber queues: the matching engine runs
between two awaits and must never block on a slow client, and a user's events
must still arrive complete and in order.  ``publish`` therefore encodes a
payload once and hands the bytes to every subscriber of the topic without
awaiting; each websocket connection owns a queue that its writer task drains
(see ``sim.streams``).

Topics: market streams by their Binance name (``btcusdt@trade``,
``btcusdt@bookTicker``, ``!bookTicker``); user data by ``account:<id>``.
"""

from __future__ import annotations

import json
from typing import Protocol

import msgspec

_encoder = msgspec.json.Encoder()


def market_topic(symbol: str, kind: str) -> str:
    return f"{symbol.lower()}@{kind}"


def user_topic(account_id: int) -> str:
    return f"account:{account_id}"


class Subscriber(Protocol):
    def deliver(self, topic: str, data: bytes) -> None:
        """Take one encoded payload; must not block and must not raise."""


class EventHub:
    def __init__(self) -> None:
        self._topics: dict[str, dict[Subscriber, None]] = {}

    def subscribe(self, topic: str, subscriber: Subscriber) -> None:
        self._topics.setdefault(topic, {})[subscriber] = None

    def unsubscribe(self, topic: str, subscriber: Subscriber) -> None:
        subscribers = self._topics.get(topic)
        if subscribers is not None:
            subscribers.pop(subscriber, None)
            if not subscribers:
                del self._topics[topic]

    def unsubscribe_all(self, subscriber: Subscriber) -> None:
        for topic in list(self._topics):
            self.unsubscribe(topic, subscriber)

    def has_subscribers(self, topic: str) -> bool:
        return topic in self._topics

    def publish(self, topic: str, payload: dict[str, object]) -> None:
        subscribers = self._topics.get(topic)
        if not subscribers:
            return
        data = _encoder.encode(payload)
        for subscriber in list(subscribers):
            subscriber.deliver(topic, data)

    def publish_raw(self, topic: str, data: bytes) -> None:
        """Hand already encoded bytes to the topic's subscribers (replayed frames, arrays)."""
        subscribers = self._topics.get(topic)
        if not subscribers:
            return
        for subscriber in list(subscribers):
            subscriber.deliver(topic, data)


class Collector:
    """A subscriber that keeps decoded payloads in a list (for tests and tools)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict]] = []

    def deliver(self, topic: str, data: bytes) -> None:
        self.events.append((topic, json.loads(data)))

    def payloads(self, event_type: str | None = None) -> list[dict]:
        return [
            payload
            for _, payload in self.events
            if event_type is None or payload.get("e") == event_type
        ]
