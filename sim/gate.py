"""The request gate: ASGI middleware in front of the simulator's routes.

Why one gate: the rate limits and the HTTP faults concern every endpoint the
same way (count the weight, add the headers, refuse with 429/418, fail or delay
an order placement), so they are applied once, around the endpoints, which stay
unaware of them.  Websockets pass the gate too: each gets a ``sim.ws_tap.Tap``
(connection faults), and ``/ws-api/v3`` is served here by ``sim.ws_api``.

Order of checks for an HTTP request to ``/api`` or ``/sapi``:

1. a rate-limit storm (fault): 429 -1003 with ``Retry-After``;
2. the IP limits (``sim.limits``): weight and raw requests, 429, then the 418 ban;
3. on an order placement (``ORDER_COUNTS`` of ``sim.weights``, through ``sim.weighing``)
   by a known API key: the account's ORDERS limits (429 -1015);
4. an order fault: answer 5xx/-1007 without executing, or execute and answer it anyway;
5. the endpoint; a 200 placement counts its orders and gets ``X-MBX-ORDER-COUNT-*``;
6. a response delay (fault) before the answer leaves.

Every ``/api`` answer carries ``X-MBX-USED-WEIGHT-1M`` and ``X-MBX-USED-WEIGHT``;
every ``/sapi`` answer ``X-SAPI-USED-IP-WEIGHT-1M``, or ``X-SAPI-USED-UID-WEIGHT-1M`` for an
endpoint limited per account (``WALLET_UID_WEIGHTS``).  Paths under ``/_sim/`` go to
the admin API when ``SimConfig.admin`` is on.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from urllib.parse import parse_qsl

import trio
from starlette.websockets import WebSocket

from sim.accounts import AccountRegistry
from sim.faults import Faults
from sim.limits import Limits, Verdict, client_key
from sim.weighing import Weigher
from sim.ws_api import WsApi
from sim.ws_tap import Tap

log = logging.getLogger(__name__)

ASGIApp = Callable[[dict, Callable, Callable], Awaitable[None]]

_API_KEY_HEADER = b"x-mbx-apikey"


@dataclass
class Answer:
    """An HTTP answer held by the gate before it leaves.

    ``raised``: the endpoint rendered an error answer and then re-raised the
    exception for the server's log (starlette does that for a 500); the gate sends
    the answer first and re-raises after, as the endpoint alone would have.
    """

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    raised: Exception | None = None


def json_response(status: int, payload: object,
                  headers: list[tuple[bytes, bytes]] | None = None) -> Answer:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return Answer(status, [(b"content-type", b"application/json"),
                           (b"content-length", str(len(body)).encode()), *(headers or [])], body)


def _refusal(verdict: Verdict, headers: list[tuple[bytes, bytes]]) -> Answer:
    if verdict.retry_after_s is not None:
        headers = [*headers, (b"retry-after", str(verdict.retry_after_s).encode())]
    return json_response(verdict.status, verdict.payload(), headers)


class Gate:
    """``Gate(app, ...)`` is the ASGI app the server runs (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, limits: Limits, faults: Faults, weigher: Weigher,
                 accounts: AccountRegistry, ws_api: WsApi, is_listen_key: Callable[[str], bool],
                 admin: ASGIApp | None = None) -> None:
        self.app = app
        self.limits = limits
        self.faults = faults
        self.weigher = weigher
        self.accounts = accounts
        self.ws_api = ws_api
        self.is_listen_key = is_listen_key
        self.admin = admin

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            tap = Tap(scope, self.faults, self.is_listen_key)
            await tap.run(self._ws_api_endpoint if tap.ws_api else self.app, scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _ws_api_endpoint(self, scope: dict, receive: Callable, send: Callable) -> None:
        await self.ws_api.serve(WebSocket(scope, receive, send))

    async def _http(self, scope: dict, receive: Callable, send: Callable) -> None:
        path: str = scope["path"]
        if self.admin is not None and path.startswith("/_sim/"):
            await self.admin(scope, receive, send)
            return
        family = "api" if path.startswith("/api/") else "sapi" if path.startswith("/sapi/") else None
        if family is None:
            answer = await self._call_app(scope, receive)
        else:
            answer = await self._limited(scope, receive, family)
        delay = self.faults.take_response_delay(path)
        if delay:
            log.info("fault.delaying path=%s seconds=%.3f", path, delay)
            await trio.sleep(delay)
        await send({"type": "http.response.start", "status": answer.status,
                    "headers": answer.headers})
        await send({"type": "http.response.body", "body": answer.body})
        if answer.raised is not None:
            raise answer.raised

    async def _limited(self, scope: dict, receive: Callable, family: str) -> Answer:
        path, method = scope["path"], scope["method"]
        client = client_key(scope)
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        account_id = self._account_id(scope)
        uid_weight = self.weigher.uid_weight(method, path, query) if family == "sapi" else None
        if uid_weight is not None and account_id is not None:
            admit = partial(self.limits.admit_sapi_uid, account_id, path, uid_weight)
            usage = partial(self.limits.sapi_uid_headers, account_id, path)
        elif family == "api":
            admit = partial(self.limits.admit, client, self.weigher(method, path, query))
            usage = partial(self.limits.weight_headers, client)
        else:
            admit = partial(self.limits.admit_sapi, client, path, self.weigher(method, path, query))
            usage = partial(self.limits.sapi_headers, client, path)

        storm_s = self.faults.storm_remaining_s()
        if storm_s > 0:
            self.faults.effects["storm_refused"] += 1
            return _refusal(Verdict(429, -1003, "Too many requests queued.",
                                    max(1, math.ceil(storm_s))), usage())
        verdict = admit()
        if not verdict.allowed:
            return _refusal(verdict, usage())

        placements = self.weigher.orders(method, path) if family == "api" else 0
        if placements and account_id is not None:
            order_verdict = self.limits.admit_orders(account_id, placements)
            if not order_verdict.allowed:  # the seed: no Retry-After for the order limits
                return json_response(429, order_verdict.payload(), usage())
        fault = self.faults.take_order_fault() if placements else None
        if fault is not None and not fault.executed:
            log.info("fault.order path=%s code=%d executed=false", path, fault.code)
            return json_response(fault.status, fault.payload(), usage())

        answer = await self._call_app(scope, receive)
        if placements and account_id is not None and answer.status == 200:
            self.limits.record_orders(account_id, placements)
            if fault is None:
                answer.headers += self.limits.order_headers(account_id)
        if fault is not None:
            log.info("fault.order path=%s code=%d executed=true status=%d", path, fault.code,
                     answer.status)
            return json_response(fault.status, fault.payload(), usage())
        answer.headers += usage()
        return answer

    def _account_id(self, scope: dict) -> int | None:
        for name, value in scope.get("headers", ()):
            if name == _API_KEY_HEADER:
                account = self.accounts.get(value.decode("latin-1"))
                return account.account_id if account is not None else None
        return None

    async def _call_app(self, scope: dict, receive: Callable) -> Answer:
        """Run the endpoint and keep its answer (the gate may add headers, delay or replace it)."""
        start: dict = {}
        parts: list[bytes] = []

        async def keep(message: dict) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                parts.append(message.get("body", b""))

        raised: Exception | None = None
        try:
            await self.app(scope, receive, keep)
        except Exception as exc:
            if not start:  # nothing was answered: the server's own 500 handling applies
                raise
            raised = exc
        return Answer(start["status"], list(start.get("headers", [])), b"".join(parts), raised)
