"""BingX's error codes and its ``{"code", "msg", "data"}`` envelope.

Why HTTP 200 for refusals: BingX answers business and authentication errors
with status 200 and a non-zero ``code`` (clients must read the body), unlike
Binance's 4xx.  The codes are the ones the wallet spec lists (80014, 100410,
100413, 100419, 100421; 100202 in the 100410 penalty message) and BingX's
common codes for the cases the spec leaves out (100001 bad signature,
100500 internal error).
"""

from __future__ import annotations

from starlette.responses import JSONResponse


class BingxError(Exception):
    def __init__(self, code: int, msg: str, http_status: int = 200) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.http_status = http_status

    def response(self) -> JSONResponse:
        return JSONResponse({"code": self.code, "msg": self.msg, "data": {}},
                            status_code=self.http_status)


def ok(data: object) -> JSONResponse:
    return JSONResponse({"code": 0, "msg": "", "data": data})


def invalid(name: str) -> BingxError:
    return BingxError(80014, f"Invalid parameters, {name}")


def missing(name: str) -> BingxError:
    return BingxError(80014, f"Invalid parameters, {name} is required")


def bad_timestamp() -> BingxError:
    return BingxError(80014, "timestamp is invalid")


def timestamp_mismatch() -> BingxError:
    return BingxError(100421, "Null timestamp or timestamp mismatch")


def bad_signature() -> BingxError:
    return BingxError(100001, "Signature verification failed")


def incorrect_api_key() -> BingxError:
    return BingxError(100413, "Incorrect apiKey")


def ip_not_whitelisted() -> BingxError:
    return BingxError(100419, "IP does not match IP whitelist , please go to "
                              "https://bingx.com/en/account/api/ to verify the ip you have set")


def rate_limited() -> BingxError:
    return BingxError(100410, "rate limited")


def penalty(window_ms: int, retry_at_ms: int) -> BingxError:
    return BingxError(100410, f"over 20 error code:100202 requests within {window_ms} ms for this api, "
                              f"please verify and fix it ,can retry after time: {retry_at_ms}")


def insufficient_balance() -> BingxError:
    return BingxError(100202, "Insufficient balance")


def internal_error() -> BingxError:
    return BingxError(100500, "Internal system error", 500)
