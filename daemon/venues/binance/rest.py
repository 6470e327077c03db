"""Binance Spot REST client: signed requests, typed answers, errors by class.

One ``httpx.AsyncClient`` per ``BinanceRest`` (it runs on trio through anyio) with
keep-alive connections: a fresh TLS handshake per order would cost more than the
order itself.  Every answer is decoded with msgspec into the Structs of
``models.py``; every failure leaves as a ``daemon.errors`` class:

* exchange answers -> ``error_codes.error_from_response`` (429/418/5xx/codes);
* network failures -> ``TransportError``, except on an *order call* (placement,
  cancel) once the request may have left: then ``OutcomeUnknown``, because the
  exchange may have acted on it.  A failure to *connect* never reached the
  exchange, so it stays a ``TransportError`` even for orders;
* -1021 (timestamp outside recvWindow) -> one clock resync and one re-signed retry:
  the exchange refused the request before looking at it, so resending is safe.
  Concurrent rejections share one resync (the first caller measures, the others
  see the new offset and just re-sign).

Every request passes the rate governor (``ratelimit.py``) first: it declares its
cost (``request_weights.py``), waits for room or is refused with ``RateLimited``
before anything is sent, and its response headers feed the governor back.  A
429 or 418 pauses every caller; a 429'd request (refused before processing, so
safe to resend, orders included) is retried once the pause ends if that is
within the caller's ``max_wait_s``.  The request is signed *after* the wait, so
a long wait cannot push its timestamp out of ``recvWindow``.

The last used-weight and order-count headers are also kept on the instance
(``used_weight``, ``order_count``); a response carrying order counts is also
handed to ``on_order_counts`` (the gateway's ORDERS budget follows the exchange's
count through it).  The endpoints beyond orders and account live in the
``rest_endpoints.RestEndpoints`` mixin.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import msgspec
import trio

from daemon.credentials import Credentials
from daemon.errors import (
    ConfigError,
    DecodeError,
    InvalidTimestamp,
    OutcomeUnknown,
    RateLimited,
    TradingdError,
    TransportError,
)
from daemon.venues.binance.clock import OffsetSample, ServerClock
from daemon.venues.binance.error_codes import error_from_response
from daemon.venues.binance.models import (
    AccountInfo,
    DepthSnapshot,
    ExchangeInfo,
    RestOrder,
    decode_rest,
)
from daemon.venues.binance.ratelimit import RateGovernor, Ticket, rules_from_exchange_info
from daemon.venues.binance.request_weights import request_cost
from daemon.venues.binance.rest_endpoints import (
    USE_DEFAULT_WAIT,
    EmptyAnswer,
    RestEndpoints,
    Security,
)
from daemon.venues.binance.signing import Params, encode_params, signed_query

log = logging.getLogger(__name__)

T = TypeVar("T")

#: ``code`` of an ``OutcomeUnknown`` raised for a network failure (no exchange code).
TRANSPORT_FAILURE_CODE = 0

_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_USE_DEFAULT: Any = USE_DEFAULT_WAIT

#: ``on_order_counts(count_10s, count_1d)``: a response's X-MBX-ORDER-COUNT-10S / -1D
#: (``None`` for one it did not carry), e.g. ``Gateway.observe_order_counts``.
OrderCountsCallback = Callable[[int | None, int | None], None]


@dataclass
class RestStats:
    """What the client went through, for the logs, the status command and tests."""

    requests: int = 0
    timestamp_rejections: int = 0   # -1021 answers
    clock_resyncs: int = 0          # resyncs caused by them (concurrent ones share one)
    rate_limited: int = 0           # 429 answers
    banned: int = 0                 # 418 answers
    rate_retries: int = 0           # requests resent after a 429 pause


@dataclass
class _Call:
    """Per-call bookkeeping across its (at most few) attempts."""

    deadline: float
    clock_generation: int = -1


class _ServerTime(msgspec.Struct):
    serverTime: int


class _ListenKey(msgspec.Struct):
    listenKey: str


class BinanceRest(RestEndpoints):
    """Async client for ``/api/v3``; see docs/internals.md for the contract."""

    def __init__(self, base_url: str, credentials: Credentials | None,
                 recv_window_ms: int = 5000, timeout_s: float = 10.0, *,
                 transport: httpx.AsyncBaseTransport | None = None,
                 clock: ServerClock | None = None, max_connections: int = 8,
                 governor: RateGovernor | None = None, max_rate_retries: int = 2) -> None:
        if not 0 < recv_window_ms <= 60_000:
            raise ConfigError(f"recvWindow must be in (0, 60000] ms, got {recv_window_ms}")
        self.base_url = base_url.rstrip("/")
        self.recv_window_ms = recv_window_ms
        self.clock = clock if clock is not None else ServerClock()
        #: The one rate governor every caller of this client shares.
        self.governor = governor if governor is not None else RateGovernor()
        self.max_rate_retries = max_rate_retries
        self.stats = RestStats()
        self._clock_generation = 0
        self._resync_lock = trio.Lock()
        #: Last seen ``X-MBX-USED-WEIGHT-<interval>`` values, e.g. ``{"1M": 57}``.
        self.used_weight: dict[str, int] = {}
        #: Last seen ``X-MBX-ORDER-COUNT-<interval>`` values, e.g. ``{"10S": 1, "1D": 12}``.
        self.order_count: dict[str, int] = {}
        #: Called with each response's order counts; set by the daemon to feed the gateway.
        self.on_order_counts: OrderCountsCallback | None = None
        self._credentials = credentials
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            transport=transport,
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 5.0)),
            limits=httpx.Limits(max_connections=max_connections,
                                max_keepalive_connections=max_connections,
                                keepalive_expiry=60.0),
            headers={"User-Agent": "tradingd"},
        )

    @property
    def credentials(self) -> Credentials | None:
        """The API key pair (the WebSocket API signs its subscribe request with it)."""
        return self._credentials

    @property
    def used_weight_1m(self) -> int | None:
        """The IP's request weight used in the current minute, as last reported."""
        return self.used_weight.get("1M")

    async def __aenter__(self) -> BinanceRest:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    # ------------------------------------------------------------ general

    async def ping(self) -> None:
        await self._request("GET", "/api/v3/ping", EmptyAnswer)

    async def server_time(self) -> int:
        return (await self._request("GET", "/api/v3/time", _ServerTime)).serverTime

    async def sync_clock(self, samples: int = 3) -> int:
        """Measure the server-time offset, adopt the tightest sample, return it (ms)."""
        taken = []
        for _ in range(max(1, samples)):
            sent = self.clock.local_ms()
            server = await self.server_time()
            taken.append(OffsetSample(sent, server, self.clock.local_ms()))
        self.clock.apply(ServerClock.best_of(taken))
        self._clock_generation += 1
        return self.clock.offset_ms

    async def exchange_info(self, symbols: list[str] | None = None) -> ExchangeInfo:
        params: dict[str, str] = {}
        if symbols and len(symbols) == 1:
            params["symbol"] = symbols[0]
        elif symbols:
            params["symbols"] = json.dumps(list(symbols), separators=(",", ":"))
        info = await self._request("GET", "/api/v3/exchangeInfo", ExchangeInfo, params=params)
        rules = rules_from_exchange_info(info.rate_limits)
        if any(rule.kind == "REQUEST_WEIGHT" for rule in rules):
            self.governor.configure(rules)
        return info

    async def depth(self, symbol: str, limit: int = 100, *,
                    max_wait_s: float | None = _USE_DEFAULT) -> DepthSnapshot:
        return await self._request("GET", "/api/v3/depth", DepthSnapshot,
                                   params={"symbol": symbol, "limit": limit},
                                   max_wait_s=max_wait_s)

    # ------------------------------------------------------------ account and orders

    async def account(self) -> AccountInfo:
        return await self._request("GET", "/api/v3/account", AccountInfo,
                                   security=Security.SIGNED)

    async def new_order(self, params: dict[str, str], *,
                        max_wait_s: float | None = _USE_DEFAULT) -> RestOrder:
        """Place an order; ``params`` are the wire parameters in the caller's order.

        ``newOrderRespType`` defaults to ``RESULT`` (final status and executed
        quantity without the fills list, which the user stream delivers anyway).
        ``max_wait_s``: how long the order may wait for the rate governor (default:
        the governor's); past it ``RateLimited`` is raised and nothing was sent.
        """
        wire = dict(params)
        wire.setdefault("newOrderRespType", "RESULT")
        return await self._request("POST", "/api/v3/order", RestOrder, params=wire,
                                   security=Security.SIGNED, order_call=True,
                                   max_wait_s=max_wait_s)

    async def cancel_order(self, symbol: str, *, order_id: int | None = None,
                           orig_client_order_id: str | None = None,
                           max_wait_s: float | None = _USE_DEFAULT) -> RestOrder:
        params = _order_ref(symbol, order_id, orig_client_order_id)
        return await self._request("DELETE", "/api/v3/order", RestOrder, params=params,
                                   security=Security.SIGNED, order_call=True,
                                   max_wait_s=max_wait_s)

    async def get_order(self, symbol: str, *, order_id: int | None = None,
                        orig_client_order_id: str | None = None) -> RestOrder:
        params = _order_ref(symbol, order_id, orig_client_order_id)
        return await self._request("GET", "/api/v3/order", RestOrder, params=params,
                                   security=Security.SIGNED)

    async def open_orders(self, symbol: str | None = None) -> list[RestOrder]:
        return await self._request("GET", "/api/v3/openOrders", list[RestOrder],
                                   params={"symbol": symbol}, security=Security.SIGNED)

    # ------------------------------------------------------------ listenKey (seed era)

    async def create_listen_key(self) -> str:
        """POST userDataStream: a new key, or the active one with its validity extended."""
        answer = await self._request("POST", "/api/v3/userDataStream", _ListenKey,
                                     security=Security.API_KEY)
        return answer.listenKey

    async def keepalive_listen_key(self, key: str) -> None:
        await self._request("PUT", "/api/v3/userDataStream", EmptyAnswer,
                            params={"listenKey": key}, security=Security.API_KEY)

    async def close_listen_key(self, key: str) -> None:
        await self._request("DELETE", "/api/v3/userDataStream", EmptyAnswer,
                            params={"listenKey": key}, security=Security.API_KEY)

    # ------------------------------------------------------------ plumbing

    async def _request(self, method: str, path: str, type_: type[T] | Any, *,
                       params: Params | None = None, security: Security = Security.NONE,
                       order_call: bool = False, max_wait_s: float | None = _USE_DEFAULT) -> T:
        """Send one request through the governor; retry after -1021 (once) and 429s.

        Both retries are safe for order calls too: the exchange refused those
        requests before processing them.
        """
        wait = self.governor.max_wait_s if max_wait_s is _USE_DEFAULT else max_wait_s
        call = _Call(deadline=math.inf if wait is None else trio.current_time() + wait)
        resynced = False
        rate_retries = 0
        while True:
            try:
                return await self._send(method, path, type_, params, security, order_call, call)
            except InvalidTimestamp as exc:
                self.stats.timestamp_rejections += 1
                if security is not Security.SIGNED or resynced:
                    raise
                resynced = True
                await self._resync_after_rejection(exc, path, call.clock_generation)
            except RateLimited as exc:
                if exc.http_status not in (418, 429) or rate_retries >= self.max_rate_retries:
                    raise
                rate_retries += 1
                self.stats.rate_retries += 1
                log.info("rest.retry_after_limit method=%s path=%s status=%d attempt=%d",
                         method, path, exc.http_status, rate_retries)

    async def _resync_after_rejection(self, exc: InvalidTimestamp, path: str,
                                      signed_generation: int) -> None:
        """One resync for a wave of -1021s: later callers find the offset already new."""
        async with self._resync_lock:
            if self._clock_generation != signed_generation:
                return  # someone resynced after we signed: just re-sign
            log.warning("rest.timestamp_rejected path=%s offset_ms=%d action=resync",
                        path, self.clock.offset_ms)
            try:
                await self.sync_clock()
            except TradingdError as sync_exc:
                raise exc from sync_exc
            self.stats.clock_resyncs += 1

    async def _send(self, method: str, path: str, type_: Any, params: Params | None,
                    security: Security, order_call: bool, call: _Call) -> Any:
        what = f"{method} {path}"
        wire_params = params or {}
        cost = request_cost(method, path, wire_params if isinstance(wire_params, Mapping)
                            else dict(wire_params))
        remaining = None if math.isinf(call.deadline) else max(0.0, call.deadline - trio.current_time())
        ticket = await self.governor.acquire(cost, max_wait_s=remaining, what=what,
                                             urgent=order_call)
        call.clock_generation = self._clock_generation
        query = self._query(wire_params, security)  # signed after the wait, never before
        target = f"{path}?{query}" if query else path
        headers = self._headers(security)
        started = time.perf_counter()
        self.stats.requests += 1
        try:
            response = await self._client.request(method, target, headers=headers)
        except httpx.RequestError as exc:
            raise self._transport_error(method, path, exc, order_call) from exc
        elapsed_ms = (time.perf_counter() - started) * 1000
        self._record_limits(response.headers, ticket)
        status = response.status_code
        if 200 <= status < 300:
            log.debug("rest.ok method=%s path=%s status=%d ms=%.1f weight_1m=%s",
                      method, path, status, elapsed_ms, self.used_weight.get("1M"))
            return self._decode(response.content, type_, path, order_call)
        error = error_from_response(status, response.content, response.headers,
                                    order_call=order_call, now_ms=self.clock.now_ms())
        log.warning("rest.error method=%s path=%s status=%d code=%d class=%s msg=%r ms=%.1f",
                    method, path, status, error.code, type(error).__name__,
                    error.exchange_message, elapsed_ms)
        if isinstance(error, RateLimited) and status in (418, 429):
            if status == 418:
                self.stats.banned += 1
            else:
                self.stats.rate_limited += 1
            self.governor.on_rejected(error)
        raise error

    def _query(self, params: Params, security: Security) -> str:
        if security is not Security.SIGNED:
            return encode_params(params)
        return signed_query(self._require_credentials().api_secret, params,
                            timestamp_ms=self.clock.now_ms(),
                            recv_window_ms=self.recv_window_ms)

    def _headers(self, security: Security) -> dict[str, str] | None:
        if security is Security.NONE:
            return None
        return {"X-MBX-APIKEY": self._require_credentials().api_key}

    def _require_credentials(self) -> Credentials:
        if self._credentials is None:
            raise ConfigError("this Binance endpoint needs API credentials; none are configured")
        return self._credentials

    def _decode(self, body: bytes, type_: Any, path: str, order_call: bool) -> Any:
        try:
            return decode_rest(body, type_)
        except DecodeError as exc:
            if order_call:
                # The exchange accepted the call (2xx) but we cannot read what it did.
                raise OutcomeUnknown(TRANSPORT_FAILURE_CODE,
                                     f"undecodable 2xx answer from {path}: {exc}") from exc
            raise

    def _transport_error(self, method: str, path: str, exc: httpx.RequestError,
                         order_call: bool) -> TradingdError:
        what = f"{method} {path}: {type(exc).__name__}: {exc}"
        log.warning("rest.transport_error method=%s path=%s error=%s order_call=%s",
                    method, path, type(exc).__name__, order_call)
        if order_call and not isinstance(exc, _NOT_SENT):
            return OutcomeUnknown(TRANSPORT_FAILURE_CODE, what)
        return TransportError(what)

    def _record_limits(self, headers: httpx.Headers, ticket: Ticket | None) -> None:
        self.governor.observe(ticket, headers)
        seen_counts: dict[str, int] = {}
        for name, value in headers.items():
            lower = name.lower()
            if lower.startswith("x-mbx-used-weight-"):
                target, interval = self.used_weight, lower[len("x-mbx-used-weight-"):]
            elif lower.startswith("x-mbx-order-count-"):
                target, interval = self.order_count, lower[len("x-mbx-order-count-"):]
            else:
                continue
            try:
                target[interval.upper()] = int(value)
            except ValueError:
                log.debug("rest.bad_limit_header name=%s", name)
                continue
            if target is self.order_count:
                seen_counts[interval.upper()] = target[interval.upper()]
        if seen_counts:
            self._report_order_counts(seen_counts)

    def _report_order_counts(self, counts: dict[str, int]) -> None:
        """Hand one response's order counts to ``on_order_counts``.

        A failing observer is logged, not raised: the order call it rides on has
        already been answered, and turning an accepted order into an exception
        would make the gateway treat a live order as failed.
        """
        callback = self.on_order_counts
        if callback is None:
            return
        try:
            callback(counts.get("10S"), counts.get("1D"))
        except Exception:
            log.exception("rest.order_counts_callback_failed counts=%s", counts)


def _order_ref(symbol: str, order_id: int | None,
               orig_client_order_id: str | None) -> dict[str, str | int | None]:
    """Parameters naming one order; the exchange needs at least one of the two ids."""
    if order_id is None and not orig_client_order_id:
        raise ValueError("either order_id or orig_client_order_id is required")
    return {"symbol": symbol, "orderId": order_id, "origClientOrderId": orig_client_order_id}
