"""The control messages of a stream connection: SUBSCRIBE, UNSUBSCRIBE, LIST_SUBSCRIPTIONS,
SET_PROPERTY, GET_PROPERTY, and their error replies.

Why the errors are wrapped as ``{"error": {"code", "msg"}, "id"}``: that is what the
live server sends and what clients parse (ccxt's ``handle_ws_error`` documents
``{"error": {"code": 2, "msg": "Invalid request: invalid stream"}, "id": 1}``;
captured logs show the same); the seed's table lists the inner objects.  The
texts are the seed's table, including the JSON positions ("at line 1 column 28")
that the exchange's parser appends to its parse errors.  When the request could
not be read far enough to know its id, ``id`` is null.

Request ids: the seed's unsigned integers, plus what today's docs also accept
(``null`` and alphanumeric strings of up to 36 characters).
"""

from __future__ import annotations

import json
import re
from typing import Protocol

METHODS = ("SUBSCRIBE", "UNSUBSCRIBE", "LIST_SUBSCRIPTIONS", "SET_PROPERTY", "GET_PROPERTY")
_EXPECTED = ", ".join(f"`{method}`" for method in METHODS)
_STRING_ID_RE = re.compile(r"^[A-Za-z0-9]{1,36}$")
_UINT64_MAX = 2**64 - 1
_METHOD_VALUE_RE = re.compile(r'"method"\s*:\s*("(?:[^"\\]|\\.)*"|[^,}\s]+)')


class ControlTarget(Protocol):
    """What the control handler needs of a connection (``sim.streams.Connection``)."""

    combined: bool

    def reply(self, payload: dict[str, object]) -> None: ...

    def subscribe_many(self, names: list[str]) -> str | None:
        """Subscribe all or none; an error message when refused."""

    def unsubscribe(self, name: str) -> None: ...

    def subscriptions(self) -> list[str]: ...

    def is_stream_name(self, name: str) -> bool: ...


def error(code: int, msg: str, request_id: object = None) -> dict[str, object]:
    return {"error": {"code": code, "msg": msg}, "id": request_id}


def _position(text: str, index: int) -> str:
    """``line L column C`` of the character at a 0-based index (the last one read, at the end).

    The exchange's parser reports the position of the last character it read: the
    closing quote of a bad method name, the closing brace of an object missing a field.
    """
    index = max(0, min(index, len(text) - 1))
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return f"line {line} column {column}"


def _valid_id(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return 0 <= value <= _UINT64_MAX
    return isinstance(value, str) and bool(_STRING_ID_RE.match(value))


def handle_control(connection: ControlTarget, text: str) -> None:
    """Answer one text frame a client sent (the seed's "Live Subscribing/Unsubscribing")."""
    try:
        request = json.loads(text)
    except ValueError as exc:
        where = _position(text, getattr(exc, "pos", 0))
        connection.reply(error(3, f"Invalid JSON: expected value at {where}"))
        return
    end = _position(text, len(text.rstrip()) - 1)
    if not isinstance(request, dict) or "method" not in request:
        connection.reply(error(2, f"Invalid request: missing field `method` at {end}"))
        return
    method = request["method"]
    if method not in METHODS:
        match = _METHOD_VALUE_RE.search(text)
        where = _position(text, match.end() - 1) if match else end
        shown = method if isinstance(method, str) else json.dumps(method)
        connection.reply(error(
            2, f"Invalid request: unknown variant `{shown}`, expected one of {_EXPECTED} at {where}"))
        return
    if "id" not in request or not _valid_id(request["id"]):
        connection.reply(error(2, "Invalid request: request ID must be an unsigned integer"))
        return
    request_id = request["id"]
    params = request.get("params")
    params = [] if params is None else params
    if not isinstance(params, list):
        connection.reply(error(2, "Invalid request: invalid type: expected a sequence", request_id))
        return
    if method in ("SUBSCRIBE", "UNSUBSCRIBE"):
        _subscriptions(connection, method, params, request_id)
    elif method == "LIST_SUBSCRIPTIONS":
        connection.reply({"result": connection.subscriptions(), "id": request_id})
    else:
        _property(connection, method, params, request_id)


def _subscriptions(connection: ControlTarget, method: str, params: list, request_id: object) -> None:
    if not all(isinstance(name, str) and connection.is_stream_name(name) for name in params):
        connection.reply(error(2, "Invalid request: invalid stream", request_id))
        return
    if method == "SUBSCRIBE":
        refused = connection.subscribe_many(params)
        if refused is not None:
            connection.reply(error(2, refused, request_id))
            return
    else:
        for name in params:
            connection.unsubscribe(name)
    connection.reply({"result": None, "id": request_id})


def _property(connection: ControlTarget, method: str, params: list, request_id: object) -> None:
    allowed = 2 if method == "SET_PROPERTY" else 1
    if len(params) > allowed:
        connection.reply(error(2, "Invalid request: too many parameters", request_id))
        return
    if not params or not isinstance(params[0], str):
        connection.reply(error(2, "Invalid request: property name must be a string", request_id))
        return
    if params[0] != "combined":
        connection.reply(error(0, "Unknown property", request_id))
        return
    if method == "GET_PROPERTY":
        connection.reply({"result": connection.combined, "id": request_id})
        return
    if len(params) != 2 or not isinstance(params[1], bool):
        connection.reply(error(1, "Invalid value type: expected Boolean", request_id))
        return
    connection.combined = params[1]
    connection.reply({"result": None, "id": request_id})
