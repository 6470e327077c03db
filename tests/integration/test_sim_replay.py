"""Replay of the genuine 2021 Binance recording: frames byte-identical, snapshots, exchangeInfo.

Skips when ``../shared/reference/recordings/`` is absent (a user's clone).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import trio
from websockets.trio.client import connect

from sim import SimConfig, run_simulator
from sim.recording import load_recording

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
RECORDING = SHARED / "reference" / "recordings" / "cryptofeed-binance-2021"
SPEED = 25.0

pytestmark = [
    pytest.mark.shared,
    pytest.mark.skipif(not (RECORDING / "BINANCE.ws.1.0").is_file(),
                       reason="../shared/reference/recordings is not available"),
]


def recorded_lines() -> tuple[str, list[str]]:
    """The combined stream's URL and its raw frames, as written in the recording."""
    lines = (RECORDING / "BINANCE.ws.1.0").read_text(encoding="utf-8").splitlines()
    url = lines[0].split(" <-> ")[0]
    return url, [line.split(": ", 1)[1] for line in lines[1:] if line]


def test_the_recording_is_read_completely():
    recording = load_recording(RECORDING)
    url, frames = recorded_lines()
    assert len(recording.frames) == len(frames) == 265
    assert recording.skipped_lines == 0
    assert set(recording.depth_snapshots) == {"NKNUSDT", "BLZETH", "LRCBTC", "RUNEEUR"}
    assert recording.symbols == {"NKNUSDT", "BLZETH", "LRCBTC", "RUNEEUR"}
    assert recording.exchange_info is not None
    names = set(url.split("streams=")[1].split("/"))
    assert recording.streams <= names
    assert {"nknusdt@depth@100ms", "nknusdt@bookTicker", "nknusdt@kline_1m",
            "nknusdt@aggTrade"} <= recording.streams
    for frame, raw in zip(recording.frames, frames, strict=True):
        rebuilt = b'{"stream":"%s","data":%s}' % (frame.stream.encode(), frame.payload)
        assert rebuilt == raw.encode()


async def test_replayed_frames_arrive_byte_identical_at_the_recorded_pace(nursery):
    sim = await nursery.start(run_simulator, SimConfig(
        replay_path=str(RECORDING), replay_speed=SPEED, participant_interval_ms=250))
    url, expected = recorded_lines()
    streams = url.split("streams=")[1]
    received: list[tuple[float, str]] = []
    async with connect(f"{sim.stream_url}/stream?streams={streams}", proxy=None,
                       compression=None) as ws:
        with trio.fail_after(30):
            while len(received) < len(expected):
                received.append((trio.current_time(), await ws.recv()))
    assert [text for _, text in received] == expected
    recording = load_recording(RECORDING)
    recorded_span = recording.frames[-1].at - recording.frames[0].at
    replayed_span = received[-1][0] - received[0][0]
    assert recorded_span / SPEED * 0.8 < replayed_span < recorded_span / SPEED + 1.0
    assert sim.replay is not None and sim.replay.frames_sent == 265
    sim.shutdown()


async def test_local_book_from_recorded_snapshot_and_replayed_diffs(nursery):
    """The reference's promise: the recorded updates satisfy the sync rule for the snapshot."""
    sim = await nursery.start(run_simulator, SimConfig(
        replay_path=str(RECORDING), replay_speed=50.0, participant_interval_ms=250))
    async with connect(f"{sim.stream_url}/ws/nknusdt@depth@100ms", proxy=None) as ws, \
            httpx.AsyncClient(base_url=sim.rest_url, timeout=10) as http:
        first = json.loads(await ws.recv())
        snapshot = (await http.get("/api/v3/depth", params={"symbol": "NKNUSDT",
                                                            "limit": "1000"})).json()
        assert snapshot["lastUpdateId"] >= first["U"]
        bids = {Decimal(p): Decimal(q) for p, q in snapshot["bids"]}
        book_id, applied, events = snapshot["lastUpdateId"], 0, [first]
        with trio.fail_after(20):
            while events:
                event = events.pop()
                if event["u"] > book_id:
                    assert event["U"] <= book_id + 1  # no gap, ever
                    for price, qty in event["b"]:
                        if Decimal(qty) == 0:
                            bids.pop(Decimal(price), None)
                        else:
                            bids[Decimal(price)] = Decimal(qty)
                    book_id, applied = event["u"], applied + 1
                with trio.move_on_after(1):  # the replay is over when a second passes quietly
                    events.append(json.loads(await ws.recv()))
        assert sim.replay.finished.is_set()
        assert applied > 20 and max(bids) < Decimal("0.36")
        limited = (await http.get("/api/v3/depth", params={"symbol": "NKNUSDT", "limit": "5"})).json()
        assert limited["lastUpdateId"] == snapshot["lastUpdateId"]
        assert limited["bids"] == snapshot["bids"][:5] and len(limited["asks"]) == 5
    sim.shutdown()


async def test_recorded_exchange_info_beside_the_simulators_own(nursery):
    sim = await nursery.start(run_simulator, SimConfig(replay_path=str(RECORDING)))
    async with httpx.AsyncClient(base_url=sim.rest_url, timeout=10) as http:
        one = (await http.get("/api/v3/exchangeInfo", params={"symbol": "NKNUSDT"})).json()
        assert [s["symbol"] for s in one["symbols"]] == ["NKNUSDT"]
        assert one["serverTime"] == 1633998511098  # the recorded document
        every = (await http.get("/api/v3/exchangeInfo")).json()
        names = [s["symbol"] for s in every["symbols"]]
        assert {"BTCUSDT", "NKNUSDT", "BLZETH", "LRCBTC", "RUNEEUR"} <= set(names)
        assert names.count("BTCUSDT") == 1
        own = (await http.get("/api/v3/exchangeInfo", params={"symbol": "BTCUSDT"})).json()
        assert own["serverTime"] > 1633998511098  # the simulator's own answer
        depth = (await http.get("/api/v3/depth", params={"symbol": "BTCUSDT"})).json()
        assert depth["lastUpdateId"] == sim.exchange.books["BTCUSDT"].update_id
    sim.shutdown()
