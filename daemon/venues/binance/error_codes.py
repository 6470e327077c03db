"""Binance error answers -> the classes of ``daemon.errors``.

Why a table: callers decide on the *class* (retry? resync the clock? recreate the
listenKey? query the order before resending?), never on raw numbers, so every code
the exchange documents is listed once here with the class it becomes and whether
sending the same request again later can succeed.  The exchange's own message is
kept verbatim on the exception (``exchange_message``) because one code covers many
situations (-2010 "Duplicate order sent." vs "Account has insufficient balance").

Precedence for an HTTP answer (``error_from_response``):

1. 429 -> ``RateLimited`` and 418 -> ``IpBanned``, with ``retry_after`` from the
   ``Retry-After`` header (absent when the *order* count limit was hit);
2. 5xx on an order call -> ``OutcomeUnknown``: the seed insists a 5xx is not a
   failure, the order may exist;
3. a documented code in the body -> its table entry;
4. other 5xx -> ``ExchangeUnavailable``; other 4xx (403 is the WAF) -> ``RequestRejected``.

"Order call" means any call with side effects on the book (placement, cancel):
there an unknown outcome must be resolved by querying, never by resending blindly.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import msgspec

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


@dataclass(frozen=True)
class CodeSpec:
    """How one documented code is raised.

    ``unknown_on_order``: on an order call this code leaves the outcome unknown
    (a server-side failure after the request may have reached the engine), so it
    becomes ``OutcomeUnknown`` there instead of ``cls``.
    """

    name: str
    cls: type[ExchangeError]
    retryable: bool
    unknown_on_order: bool = False


def _s(name: str, cls: type[ExchangeError], retryable: bool = False,
       unknown_on_order: bool = False) -> CodeSpec:
    return CodeSpec(name, cls, retryable, unknown_on_order)


_REQ, _REF, _LIM = RequestRejected, OperationRefused, RateLimited
_UNAVAIL, _AUTH, _POOR = ExchangeUnavailable, Unauthorized, InsufficientBalance

#: Every code of the seed's "Error Codes" section (2022), plus the few codes of
#: today's ``errors.md`` that a spot client meets (marked "today").
ERROR_CODES: Mapping[int, CodeSpec] = {
    # 10xx: general server or network issues
    -1000: _s("UNKNOWN", _UNAVAIL, True, unknown_on_order=True),
    -1001: _s("DISCONNECTED", _UNAVAIL, True, unknown_on_order=True),
    -1002: _s("UNAUTHORIZED", _AUTH),
    -1003: _s("TOO_MANY_REQUESTS", _LIM, True),
    -1004: _s("SERVER_BUSY", _UNAVAIL, True),
    -1006: _s("UNEXPECTED_RESP", OutcomeUnknown),
    -1007: _s("TIMEOUT", OutcomeUnknown),
    -1008: _s("SERVER_BUSY", _UNAVAIL, True),                 # today
    -1010: _s("ERROR_MSG_RECEIVED", OrderRejected),
    -1013: _s("INVALID_MESSAGE", OrderRejected),              # today: filter failures
    -1014: _s("UNKNOWN_ORDER_COMPOSITION", OrderRejected),
    -1015: _s("TOO_MANY_ORDERS", _LIM, True),
    -1016: _s("SERVICE_SHUTTING_DOWN", _UNAVAIL),
    -1020: _s("UNSUPPORTED_OPERATION", _REQ),
    -1021: _s("INVALID_TIMESTAMP", InvalidTimestamp, True),
    -1022: _s("INVALID_SIGNATURE", InvalidSignature),
    -1034: _s("TOO_MANY_CONNECTIONS", _LIM, True),            # today
    -1099: _s("NOT_FOUND_AUTHENTICATED_OR_AUTHORIZED", _AUTH),
    # 11xx-2xxx: request issues
    -1100: _s("ILLEGAL_CHARS", _REQ),
    -1101: _s("TOO_MANY_PARAMETERS", _REQ),
    -1102: _s("MANDATORY_PARAM_EMPTY_OR_MALFORMED", _REQ),
    -1103: _s("UNKNOWN_PARAM", _REQ),
    -1104: _s("UNREAD_PARAMETERS", _REQ),
    -1105: _s("PARAM_EMPTY", _REQ),
    -1106: _s("PARAM_NOT_REQUIRED", _REQ),
    -1111: _s("BAD_PRECISION", _REQ),
    -1112: _s("NO_DEPTH", OrderRejected),
    -1114: _s("TIF_NOT_REQUIRED", _REQ),
    -1115: _s("INVALID_TIF", _REQ),
    -1116: _s("INVALID_ORDER_TYPE", _REQ),
    -1117: _s("INVALID_SIDE", _REQ),
    -1118: _s("EMPTY_NEW_CL_ORD_ID", _REQ),
    -1119: _s("EMPTY_ORG_CL_ORD_ID", _REQ),
    -1120: _s("BAD_INTERVAL", _REQ),
    -1121: _s("BAD_SYMBOL", _REQ),
    -1125: _s("INVALID_LISTEN_KEY", InvalidListenKey),
    -1127: _s("MORE_THAN_XX_HOURS", _REQ),
    -1128: _s("OPTIONAL_PARAMS_BAD_COMBO", _REQ),
    -1130: _s("INVALID_PARAMETER", _REQ),
    -1131: _s("BAD_RECV_WINDOW", _REQ),
    -2010: _s("NEW_ORDER_REJECTED", OrderRejected),
    -2011: _s("CANCEL_REJECTED", UnknownOrder),
    -2013: _s("NO_SUCH_ORDER", UnknownOrder),
    -2014: _s("BAD_API_KEY_FMT", _AUTH),
    -2015: _s("REJECTED_MBX_KEY", _AUTH),
    -2016: _s("NO_TRADING_WINDOW", _REQ),
    -2026: _s("ORDER_ARCHIVED", UnknownOrder),                # today
    # today (WebSocket API user-data subscriptions): a new connection cures these, so
    # they are retryable (the stream reconnects instead of giving up).
    -1135: _s("INVALID_JSON", _REQ),                          # today (WebSocket API)
    -1191: _s("TOO_MANY_SUBSCRIPTIONS", _REQ, True),          # today
    -2035: _s("SUBSCRIPTION_ACTIVE", _REQ, True),             # today
    -2036: _s("SUBSCRIPTION_INACTIVE", _REQ),                 # today
    -2042: _s("MAXIMUM_SUBSCRIPTION_IDS", _REQ, True),        # today
    -2039: _s("CLIENT_ORDER_ID_INVALID", _REQ),               # today
    # 3xxx-5xxx: SAPI (margin, wallet, capital, assets)
    -3000: _s("INNER_FAILURE", _UNAVAIL, True, unknown_on_order=True),
    -3001: _s("NEED_ENABLE_2FA", _AUTH),
    -3002: _s("ASSET_DEFICIENCY", _REQ),
    -3003: _s("NO_OPENED_MARGIN_ACCOUNT", _REF),
    -3004: _s("TRADE_NOT_ALLOWED", _REF),
    -3005: _s("TRANSFER_OUT_NOT_ALLOWED", _REF),
    -3006: _s("EXCEED_MAX_BORROWABLE", _REF),
    -3007: _s("HAS_PENDING_TRANSACTION", _REF, True),
    -3008: _s("BORROW_NOT_ALLOWED", _REF),
    -3009: _s("ASSET_NOT_MORTGAGEABLE", _REF),
    -3010: _s("REPAY_NOT_ALLOWED", _REF),
    -3011: _s("BAD_DATE_RANGE", _REQ),
    -3012: _s("ASSET_ADMIN_BAN_BORROW", _REF),
    -3013: _s("LT_MIN_BORROWABLE", _REF),
    -3014: _s("ACCOUNT_BAN_BORROW", _REF),
    -3015: _s("REPAY_EXCEED_LIABILITY", _REF),
    -3016: _s("LT_MIN_REPAY", _REF),
    -3017: _s("ASSET_ADMIN_BAN_MORTGAGE", _REF),
    -3018: _s("ACCOUNT_BAN_MORTGAGE", _REF),
    -3019: _s("ACCOUNT_BAN_ROLLOUT", _REF),
    -3020: _s("EXCEED_MAX_ROLLOUT", _REF),
    -3021: _s("PAIR_ADMIN_BAN_TRADE", _REF),
    -3022: _s("ACCOUNT_BAN_TRADE", _REF),
    -3023: _s("WARNING_MARGIN_LEVEL", _REF),
    -3024: _s("FEW_LIABILITY_LEFT", _REF),
    -3025: _s("INVALID_EFFECTIVE_TIME", _REQ),
    -3026: _s("VALIDATION_FAILED", _REQ),
    -3027: _s("NOT_VALID_MARGIN_ASSET", _REQ),
    -3028: _s("NOT_VALID_MARGIN_PAIR", _REQ),
    -3029: _s("TRANSFER_FAILED", _REF),
    -3036: _s("ACCOUNT_BAN_REPAY", _REF),
    -3037: _s("PNL_CLEARING", _REF, True),
    -3038: _s("LISTEN_KEY_NOT_FOUND", InvalidListenKey),
    -3041: _s("BALANCE_NOT_CLEARED", _POOR),
    -3042: _s("PRICE_INDEX_NOT_FOUND", _REF),
    -3043: _s("TRANSFER_IN_NOT_ALLOWED", _REF),
    -3044: _s("SYSTEM_BUSY", _UNAVAIL, True),
    -3045: _s("SYSTEM", _REF, True),
    -3999: _s("NOT_WHITELIST_USER", _AUTH),
    -4001: _s("CAPITAL_INVALID", _REQ),
    -4002: _s("CAPITAL_IG", _REQ),
    -4003: _s("CAPITAL_IEV", _REQ),
    -4004: _s("CAPITAL_UA", _AUTH),
    -4005: _s("CAPAITAL_TOO_MANY_REQUEST", _LIM, True),
    -4006: _s("CAPITAL_ONLY_SUPPORT_PRIMARY_ACCOUNT", _REF),
    -4007: _s("CAPITAL_ADDRESS_VERIFICATION_NOT_PASS", _REF),
    -4008: _s("CAPITAL_ADDRESS_TAG_VERIFICATION_NOT_PASS", _REF),
    -4010: _s("CAPITAL_WHITELIST_EMAIL_CONFIRM", _REF),
    -4011: _s("CAPITAL_WHITELIST_EMAIL_EXPIRED", _REF),
    -4012: _s("CAPITAL_WHITELIST_CLOSE", _REF),
    -4013: _s("CAPITAL_WITHDRAW_2FA_VERIFY", _AUTH),
    -4014: _s("CAPITAL_WITHDRAW_LOGIN_DELAY", _REF, True),
    -4015: _s("CAPITAL_WITHDRAW_RESTRICTED_MINUTE", _REF, True),
    -4016: _s("CAPITAL_WITHDRAW_RESTRICTED_PASSWORD", _REF, True),
    -4017: _s("CAPITAL_WITHDRAW_RESTRICTED_UNBIND_2FA", _REF, True),
    -4018: _s("CAPITAL_WITHDRAW_ASSET_NOT_EXIST", _REQ),
    -4019: _s("CAPITAL_WITHDRAW_ASSET_PROHIBIT", _REF),
    -4021: _s("CAPITAL_WITHDRAW_AMOUNT_MULTIPLE", _REQ),
    -4022: _s("CAPITAL_WITHDRAW_MIN_AMOUNT", _REQ),
    -4023: _s("CAPITAL_WITHDRAW_MAX_AMOUNT", _REF, True),
    -4024: _s("CAPITAL_WITHDRAW_USER_NO_ASSET", _POOR),
    -4025: _s("CAPITAL_WITHDRAW_USER_ASSET_LESS_THAN_ZERO", _POOR),
    -4026: _s("CAPITAL_WITHDRAW_USER_ASSET_NOT_ENOUGH", _POOR),
    -4027: _s("CAPITAL_WITHDRAW_GET_TRAN_ID_FAILURE", _UNAVAIL, True, unknown_on_order=True),
    -4028: _s("CAPITAL_WITHDRAW_MORE_THAN_FEE", _REQ),
    -4029: _s("CAPITAL_WITHDRAW_NOT_EXIST", _REQ),
    -4030: _s("CAPITAL_WITHDRAW_CONFIRM_SUCCESS", _REF),
    -4031: _s("CAPITAL_WITHDRAW_CANCEL_FAILURE", _REF),
    -4032: _s("CAPITAL_WITHDRAW_CHECKSUM_VERIFY_FAILURE", _REF),
    -4033: _s("CAPITAL_WITHDRAW_ILLEGAL_ADDRESS", _REQ),
    -4034: _s("CAPITAL_WITHDRAW_ADDRESS_CHEAT", _REF),
    -4035: _s("CAPITAL_WITHDRAW_NOT_WHITE_ADDRESS", _REF),
    -4036: _s("CAPITAL_WITHDRAW_NEW_ADDRESS", _REF, True),
    -4037: _s("CAPITAL_WITHDRAW_RESEND_EMAIL_FAIL", _UNAVAIL, True),
    -4038: _s("CAPITAL_WITHDRAW_RESEND_EMAIL_TIME_OUT", _LIM, True),
    -4039: _s("CAPITAL_USER_EMPTY", _REQ),
    -4040: _s("CAPITAL_NO_CHARGE", _REF),
    -4041: _s("CAPITAL_MINUTE_TOO_SMALL", _LIM, True),
    -4042: _s("CAPITAL_CHARGE_NOT_RESET", _REF),
    -4043: _s("CAPITAL_ADDRESS_TOO_MUCH", _LIM, True),
    -4044: _s("CAPITAL_BLACKLIST_COUNTRY_GET_ADDRESS", _REF),
    -4045: _s("CAPITAL_GET_ASSET_ERROR", _UNAVAIL, True),
    -4046: _s("CAPITAL_AGREEMENT_NOT_CONFIRMED", _REF),
    -4047: _s("CAPITAL_DATE_INTERVAL_LIMIT", _REQ),
    -5001: _s("ASSET_DRIBBLET_CONVERT_SWITCH_OFF", _REF),
    -5002: _s("ASSET_ASSET_NOT_ENOUGH", _POOR),
    -5003: _s("ASSET_USER_HAVE_NO_ASSET", _POOR),
    -5004: _s("USER_OUT_OF_TRANSFER_FLOAT", _REF),
    -5005: _s("USER_ASSET_AMOUNT_IS_TOO_LOW", _REF),
    -5006: _s("USER_CAN_NOT_REQUEST_IN_24_HOURS", _LIM, True),
    -5007: _s("AMOUNT_OVER_ZERO", _REQ),
    -5008: _s("ASSET_WITHDRAW_WITHDRAWING_NOT_ENOUGH", _POOR),
    -5009: _s("PRODUCT_NOT_EXIST", _REQ),
    -5010: _s("TRANSFER_FAIL", _REF),
    -5011: _s("FUTURE_ACCT_NOT_EXIST", _REF),
    # The seed lists -5012 twice (TRANSFER_PENDING and FUTURE_ACCT_OR_SUBRELATION_NOT_EXIST);
    # both are refusals that a plain resend does not cure.
    -5012: _s("TRANSFER_PENDING", _REF),
    -5021: _s("PARENT_SUB_HAVE_NO_RELATION", _REF),
    # 6xxx: savings
    -6001: _s("DAILY_PRODUCT_NOT_EXIST", _REQ),
    -6003: _s("DAILY_PRODUCT_NOT_ACCESSIBLE", _REF),
    -6004: _s("DAILY_PRODUCT_NOT_PURCHASABLE", _REF),
    -6005: _s("DAILY_LOWER_THAN_MIN_PURCHASE_LIMIT", _REF),
    -6006: _s("DAILY_REDEEM_AMOUNT_ERROR", _REQ),
    -6007: _s("DAILY_REDEEM_TIME_ERROR", _REF, True),
    -6008: _s("DAILY_PRODUCT_NOT_REDEEMABLE", _REF),
    -6009: _s("REQUEST_FREQUENCY_TOO_HIGH", _LIM, True),
    -6011: _s("EXCEEDED_USER_PURCHASE_LIMIT", _REF),
    -6012: _s("BALANCE_NOT_ENOUGH", _POOR),
    -6013: _s("PURCHASING_FAILED", _REF),
    -6014: _s("UPDATE_FAILED", _REF),
    -6015: _s("EMPTY_REQUEST_BODY", _REQ),
    -6016: _s("PARAMS_ERR", _REQ),
    -6017: _s("NOT_IN_WHITELIST", _AUTH),
    -6018: _s("ASSET_NOT_ENOUGH", _POOR),
    -6019: _s("PENDING", _REF),
    -6020: _s("PROJECT_NOT_EXISTS", _REQ),
    # 70xx: futures
    -7001: _s("FUTURES_BAD_DATE_RANGE", _REQ),
    -7002: _s("FUTURES_BAD_TYPE", _REQ),
    # 10xxx: futures cross collateral
    -10017: _s("REPAY_CHECK_BEYOND_LIABILITY", _REF),
    # 12xxx: liquid swap
    -12014: _s("TOO_MANY_REQUESTS", _LIM, True),
    # 13xxx: BLVT
    -13000: _s("BLVT_FORBID_REDEEM", _REF),
    -13001: _s("BLVT_EXCEED_DAILY_LIMIT", _REF, True),
    -13002: _s("BLVT_EXCEED_TOKEN_DAILY_LIMIT", _REF, True),
    -13003: _s("BLVT_FORBID_PURCHASE", _REF),
    -13004: _s("BLVT_EXCEED_DAILY_PURCHASE_LIMIT", _REF, True),
    -13005: _s("BLVT_EXCEED_TOKEN_DAILY_PURCHASE_LIMIT", _REF, True),
    -13006: _s("BLVT_PURCHASE_LESS_MIN_AMOUNT", _REQ),
    -13007: _s("BLVT_PURCHASE_AGREEMENT_NOT_SIGN", _REF),
    # 45xxx: Binance Code (the seed gives no names)
    -450001: _s("CODE_TOKEN_NOT_SUPPORTED", _REQ),
    -450005: _s("CODE_AMOUNT_INVALID", _REQ),
    -450017: _s("CODE_DAILY_AMOUNT_EXCEEDED", _REF, True),
    -450018: _s("CODE_DAILY_COUNT_EXCEEDED", _LIM, True),
    -450020: _s("CODE_TOO_MANY_VERIFY_ATTEMPTS", _LIM, True),
    -450022: _s("CODE_TOO_MANY_REDEEM_ATTEMPTS", _LIM, True),
}


class _ErrorBody(msgspec.Struct):
    code: int
    msg: str = ""


_error_body_decoder = msgspec.json.Decoder(_ErrorBody)
_FILTER_FAILURE = re.compile(r"Filter failure: ([A-Z_]+)")
_BANNED_UNTIL = re.compile(r"IP banned until (\d{10,})")


def error_for_code(code: int, message: str, *, http_status: int | None = None,
                   order_call: bool = False) -> ExchangeError:
    """Build the exception for a documented (or undocumented) exchange code."""
    spec = ERROR_CODES.get(code)
    if spec is None:
        return _fallback(code, message, http_status, order_call)
    cls, retryable = spec.cls, spec.retryable
    if order_call and spec.unknown_on_order:
        cls, retryable = OutcomeUnknown, False
    if cls is OutcomeUnknown and not order_call:
        # A read whose backend timed out has no outcome to resolve: just retry it.
        retryable = True
    if cls is RateLimited and _BANNED_UNTIL.search(message):
        cls = IpBanned
    exc = cls(code, message, http_status=http_status)
    if exc.retryable != retryable:
        exc.retryable = retryable
    return exc


def error_from_response(status: int, body: bytes, headers: Mapping[str, str], *,
                        order_call: bool, now_ms: int | None = None) -> ExchangeError:
    """Translate a non-2xx HTTP answer into the matching ``ExchangeError``.

    ``headers`` needs only ``get`` with case-insensitive keys (httpx ``Headers``).
    ``now_ms`` lets an "IP banned until <ms>" message yield a ``retry_after``.
    """
    code, message = parse_error_body(body, status)
    if status in (418, 429):
        cls = IpBanned if status == 418 or _BANNED_UNTIL.search(message) else RateLimited
        retry_after = _retry_after(headers.get("Retry-After"))
        if retry_after is None:
            retry_after = _banned_for(message, now_ms)
        return cls(code, message, http_status=status, retry_after=retry_after)
    if status >= 500 and order_call:
        return OutcomeUnknown(code, message, http_status=status)
    if code in ERROR_CODES:
        exc = error_for_code(code, message, http_status=status, order_call=order_call)
        if isinstance(exc, RateLimited) and exc.retry_after is None:
            exc.retry_after = _retry_after(headers.get("Retry-After"))
            if exc.retry_after is None:
                exc.retry_after = _banned_for(message, now_ms)
        return exc
    return _fallback(code, message, status, order_call)


def parse_error_body(body: bytes, status: int) -> tuple[int, str]:
    """``(code, msg)`` of a ``{"code": ..., "msg": ...}`` body; the HTTP status and
    a short excerpt of the text when the body is not that shape (proxies, WAF pages)."""
    try:
        parsed = _error_body_decoder.decode(body)
    except msgspec.DecodeError:
        text = body[:200].decode("utf-8", "replace").strip()
        return status, text or f"HTTP {status}"
    return parsed.code, parsed.msg


def filter_failure(message: str) -> str | None:
    """The filter named by a "Filter failure: LOT_SIZE" message (-1013), else None."""
    match = _FILTER_FAILURE.search(message)
    return match.group(1) if match else None


def code_name(code: int) -> str | None:
    spec = ERROR_CODES.get(code)
    return spec.name if spec else None


def _fallback(code: int, message: str, http_status: int | None,
              order_call: bool) -> ExchangeError:
    """An undocumented code: decide by HTTP status, then by the code's range."""
    if http_status is not None and http_status >= 500:
        return (OutcomeUnknown if order_call else ExchangeUnavailable)(
            code, message, http_status=http_status)
    if http_status is not None and 400 <= http_status < 500:
        return RequestRejected(code, message, http_status=http_status)
    if -2000 < code <= -1100:
        return RequestRejected(code, message, http_status=http_status)
    return ExchangeError(code, message, http_status=http_status)


def _retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (Binance sends integer seconds)."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def _banned_for(message: str, now_ms: int | None) -> float | None:
    match = _BANNED_UNTIL.search(message)
    if match is None or now_ms is None:
        return None
    return max(0.0, (int(match.group(1)) - now_ms) / 1000)
