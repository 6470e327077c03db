"""Request signing: the seed's worked examples and the query encoding rules."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import parse_qsl

import pytest
from hypothesis import given
from hypothesis import strategies as st

from daemon.venues.binance.signing import (
    encode_params,
    format_value,
    sign,
    sign_split,
    signed_query,
)

SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
PAYLOAD = ("symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1"
           "&recvWindow=5000&timestamp=1499827319559")


def test_seed_example_1_and_2_signature() -> None:
    assert sign(SECRET, PAYLOAD) == "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"


def test_seed_example_3_query_and_body_are_concatenated_without_separator() -> None:
    query = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC"
    body = "quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
    assert sign_split(SECRET, query, body) == (
        "0fd168b8ddb4876a0358a8d14d0c9f3da0e9b20c5d52b2a00fcf7d1c602f9a77")


def test_signed_query_reproduces_the_seed_request() -> None:
    params = {"symbol": "LTCBTC", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
              "quantity": Decimal("1"), "price": Decimal("0.1")}
    query = signed_query(SECRET, params, timestamp_ms=1499827319559, recv_window_ms=5000)
    assert query == PAYLOAD + "&signature=c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"


def test_encoding_keeps_insertion_order_and_formats_values() -> None:
    query = encode_params({"b": True, "a": Decimal("1E-8"), "c": None, "d": 7, "e": False})
    assert query == "b=true&a=0.00000001&d=7&e=false"


def test_encoding_percent_escapes_reserved_characters() -> None:
    assert encode_params([("symbols", '["BTCUSDT","ETHBTC"]'), ("id", "a b&c=d")]) == (
        "symbols=%5B%22BTCUSDT%22%2C%22ETHBTC%22%5D&id=a%20b%26c%3Dd")


def test_floats_and_non_finite_decimals_are_refused() -> None:
    with pytest.raises(TypeError):
        format_value(0.1)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        format_value(Decimal("NaN"))


@given(st.dictionaries(st.text(min_size=1, max_size=8), st.text(max_size=12), max_size=6))
def test_encoding_round_trips_through_a_standard_parser(params: dict[str, str]) -> None:
    assert parse_qsl(encode_params(params), keep_blank_values=True) == list(params.items())


@given(st.decimals(allow_nan=False, allow_infinity=False, places=8))
def test_decimals_never_use_exponent_notation(value: Decimal) -> None:
    text = format_value(value)
    assert "E" not in text.upper() and Decimal(text) == value
