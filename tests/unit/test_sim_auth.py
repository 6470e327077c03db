"""Request authentication of the simulator, against the seed's own examples."""

from __future__ import annotations

import hashlib
import hmac
from decimal import Decimal

import pytest

from sim import errors
from sim.accounts import AccountRegistry
from sim.auth import authenticate_key, authenticate_signed, parse_params, sign, split_signature

# The seed's "SIGNED Endpoint Examples for POST /api/v3/order".
API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
PARAMS = ("symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1"
          "&recvWindow=5000&timestamp=1499827319559")
SIGNATURE = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
MIXED_QUERY = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC"
MIXED_BODY = "quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
MIXED_SIGNATURE = "0fd168b8ddb4876a0358a8d14d0c9f3da0e9b20c5d52b2a00fcf7d1c602f9a77"
SERVER_TIME = 1499827319559 + 200


def hmac_hex(secret: str, payload: str) -> str:
    """The test's own signer, independent of the simulator's."""
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


@pytest.fixture
def accounts() -> AccountRegistry:
    registry = AccountRegistry()
    registry.add(API_KEY, SECRET, {"BTC": Decimal(1)}, maker_rate=Decimal("0.001"),
                 taker_rate=Decimal("0.001"))
    return registry


def code_of(call) -> tuple[int, int]:
    with pytest.raises(errors.SimApiError) as refused:
        call()
    return refused.value.code, refused.value.http_status


def test_seed_signature_example():
    assert hmac_hex(SECRET, PARAMS) == SIGNATURE
    assert sign(SECRET, PARAMS) == SIGNATURE


@pytest.mark.parametrize(
    ("query", "body"),
    [
        (f"{PARAMS}&signature={SIGNATURE}", ""),        # example 2: query string
        ("", f"{PARAMS}&signature={SIGNATURE}"),        # example 1: request body
        (f"{PARAMS}&signature={SIGNATURE.upper()}", ""),  # "not case sensitive"
    ],
)
def test_seed_examples_verify(accounts, query, body):
    signed = authenticate_signed(accounts, API_KEY, query, body, SERVER_TIME)
    assert signed.account.api_key == API_KEY
    assert signed.params["price"] == "0.1" and "signature" not in signed.params


def test_mixed_query_and_body_is_signed_as_concatenated(accounts):
    assert hmac_hex(SECRET, MIXED_QUERY + MIXED_BODY) == MIXED_SIGNATURE
    signed = authenticate_signed(accounts, API_KEY, MIXED_QUERY,
                                 f"{MIXED_BODY}&signature={MIXED_SIGNATURE}", SERVER_TIME)
    assert signed.params["symbol"] == "LTCBTC" and signed.params["quantity"] == "1"
    # The example-1 signature does not fit the mixed form (there is no "&" between them).
    assert code_of(lambda: authenticate_signed(
        accounts, API_KEY, MIXED_QUERY, f"{MIXED_BODY}&signature={SIGNATURE}", SERVER_TIME,
    )) == (-1022, 400)


def test_raw_text_is_signed_in_any_order_and_encoding(accounts):
    raw = "timestamp=1499827319559&newClientOrderId=a%2Fb&symbol=LTCBTC"
    signature = hmac_hex(SECRET, raw)
    signed = authenticate_signed(accounts, API_KEY, f"signature={signature}&{raw}", "", SERVER_TIME)
    assert signed.params["newClientOrderId"] == "a/b"
    reencoded = raw.replace("%2F", "/")  # same parameters, different bytes: not what was signed
    assert code_of(lambda: authenticate_signed(
        accounts, API_KEY, f"{reencoded}&signature={signature}", "", SERVER_TIME,
    )) == (-1022, 400)


def test_query_parameter_wins_over_body():
    assert parse_params("a=1&b=2", "b=3&c=4") == {"a": "1", "b": "2", "c": "4"}
    assert code_of(lambda: parse_params("a=1&a=2", "")) == (-1101, 400)


def test_split_signature_keeps_the_rest_byte_for_byte():
    assert split_signature("a=1&signature=ff&b=%20") == ("a=1&b=%20", "ff")
    assert split_signature("a=1") == ("a=1", None)


def test_timing_window(accounts):
    def at(server_time: int, recv_window: str | None = None):
        params = PARAMS if recv_window is None else PARAMS.replace(
            "recvWindow=5000", f"recvWindow={recv_window}")
        query = f"{params}&signature={hmac_hex(SECRET, params)}"
        return lambda: authenticate_signed(accounts, API_KEY, query, "", server_time)

    stamp = 1499827319559
    at(stamp + 5000)()                          # exactly recvWindow old: accepted
    assert code_of(at(stamp + 5001)) == (-1021, 400)
    at(stamp - 999)()                           # less than 1000 ms ahead: accepted
    assert code_of(at(stamp - 1000)) == (-1021, 400)
    at(stamp + 60000, recv_window="60000")()
    assert code_of(at(stamp, recv_window="60001")) == (-1131, 400)


def test_key_and_mandatory_parameter_errors(accounts):
    good = f"{PARAMS}&signature={SIGNATURE}"
    assert code_of(lambda: authenticate_signed(accounts, None, good, "", SERVER_TIME)) == (-2014, 401)
    assert code_of(lambda: authenticate_signed(accounts, "bad key!", good, "", SERVER_TIME)) == (-2014, 401)
    assert code_of(lambda: authenticate_signed(accounts, "A" * 64, good, "", SERVER_TIME)) == (-2015, 401)
    assert code_of(lambda: authenticate_signed(accounts, API_KEY, PARAMS, "", SERVER_TIME)) == (-1102, 400)
    no_stamp = "symbol=LTCBTC"
    assert code_of(lambda: authenticate_signed(
        accounts, API_KEY, f"{no_stamp}&signature={hmac_hex(SECRET, no_stamp)}", "", SERVER_TIME,
    )) == (-1102, 400)
    assert code_of(lambda: authenticate_signed(
        accounts, API_KEY, f"{PARAMS}&signature=00{SIGNATURE[2:]}", "", SERVER_TIME,
    )) == (-1022, 400)
    assert authenticate_key(accounts, API_KEY).api_key == API_KEY
