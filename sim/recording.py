"""Recorded exchange traffic in cryptofeed's sample-data format, read for replay.

Why this format: ``../shared/reference/recordings/cryptofeed-binance-2021/`` holds
genuine Binance traffic written by cryptofeed's raw-data recorder, and it is the
easiest way to capture more (cryptofeed's ``raw_data_collection``).  One line per
item, the receive time in Unix seconds::

    wss://stream.binance.com:9443/stream?streams=a/b <-> 1633998511.159679   (a socket opens)
    1633998512.0633569: {"stream":"nknusdt@depth@100ms","data":{...}}        (a frame)
    https://api.binance.com/api/v3/depth?symbol=NKNUSDT&limit=1000 -> 1633998512.32: {...}
    configuration: {...}                                                    (ignored)

``load_recording`` takes one such file or a folder of them.  A frame's payload is
kept as the exact bytes that followed ``"data":``, so a replay sends them
byte-identical; raw-stream frames (``/ws/<name>``) are taken whole.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from sim.stream_names import parse_stream_name

log = logging.getLogger(__name__)

_HTTP_RE = re.compile(r"^(?P<url>https?://\S+) -> (?P<ts>[0-9.]+): (?P<body>.*)$")
_OPEN_RE = re.compile(r"^(?P<url>wss?://\S+) <-> (?P<ts>[0-9.]+)$")
_FRAME_RE = re.compile(r"^(?P<ts>[0-9]+(?:\.[0-9]+)?): (?P<frame>.*)$")
_ENVELOPE_HEAD = '{"stream":'
_DATA_KEY = ',"data":'


@dataclass(frozen=True)
class RecordedFrame:
    at: float  # receive time, Unix seconds
    stream: str
    payload: bytes  # exactly as received, after the combined envelope


@dataclass
class Recording:
    frames: list[RecordedFrame] = field(default_factory=list)
    depth_snapshots: dict[str, bytes] = field(default_factory=dict)  # symbol -> body
    exchange_info: bytes | None = None
    skipped_lines: int = 0

    @property
    def streams(self) -> set[str]:
        return {frame.stream for frame in self.frames}

    @property
    def symbols(self) -> set[str]:
        """Upper-case symbols of the recorded streams and snapshots."""
        found = set(self.depth_snapshots)
        for name in self.streams:
            parsed = parse_stream_name(name)
            if parsed is not None and parsed.symbol is not None:
                found.add(parsed.symbol)
        return found


def load_recording(path: str | Path) -> Recording:
    """Read a recording file, or every regular file of a folder (LICENSE and the like skipped)."""
    root = Path(path)
    files = sorted(p for p in root.iterdir() if p.is_file()) if root.is_dir() else [root]
    recording = Recording()
    for file in files:
        if file.name.upper().startswith(("LICENSE", "README")):
            continue
        _read_file(file, recording)
    recording.frames.sort(key=lambda frame: frame.at)
    if not recording.frames and not recording.depth_snapshots and recording.exchange_info is None:
        raise ValueError(f"no recorded traffic in {path}")
    log.info("recording.loaded path=%s frames=%d snapshots=%d exchange_info=%s skipped=%d",
             path, len(recording.frames), len(recording.depth_snapshots),
             recording.exchange_info is not None, recording.skipped_lines)
    return recording


def _read_file(file: Path, recording: Recording) -> None:
    socket_url: str | None = None
    with file.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            line = line.rstrip("\n")
            if not line or line.startswith("configuration: "):
                continue
            if match := _OPEN_RE.match(line):
                socket_url = match.group("url")
            elif match := _HTTP_RE.match(line):
                _add_response(recording, match.group("url"), match.group("body"))
            elif match := _FRAME_RE.match(line):
                frame = _frame(float(match.group("ts")), match.group("frame"), socket_url)
                if frame is None:
                    recording.skipped_lines += 1
                    log.warning("recording.unreadable_frame file=%s line=%d", file.name, number)
                else:
                    recording.frames.append(frame)
            else:
                recording.skipped_lines += 1
                log.warning("recording.unknown_line file=%s line=%d", file.name, number)


def _add_response(recording: Recording, url: str, body: str) -> None:
    parts = urlsplit(url)
    if parts.path.endswith("/api/v3/depth"):
        symbol = parse_qs(parts.query).get("symbol", [""])[0].upper()
        if symbol:
            recording.depth_snapshots[symbol] = body.encode()
    elif parts.path.endswith("/api/v3/exchangeInfo") and not parts.query:
        recording.exchange_info = body.encode()


def _frame(at: float, raw: str, socket_url: str | None) -> RecordedFrame | None:
    """Split a frame into its stream name and payload bytes (None when it makes no sense)."""
    try:
        decoded = json.loads(raw)
    except ValueError:
        return None
    if raw.startswith(_ENVELOPE_HEAD) and isinstance(decoded, dict) and set(decoded) == {
            "stream", "data"}:
        head = _ENVELOPE_HEAD + json.dumps(decoded["stream"], separators=(",", ":")) + _DATA_KEY
        if raw.startswith(head) and raw.endswith("}"):
            payload = raw[len(head):-1]
            if json.loads(payload) == decoded["data"]:
                return RecordedFrame(at, decoded["stream"], payload.encode())
        return None
    # A raw stream (/ws/<name>): the name is in the socket's URL.
    if socket_url is None or "/ws/" not in socket_url:
        return None
    name = urlsplit(socket_url).path.rsplit("/ws/", 1)[1]
    return RecordedFrame(at, name, raw.encode()) if name else None
