"""Binance error answers -> daemon.errors classes."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from daemon.errors import (
    ExchangeError,
    ExchangeUnavailable,
    InsufficientBalance,
    InvalidListenKey,
    InvalidSignature,
    InvalidTimestamp,
    IpBanned,
    OperationRefused,
    OrderRejected,
    OutcomeUnknown,
    RateLimited,
    RequestRejected,
    Unauthorized,
    UnknownOrder,
)
from daemon.venues.binance.error_codes import (
    ERROR_CODES,
    code_name,
    error_for_code,
    error_from_response,
    filter_failure,
    parse_error_body,
)

SEED = Path(__file__).resolve().parents[2].parent / "shared" / "seeds" / "000_85d9e311c076a73c.txt"


def _body(code: int, msg: str) -> bytes:
    return f'{{"code":{code},"msg":"{msg}"}}'.encode()


@pytest.mark.shared
def test_every_code_of_the_seed_error_section_is_mapped() -> None:
    if not SEED.is_file():
        pytest.skip("seed not available")
    text = SEED.read_text(encoding="utf-8")
    section = text[text.rindex("\nError Codes\n"):text.index("Order Rejection Issues")]
    codes = {int(m) for m in re.findall(r"^(-\d{4,6})\b", section, flags=re.M)}
    assert len(codes) > 150
    assert codes - set(ERROR_CODES) == set()
    for code in codes:
        spec = ERROR_CODES[code]
        assert issubclass(spec.cls, ExchangeError) and spec.cls is not ExchangeError


@pytest.mark.shared
def test_every_seed_code_raises_its_class_with_the_exchange_message_and_flag() -> None:
    if not SEED.is_file():
        pytest.skip("seed not available")
    text = SEED.read_text(encoding="utf-8")
    section = text[text.rindex("\nError Codes\n"):text.index("Order Rejection Issues")]
    named = dict(re.findall(r"^(-\d{4,6}) ([A-Z][A-Z_0-9 ]+)$", section, flags=re.M))
    assert len(named) > 150
    for raw_code, name in named.items():
        code = int(raw_code)
        spec = ERROR_CODES[code]
        exc = error_for_code(code, f"the exchange says {name}", http_status=400)
        assert isinstance(exc, spec.cls), (code, type(exc))
        assert exc.retryable is spec.retryable or spec.cls is OutcomeUnknown, code
        assert (exc.code, exc.exchange_message) == (code, f"the exchange says {name}")
        # the seed's name (first listing) is the table's, spaces and all, up to case
        if code != -5012:  # listed twice in the seed under two names
            assert spec.name.replace("_", " ") == name.strip().replace("_", " ").upper() \
                or code in (-1099, -12014), (code, spec.name, name)


@pytest.mark.parametrize(("code", "cls", "retryable"), [
    (-1021, InvalidTimestamp, True),
    (-1022, InvalidSignature, False),
    (-1007, OutcomeUnknown, True),      # a read: nothing to resolve, retry
    (-1003, RateLimited, True),
    (-1015, RateLimited, True),
    (-1001, ExchangeUnavailable, True),
    (-1016, ExchangeUnavailable, False),
    (-1121, RequestRejected, False),
    (-1125, InvalidListenKey, False),
    (-3038, InvalidListenKey, False),
    (-2010, OrderRejected, False),
    (-1013, OrderRejected, False),
    (-2011, UnknownOrder, False),
    (-2013, UnknownOrder, False),
    (-2015, Unauthorized, False),
    (-3044, ExchangeUnavailable, True),
    (-5002, InsufficientBalance, False),
    (-6012, InsufficientBalance, False),
    (-3007, OperationRefused, True),
    (-6009, RateLimited, True),
    (-2035, RequestRejected, True),     # a new WebSocket API connection cures these
    (-2042, RequestRejected, True),
    (-1191, RequestRejected, True),
])
def test_codes_map_to_classes_with_retryable_flag(code: int, cls: type, retryable: bool) -> None:
    exc = error_for_code(code, "message from the exchange", http_status=400)
    assert type(exc) is cls
    assert exc.retryable is retryable
    assert (exc.code, exc.exchange_message, exc.http_status) == (code, "message from the exchange", 400)


def test_order_calls_turn_server_side_failures_into_outcome_unknown() -> None:
    for code in (-1000, -1001, -1006, -1007):
        exc = error_for_code(code, "boom", order_call=True)
        assert type(exc) is OutcomeUnknown and exc.retryable is False
    # Refused before reaching the engine: still a plain retryable refusal.
    assert type(error_for_code(-1004, "busy", order_call=True)) is ExchangeUnavailable


def test_429_carries_retry_after_and_the_body_code() -> None:
    exc = error_from_response(429, _body(-1003, "Too much request weight used"),
                              httpx.Headers({"Retry-After": "17"}), order_call=True)
    assert type(exc) is RateLimited
    assert (exc.retry_after, exc.code, exc.http_status, exc.retryable) == (17.0, -1003, 429, True)


def test_429_for_order_count_has_no_retry_after() -> None:
    exc = error_from_response(429, _body(-1015, "Too many new orders."), httpx.Headers(),
                              order_call=True)
    assert type(exc) is RateLimited and exc.retry_after is None and exc.code == -1015


def test_418_is_an_ip_ban_with_retry_after() -> None:
    exc = error_from_response(418, _body(-1003, "Way too much request weight used; IP banned "
                                         "until 1700000120000."),
                              httpx.Headers({"retry-after": "120"}), order_call=False)
    assert isinstance(exc, IpBanned) and exc.retry_after == 120.0


def test_ban_message_without_header_yields_retry_after_from_the_timestamp() -> None:
    exc = error_from_response(418, _body(-1003, "IP banned until 1700000030000."), httpx.Headers(),
                              order_call=False, now_ms=1700000000000)
    assert isinstance(exc, IpBanned) and exc.retry_after == 30.0


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_depends_on_whether_the_call_was_an_order(status: int) -> None:
    body = b"<html>Bad Gateway</html>"
    read = error_from_response(status, body, httpx.Headers(), order_call=False)
    order = error_from_response(status, body, httpx.Headers(), order_call=True)
    assert type(read) is ExchangeUnavailable and read.retryable
    assert type(order) is OutcomeUnknown and not order.retryable
    assert read.code == status and "Bad Gateway" in read.exchange_message


def test_5xx_with_a_documented_code_on_an_order_is_still_unknown() -> None:
    exc = error_from_response(503, _body(-1004, "Server is busy"), httpx.Headers(), order_call=True)
    assert type(exc) is OutcomeUnknown and exc.code == -1004


def test_4xx_body_code_wins_and_message_is_preserved() -> None:
    exc = error_from_response(400, _body(-2010, "Account has insufficient balance for requested action."),
                              httpx.Headers(), order_call=True)
    assert type(exc) is OrderRejected
    assert exc.exchange_message == "Account has insufficient balance for requested action."


def test_undocumented_codes_fall_back_by_status_and_range() -> None:
    assert type(error_from_response(403, b"WAF", httpx.Headers(), order_call=False)) is RequestRejected
    assert type(error_for_code(-1199, "new one")) is RequestRejected
    assert type(error_for_code(-99999, "new one")) is ExchangeError


def test_parse_error_body_and_helpers() -> None:
    assert parse_error_body(_body(-1121, "Invalid symbol."), 400) == (-1121, "Invalid symbol.")
    assert parse_error_body(b"", 502) == (502, "HTTP 502")
    assert filter_failure("Filter failure: LOT_SIZE") == "LOT_SIZE"
    assert filter_failure("Duplicate order sent.") is None
    assert code_name(-1021) == "INVALID_TIMESTAMP" and code_name(1) is None
