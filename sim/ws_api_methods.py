"""The requests of the WebSocket API: envelope, weight, signature, and each method.

Why the signature is checked over the parameters *as sent*: the docs define the
payload as every parameter but ``signature``, sorted by name, joined as
``name=value`` in UTF-8 without URL encoding.  A number must be hashed in the
spelling the client sent (``5000`` or ``6000.346``), so numbers are read back in
their wire text (``json.loads(parse_int=str, parse_float=str)``), never re-rendered.

Answers follow web-socket-api.md: ``{"id", "status", "result", "rateLimits"}``,
or ``{"id", "status", "error": {"code", "msg"}, "rateLimits"}``; ``rateLimits``
is left out when the request (or the connection URL) says ``returnRateLimits=false``.
Methods: ``ping``, ``time``, ``session.status``, ``session.subscriptions``,
``userDataStream.subscribe.signature``, ``userDataStream.subscribe`` (refused: it
needs an Ed25519 ``session.logon``, and the simulator's keys are HMAC),
``userDataStream.unsubscribe``; names may carry a ``v3/`` prefix.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from sim import errors
from sim.auth import AHEAD_TOLERANCE_MS, DEFAULT_RECV_WINDOW, MAX_RECV_WINDOW, authenticate_key, sign
from sim.errors import SimApiError

if TYPE_CHECKING:
    from sim.ws_api import Session

log = logging.getLogger(__name__)

METHOD_WEIGHTS = {
    "ping": 1, "time": 1, "session.status": 2, "session.subscriptions": 2,
    "userDataStream.subscribe": 2, "userDataStream.subscribe.signature": 2,
    "userDataStream.unsubscribe": 2,
}
MAX_ACTIVE_SUBSCRIPTIONS = 1000
MAX_SUBSCRIPTION_IDS = 65535
_MICROSECONDS_FROM = 10**15  # a timestamp this large is in microseconds (the docs allow both)


def handle_text(session: Session, text: str) -> None:
    """Answer one request frame (every outcome is a reply; nothing raises out of here)."""
    try:
        request = json.loads(text)
        wire = json.loads(text, parse_int=str, parse_float=str)
    except ValueError:
        session.reply({"id": None, "status": 400,
                       "error": {"code": -1135, "msg": "Invalid JSON Request"}})
        return
    request_id = request.get("id") if isinstance(request, dict) else None
    if isinstance(request_id, bool) or not isinstance(request_id, int | str | None):
        request_id = None
    try:
        method, params, raw_params = _envelope(request, wire)
    except SimApiError as exc:
        session.reply({"id": request_id, "status": exc.http_status, "error": exc.payload()})
        return
    show_limits = params.get("returnRateLimits", session.return_rate_limits)
    verdict = session.server.limits.admit(session.client, METHOD_WEIGHTS.get(method, 1))
    answer: dict[str, object] = {"id": request_id}
    if not verdict.allowed:
        answer["status"] = verdict.status
        answer["error"] = {**verdict.payload(), "data": {
            "serverTime": session.server.now_ms(), "retryAfter": verdict.retry_at_ms}}
    else:
        handler = METHODS.get(method)
        try:
            if handler is None:
                raise SimApiError(-1020, "This operation is not supported.")
            answer["status"], answer["result"] = 200, handler(session, params, raw_params)
        except SimApiError as exc:
            answer["status"], answer["error"] = exc.http_status, exc.payload()
    if show_limits is not False:
        answer["rateLimits"] = session.server.limits.status(session.client)
    session.reply(answer)
    if verdict.status == 418:  # "an automated IP ban and you will be disconnected"
        session.finish("ip banned", 1008)


def _envelope(request: object, wire: object) -> tuple[str, dict, dict]:
    if not isinstance(request, dict) or not isinstance(wire, dict):
        raise SimApiError(-1135, "Invalid JSON Request")
    if "id" not in request:
        raise errors.mandatory_missing("id")
    method = request.get("method")
    if not isinstance(method, str) or not method:
        raise errors.mandatory_missing("method")
    params, raw_params = request.get("params", {}), wire.get("params", {})
    if params is None:
        params, raw_params = {}, {}
    if not isinstance(params, dict):
        raise errors.invalid_parameter("params")
    return method.removeprefix("v3/"), params, raw_params


# ------------------------------------------------------------------- methods


def ping(session: Session, params: dict, raw: dict) -> dict:
    return {}


def server_time(session: Session, params: dict, raw: dict) -> dict:
    return {"serverTime": session.server.now_ms()}


def session_status(session: Session, params: dict, raw: dict) -> dict:
    return {
        "apiKey": None,
        "authorizedSince": None,
        "connectedSince": session.connected_since,
        "returnRateLimits": session.return_rate_limits,
        "serverTime": session.server.now_ms(),
        "userDataStream": bool(session.subscriptions),
    }


def session_subscriptions(session: Session, params: dict, raw: dict) -> list:
    return [{"subscriptionId": subscription_id} for subscription_id in sorted(session.subscriptions)]


def subscribe_logon(session: Session, params: dict, raw: dict) -> dict:
    """Needs an authenticated session, which only Ed25519 keys get: never the case here."""
    raise SimApiError(-1002, "You are not authorized to execute this request.", 401)


def subscribe_signature(session: Session, params: dict, raw: dict) -> dict:
    api_key = _text(params, "apiKey")
    account = authenticate_key(session.server.accounts, api_key)
    timestamp = _timestamp(raw)
    recv_window = _recv_window(raw)
    signature = _text(params, "signature")
    payload = "&".join(f"{name}={_wire_text(value)}"
                       for name, value in sorted(raw.items()) if name != "signature")
    expected = sign(account.api_secret, payload)
    if not signature.isascii() or not hmac.compare_digest(expected, signature.lower()):
        raise errors.invalid_signature()
    server_time = session.server.now_ms()
    if timestamp >= server_time + AHEAD_TOLERANCE_MS:
        raise errors.timestamp_ahead()
    if server_time - timestamp > recv_window:
        raise errors.timestamp_outside_window()
    if session.subscription_for(account) is not None:
        raise SimApiError(-2035, "User Data Stream subscription already active.")
    if len(session.subscriptions) >= MAX_ACTIVE_SUBSCRIPTIONS:
        raise SimApiError(-1191, "Too many subscriptions. Connection may create up to "
                                 f"'{MAX_ACTIVE_SUBSCRIPTIONS}' subscriptions at a time.")
    if session.subscriptions_started >= MAX_SUBSCRIPTION_IDS:
        raise SimApiError(-2042, "Maximum subscription ID reached for this connection.")
    return {"subscriptionId": session.subscribe(account).id}


def unsubscribe(session: Session, params: dict, raw: dict) -> dict:
    """Without ``subscriptionId``: end them all; with one that is not active: -2036."""
    if params.get("subscriptionId") is None:
        chosen = sorted(session.subscriptions)
    else:
        subscription_id = params["subscriptionId"]
        if isinstance(subscription_id, bool) or not isinstance(subscription_id, int):
            raise errors.invalid_parameter("subscriptionId")
        if subscription_id not in session.subscriptions:
            raise SimApiError(-2036, "User Data Stream subscription not active.")
        chosen = [subscription_id]
    for subscription_id in chosen:
        session.end(subscription_id)
    return {}


METHODS: dict[str, Callable[[Session, dict, dict], object]] = {
    "ping": ping,
    "time": server_time,
    "session.status": session_status,
    "session.subscriptions": session_subscriptions,
    "userDataStream.subscribe": subscribe_logon,
    "userDataStream.subscribe.signature": subscribe_signature,
    "userDataStream.unsubscribe": unsubscribe,
}


# ------------------------------------------------------------------ parameters


def _text(params: dict, name: str) -> str:
    value = params.get(name)
    if not isinstance(value, str) or not value:
        raise errors.mandatory_missing(name)
    return value


def _wire_text(value: object) -> str:
    """A parameter as the client wrote it (numbers arrive as their wire text already)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def _timestamp(raw: dict) -> int:
    value = raw.get("timestamp")
    if value is None or value == "":
        raise errors.mandatory_missing("timestamp")
    if not isinstance(value, str) or not value.isdigit():
        raise errors.invalid_parameter("timestamp")
    timestamp = int(value)
    return timestamp // 1000 if timestamp >= _MICROSECONDS_FROM else timestamp


def _recv_window(raw: dict) -> Decimal:
    value = raw.get("recvWindow")
    if value is None:
        return Decimal(DEFAULT_RECV_WINDOW)
    try:
        window = Decimal(str(value))
    except InvalidOperation as exc:
        raise errors.invalid_parameter("recvWindow") from exc
    if not window.is_finite() or window <= 0 or window > MAX_RECV_WINDOW \
            or window != window.quantize(Decimal("0.001")):
        raise errors.bad_recv_window()
    return window
