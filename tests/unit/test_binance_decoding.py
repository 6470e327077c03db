"""Every payload example of the seed, and real captures, through the venue's decoders.

The examples are extracted from the documentation text at test time (never copied
into the repository); without ../shared these tests skip.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest

from daemon.errors import DecodeError
from daemon.venues.binance import models
from daemon.venues.binance.models import (
    AccountPosition,
    AggTrade,
    BalanceUpdate,
    BookTicker,
    DepthUpdate,
    EventStreamTerminated,
    ExecutionReport,
    ExternalLockUpdate,
    Kline,
    ListenKeyExpired,
    ListStatus,
    MiniTicker,
    PartialDepth,
    Ticker,
    Trade,
    decode_combined,
    decode_market,
    decode_user_event,
)

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
SEED = SHARED / "seeds" / "000_85d9e311c076a73c.txt"
LISTENKEY_DOCS = SHARED / "reference" / "binance-spot-api-docs-listenkey-era" / "user-data-stream.md"
TODAY_DOCS = SHARED / "reference" / "binance-spot-api-docs" / "user-data-stream.md"
GOCRYPTO = SHARED / "reference" / "recordings" / "gocryptotrader-binance" / "wsHandleData.json"
CRYPTOFEED_WS = SHARED / "reference" / "recordings" / "cryptofeed-binance-2021" / "BINANCE.ws.1.0"

pytestmark = pytest.mark.shared


def _need(path: Path) -> Path:
    if not path.is_file():
        pytest.skip(f"{path} is not available in this checkout")
    return path


def _strip_comments(block: str) -> str:
    return "\n".join(re.sub(r"\s*//.*$", "", line) for line in block.splitlines())


def _json_block(lines: list[str], start: int) -> tuple[str, int]:
    """The bracket-balanced JSON text starting at ``lines[start]``; returns (text, next index)."""
    depth, out = 0, []
    for index in range(start, len(lines)):
        line = _strip_comments(lines[index])
        out.append(line)
        depth += line.count("{") + line.count("[") - line.count("}") - line.count("]")
        if depth == 0:
            return "\n".join(out), index + 1
    raise AssertionError(f"unbalanced payload starting at line {start + 1}")


def _is_placeholder(value: object) -> bool:
    """``{ // Same as <symbol>@ticker payload }`` becomes ``{}`` once comments go."""
    if isinstance(value, dict):
        return not value
    if isinstance(value, list):
        return all(_is_placeholder(item) for item in value)
    return False


def _stream_for(name_line: str) -> str:
    """A concrete stream name from "Stream Name: <symbol>@depth<levels> OR ..."."""
    name = name_line.split(":", 1)[1].strip().split(" OR ")[0].strip()
    return (name.replace("<symbol>", "bnbbtc").replace("<interval>", "1m")
            .replace("<levels>", "5"))


def seed_payloads() -> tuple[list[tuple[str, bytes]], list[bytes], dict[str, bytes]]:
    """(market (stream, raw) pairs, user-data raws, placeholder stream names -> "same as")."""
    lines = _need(SEED).read_text(encoding="utf-8").splitlines()
    market, user, placeholders = [], [], {}
    index = 0
    while index < len(lines):
        if not re.fullmatch(r"Payload:?", lines[index].strip()):
            index += 1
            continue
        start = index + 1
        while not lines[start].lstrip().startswith(("{", "[")):
            start += 1
        text, index = _json_block(lines, start)
        value = json.loads(text)
        stream_line = next((line for line in lines[index:index + 12]
                            if line.startswith(("Stream Name:", "Stream Names:"))), None)
        raw = json.dumps(value).encode()
        if stream_line is None:
            user.append(raw)
        elif _is_placeholder(value):
            placeholders[_stream_for(stream_line)] = raw
        else:
            market.append((_stream_for(stream_line), raw))
    return market, user, placeholders


def test_every_seed_market_payload_decodes_to_its_type() -> None:
    market, _, _ = seed_payloads()
    decoded = {stream: decode_market(stream, raw) for stream, raw in market}
    assert {type(event) for event in decoded.values()} == {
        AggTrade, Trade, Kline, MiniTicker, Ticker, BookTicker, PartialDepth, DepthUpdate}
    kline = decoded["bnbbtc@kline_1m"]
    assert kline.bar.open == Decimal("0.0010") and kline.bar.closed is False
    assert kline.bar.taker_buy_quote_volume == Decimal("0.500")
    book = decoded["bnbbtc@bookTicker"]
    assert (book.update_id, book.bid_price, book.ask_qty) == (
        400900217, Decimal("25.35190000"), Decimal("40.66000000"))
    depth = decoded["bnbbtc@depth5"]
    assert depth.symbol == "BNBBTC" and depth.bids == ((Decimal("0.0024"), Decimal("10")),)
    diff = decoded["bnbbtc@depth"]
    assert (diff.first_update_id, diff.final_update_id) == (157, 160)
    ticker = decoded["bnbbtc@ticker"]
    assert ticker.trades == 18151 and ticker.prev_close == Decimal("0.0009")


def test_seed_all_market_arrays_decode_from_their_item_payloads() -> None:
    """The seed shows ``!ticker@arr`` as "[ same as <symbol>@ticker ]": build that array."""
    market, _, placeholders = seed_payloads()
    assert {"!miniTicker@arr", "!ticker@arr", "!bookTicker"} <= set(placeholders)
    items = dict(market)
    for arr, single in (("!miniTicker@arr", "bnbbtc@miniTicker"), ("!ticker@arr", "bnbbtc@ticker")):
        raw = b"[" + items[single] + b"," + items[single] + b"]"
        events = decode_market(arr, raw)
        assert len(events) == 2 and events[0] == decode_market(single, items[single])
    assert decode_market("!bookTicker", items["bnbbtc@bookTicker"]).symbol == "BNBUSDT"


def test_every_seed_user_data_payload_decodes() -> None:
    _, user, _ = seed_payloads()
    events = [decode_user_event(raw) for raw in user]
    assert [type(e) for e in events] == [AccountPosition, BalanceUpdate, ExecutionReport, ListStatus]
    position, balance, report, status = events
    assert position.balances[0].free == Decimal("10000.000000")
    assert (balance.asset, balance.delta) == ("BTC", Decimal("100.00000000"))
    assert report.price == Decimal("0.10264410") and report.commission_asset is None
    assert (report.order_id, report.trade_id, report.is_working) == (4293153, -1, True)
    assert [o.order_id for o in status.orders] == [17, 18]


def _doc_events(path: Path) -> list:
    text = _need(path).read_text(encoding="utf-8")
    blocks = re.findall(r"```javascript\n(.*?)```", text, flags=re.S)
    events = []
    for block in blocks:
        value = json.loads(_strip_comments(block))
        if isinstance(value, dict) and ("e" in value or "event" in value):
            events.append(decode_user_event(json.dumps(value).encode()))
    return events


def test_listenkey_era_doc_examples_decode() -> None:
    """listenKeyExpired and the newer events, from the docs before listenKey was removed."""
    events = _doc_events(LISTENKEY_DOCS)
    kinds = {type(e) for e in events}
    assert {ExecutionReport, AccountPosition, BalanceUpdate, ListStatus, ListenKeyExpired,
            EventStreamTerminated, ExternalLockUpdate} <= kinds
    expired = next(e for e in events if isinstance(e, ListenKeyExpired))
    assert expired.listen_key.startswith("OfYGbUzi")


def test_todays_wrapped_doc_examples_decode() -> None:
    """Today's WebSocket-API events: ``{"subscriptionId": 0, "event": {...}}``."""
    events = _doc_events(TODAY_DOCS)
    assert {ExecutionReport, AccountPosition, BalanceUpdate, ListStatus,
            EventStreamTerminated, ExternalLockUpdate} <= {type(e) for e in events}


def test_event_as_a_value_is_not_mistaken_for_the_wrapper() -> None:
    raw = b'{"e":"balanceUpdate","E":1,"a":"event","d":"1.5","T":2}'
    assert decode_user_event(raw) == BalanceUpdate(event_time=1, asset="event",
                                                   delta=Decimal("1.5"), clear_time=2)


class _Frame(msgspec.Struct):
    stream: str
    data: msgspec.Raw


def test_gocryptotrader_captures_decode() -> None:
    lines = _need(GOCRYPTO).read_bytes().splitlines()
    decoded = []
    for line in filter(None, lines):
        frame = msgspec.json.decode(line, type=_Frame)
        if "@" in frame.stream:
            decoded.append(decode_combined(line)[1])
        else:  # a listenKey stream: user data
            decoded.append(decode_user_event(bytes(frame.data)))
    assert {type(e) for e in decoded} >= {Ticker, Kline, Trade, DepthUpdate, BalanceUpdate,
                                          ListStatus, ExecutionReport, AccountPosition}
    position = next(e for e in decoded if isinstance(e, AccountPosition))
    assert [b.asset for b in position.balances] == ["BTC", "BNB", "USDT"]
    report = next(e for e in decoded if isinstance(e, ExecutionReport))
    assert report.quantity == Decimal("0.00028400") and report.commission_asset == "BTC"


def test_cryptofeed_combined_stream_capture_decodes_every_frame() -> None:
    lines = _need(CRYPTOFEED_WS).read_text(encoding="utf-8").splitlines()[1:]
    counts: dict[type, int] = {}
    for line in filter(None, lines):
        _, frame = line.split(": ", 1)
        stream, event = decode_combined(frame)
        counts[type(event)] = counts.get(type(event), 0) + 1
        if isinstance(event, DepthUpdate):
            assert event.symbol.lower() == stream.split("@")[0]
    assert set(counts) == {DepthUpdate, BookTicker, Kline, AggTrade}
    assert sum(counts.values()) == len([line for line in lines if line])


def test_malformed_and_unknown_payloads_raise_decode_error() -> None:
    with pytest.raises(DecodeError):
        decode_user_event(b'{"e":"somethingNew","E":1}')
    with pytest.raises(DecodeError):
        decode_combined(b'{"stream":"btcusdt@trade","data":{"e":"trade"}}')
    with pytest.raises(DecodeError):
        decode_combined(b"not json")
    with pytest.raises(DecodeError):
        models.decode_market("!ticker@arr", b'{"e":"24hrTicker"}')
