"""Replay of recorded traffic: recorded frames on the live streams, recorded REST answers.

Why replay next to the synthetic market: a recording is real traffic (real
update-id sequences, real bursts, real symbols), so a client's stream decoding
and local order book can be checked against what Binance actually sent, through
the same sockets and endpoints as everything else.  ``SimConfig.replay_path``
turns it on; the synthetic market keeps running for the simulator's own symbols.

* Frames go out on their recorded stream names, each payload byte-identical, at
  the recorded pace divided by ``replay_speed``.  The clock starts when the first
  client subscribes to one of the recorded streams (a client connecting a moment
  after start-up misses nothing), and with ``replay_loop`` starts again at the end
  (the update ids then repeat: a client's book must resynchronise, as after a gap).
* ``GET /api/v3/depth`` for a recorded symbol answers the recorded snapshot (cut to
  ``limit`` levels per side); ``GET /api/v3/exchangeInfo`` answers the recorded
  entries for recorded symbols, and adds them to the simulator's own list when
  asked for everything.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

import trio

from sim.hub import EventHub
from sim.recording import Recording, load_recording

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

DEFAULT_DEPTH_LIMIT = 100
_WAIT_POLL_S = 0.01


class Replayer:
    def __init__(self, recording: Recording, *, speed: float = 1.0, loop: bool = False) -> None:
        if speed <= 0:
            raise ValueError(f"replay speed must be > 0, got {speed}")
        self.recording = recording
        self.speed = speed
        self.loop = loop
        self.frames_sent = 0
        self.rounds = 0
        self.started = trio.Event()
        self.finished = trio.Event()
        self._info_entries = _symbol_entries(recording.exchange_info)

    @classmethod
    def from_path(cls, path: str, *, speed: float = 1.0, loop: bool = False) -> Replayer:
        return cls(load_recording(path), speed=speed, loop=loop)

    @property
    def symbols(self) -> set[str]:
        return self.recording.symbols

    # ---------------------------------------------------------------- streams

    async def run(self, hub: EventHub, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        """Publish the frames on ``hub`` once someone listens; returns when done (no loop)."""
        task_status.started()
        frames = self.recording.frames
        if not frames:
            self.finished.set()
            return
        topics = self.recording.streams
        while not any(hub.has_subscribers(topic) for topic in topics):
            await trio.sleep(_WAIT_POLL_S)
        self.started.set()
        log.info("replay.started frames=%d speed=%s", len(frames), self.speed)
        while True:
            self.rounds += 1
            origin, first = trio.current_time(), frames[0].at
            for frame in frames:
                await trio.sleep_until(origin + (frame.at - first) / self.speed)
                hub.publish_raw(frame.stream, frame.payload)
                self.frames_sent += 1
            if not self.loop:
                break
        log.info("replay.finished frames=%d", self.frames_sent)
        self.finished.set()

    # ------------------------------------------------------------------- REST

    def depth(self, symbol: str, limit: int) -> bytes | None:
        """The recorded snapshot of ``symbol`` cut to ``limit`` levels (None if not recorded)."""
        body = self.recording.depth_snapshots.get(symbol.upper())
        if body is None:
            return None
        snapshot = json.loads(body)
        if len(snapshot["bids"]) <= limit and len(snapshot["asks"]) <= limit:
            return body
        snapshot["bids"], snapshot["asks"] = snapshot["bids"][:limit], snapshot["asks"][:limit]
        return json.dumps(snapshot, separators=(",", ":")).encode()

    def serve_rest(self, app: ASGIApp) -> ASGIApp:
        """Wrap the simulator's ASGI app: recorded answers first, the simulator's otherwise."""

        async def replay_app(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http" or scope.get("method") != "GET":
                await app(scope, receive, send)
                return
            path = scope.get("path", "")
            params = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            body: bytes | None = None
            if path == "/api/v3/depth":
                body = self._depth_answer(params)
            elif path == "/api/v3/exchangeInfo":
                body = self._info_answer(params)
                if body is None and not params and self._info_entries:
                    await self._merged_info(app, scope, receive, send)
                    return
            if body is None:
                await app(scope, receive, send)
            else:
                await _send_json(send, body)

        return replay_app

    def _depth_answer(self, params: dict[str, list[str]]) -> bytes | None:
        symbol = params.get("symbol", [""])[0]
        raw_limit = params.get("limit", [str(DEFAULT_DEPTH_LIMIT)])[0]
        if not raw_limit.isdigit() or int(raw_limit) < 1:
            return None  # the simulator's own validation answers
        return self.depth(symbol, int(raw_limit))

    def _info_answer(self, params: dict[str, list[str]]) -> bytes | None:
        names: list[str] = []
        if "symbol" in params and "symbols" not in params:
            names = [params["symbol"][0].upper()]
        elif "symbols" in params and "symbol" not in params:
            try:
                decoded = json.loads(params["symbols"][0])
            except ValueError:
                return None
            if isinstance(decoded, list) and all(isinstance(n, str) for n in decoded):
                names = [n.upper() for n in decoded]
        recorded = self.symbols
        if not names or not all(n in self._info_entries and n in recorded for n in names):
            return None
        document = json.loads(self.recording.exchange_info or b"{}")
        document["symbols"] = [self._info_entries[name] for name in names]
        return json.dumps(document, separators=(",", ":")).encode()

    async def _merged_info(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        """The simulator's exchangeInfo with the recorded symbols it does not have appended."""
        captured: list[MutableMapping[str, Any]] = []

        async def capture(message: MutableMapping[str, Any]) -> None:
            captured.append(message)

        await app(scope, receive, capture)
        start = captured[0]
        body = b"".join(m.get("body", b"") for m in captured[1:])
        if start.get("status") != 200:
            for message in captured:
                await send(message)
            return
        document = json.loads(body)
        own = {entry["symbol"] for entry in document.get("symbols", [])}
        document["symbols"].extend(entry for name, entry in sorted(self._info_entries.items())
                                   if name not in own and name in self.symbols)
        await _send_json(send, json.dumps(document, separators=(",", ":")).encode())


def _symbol_entries(exchange_info: bytes | None) -> dict[str, dict[str, object]]:
    if exchange_info is None:
        return {}
    return {entry["symbol"]: entry for entry in json.loads(exchange_info).get("symbols", [])}


async def _send_json(send: Send, body: bytes) -> None:
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def load_replay(path: str | None, *, speed: float = 1.0, loop: bool = False) -> Replayer | None:
    """The replayer ``SimConfig.replay_path`` asks for, or None."""
    if path is None:
        return None
    return Replayer.from_path(path, speed=speed, loop=loop)
