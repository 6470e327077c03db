"""Reading cryptofeed-style recordings (without ../shared): envelopes, raw streams, bad lines."""

from __future__ import annotations

import json

import pytest

from sim.recording import load_recording
from sim.replay import Replayer

COMBINED = (
    "wss://stream.binance.com:9443/stream?streams=btcusdt@trade/btcusdt@depth <-> 100.0\n"
    '100.5: {"stream":"btcusdt@trade","data":{"e":"trade","p":"1.50000000", "t":1}}\n'
    "configuration: {\"trades\": [\"BTC-USDT\"]}\n"
    '100.2: {"stream":"btcusdt@depth","data":{"e":"depthUpdate","U":5,"u":6,"b":[],"a":[]}}\n'
    "100.7: {not json\n"
    "what is this line\n"
    "\n"
)
RAW = (
    "wss://stream.binance.com:9443/ws/ethusdt@bookTicker <-> 200.0\n"
    '200.1: {"u":7,"s":"ETHUSDT","b":"1.0","B":"2.0","a":"1.1","A":"3.0"}\n'
)
HTTP = (
    'https://api.binance.com/api/v3/depth?symbol=BTCUSDT&limit=1000 -> 99.0: '
    '{"lastUpdateId":4,"bids":[["1.0","1.0"],["0.9","2.0"]],"asks":[["1.1","1.0"]]}\n'
    'https://api.binance.com/api/v3/exchangeInfo -> 98.0: {"timezone":"UTC","serverTime":1,'
    '"symbols":[{"symbol":"BTCUSDT","status":"TRADING"}]}\n'
)


def test_a_folder_of_recordings(tmp_path):
    (tmp_path / "X.ws.1.0").write_text(COMBINED)
    (tmp_path / "X.ws.2.0").write_text(RAW)
    (tmp_path / "X.http.0").write_text(HTTP)
    (tmp_path / "LICENSE").write_text("not traffic\n")
    recording = load_recording(tmp_path)
    assert [(f.at, f.stream) for f in recording.frames] == [
        (100.2, "btcusdt@depth"), (100.5, "btcusdt@trade"), (200.1, "ethusdt@bookTicker")]
    # Exactly the bytes after "data": (the trade's odd spacing survives).
    assert recording.frames[1].payload == b'{"e":"trade","p":"1.50000000", "t":1}'
    assert json.loads(recording.frames[2].payload)["u"] == 7
    assert recording.skipped_lines == 2  # the bad JSON and the unknown line
    assert recording.symbols == {"BTCUSDT", "ETHUSDT"}
    assert recording.exchange_info is not None
    replayer = Replayer(recording, speed=2.0)
    assert replayer.depth("btcusdt", 1) == b'{"lastUpdateId":4,"bids":[["1.0","1.0"]],"asks":[["1.1","1.0"]]}'
    assert replayer.depth("BTCUSDT", 1000) == recording.depth_snapshots["BTCUSDT"]  # untouched
    assert replayer.depth("ETHUSDT", 5) is None


def test_nothing_recorded_is_an_error(tmp_path):
    (tmp_path / "empty").write_text("configuration: {}\n")
    with pytest.raises(ValueError, match="no recorded traffic"):
        load_recording(tmp_path / "empty")
    with pytest.raises(ValueError):
        Replayer.from_path(str(tmp_path / "empty"))


def test_a_frame_whose_envelope_is_not_the_recorded_form_is_skipped(tmp_path):
    # "data" before "stream": valid JSON, but the payload bytes cannot be cut out faithfully.
    (tmp_path / "odd").write_text(
        'wss://x/stream?streams=a@trade <-> 1.0\n1.5: {"data":{"e":"trade"},"stream":"a@trade"}\n'
        '2.0: {"stream":"a@trade","data":{"e":"trade"}}\n')
    recording = load_recording(tmp_path / "odd")
    assert len(recording.frames) == 1 and recording.skipped_lines == 1
