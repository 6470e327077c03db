"""Sending a validated order and finding out what happened to it.

Why a module of its own: the exchange's answer can be lost (a 5xx, -1007, a
dropped connection, an unreadable body) after the order reached the
matching engine.  Such an order may exist, so it must never be sent again;
instead it is looked up by its client id a few times.  That logic is the
same for single orders and OCO pairs and is the most delicate part of the
order path, so it lives apart from the checks.

Store calls, in order: the caller has written ``record_intent``; here
``record_ack`` (per leg for an OCO) or ``record_send_error`` (``outcome_unknown``
when the order may exist).  The returned ``Rejection`` (EXCHANGE_REJECTED or
OUTCOME_UNKNOWN) is not yet recorded: the gateway records, counts and logs it.
An OUTCOME_UNKNOWN is never recorded as a rejection, because that would close
an intent that reconciliation still has to resolve.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import trio

from daemon.crash_points import crash_point
from daemon.errors import DecodeError, ExchangeError, OutcomeUnknown, TransportError, UnknownOrder
from daemon.filters import reject
from daemon.orders import Accepted, ListAccepted, OcoRequest, OrderRequest, RejectCode, Rejection
from daemon.venues.binance.models import RestOrder

__all__ = ["OUTCOME_UNKNOWN_ERRORS", "Outcomes", "describe", "is_duplicate_order"]

log = logging.getLogger("daemon.gateway")

#: Failures after which the order may or may not exist on the exchange.
OUTCOME_UNKNOWN_ERRORS = (OutcomeUnknown, TransportError, DecodeError)

_OPEN_STATUSES = frozenset({"NEW", "PARTIALLY_FILLED", "PENDING_NEW"})


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def is_duplicate_order(exc: ExchangeError) -> bool:
    """-2010 "Duplicate order sent.": proof that an open order already carries the client id."""
    return exc.code == -2010 and "duplicate order" in exc.exchange_message.lower()


def _exchange_refusal(subject: OrderRequest | OcoRequest, exc: ExchangeError) -> Rejection:
    return reject(RejectCode.EXCHANGE_REJECTED, subject,
                  f"EXCHANGE_REJECTED: [{exc.code}] {exc.exchange_message}",
                  {"exchange_code": str(exc.code), "exchange_message": exc.exchange_message,
                   "error": type(exc).__name__, "retryable": str(exc.retryable)})


class Outcomes:
    """Sends through ``rest`` and settles the store; one instance per gateway."""

    def __init__(self, rest, store, resolve_delays: Sequence[float]) -> None:
        self._rest = rest
        self._store = store
        # Seconds to wait before each query that resolves an unknown outcome: the
        # first wait lets a request still queued in the matching engine land, so
        # "no such order" is believable.
        self._delays = tuple(resolve_delays)

    # ------------------------------------------------------------ single orders

    async def send(self, request: OrderRequest, params: dict[str, str],
                   strategy: str) -> Accepted | Rejection:
        cid = request.client_order_id
        crash_point("order.before_send")
        try:
            order = await self._rest.new_order(params)
        except trio.Cancelled:
            self._store.record_send_error(cid, "cancelled while sending", outcome_unknown=True)
            raise
        except OUTCOME_UNKNOWN_ERRORS as exc:
            self._store.record_send_error(cid, describe(exc), outcome_unknown=True)
            crash_point("order.outcome_unknown")
            log.warning("order.outcome_unknown symbol=%s client_order_id=%s error=%s",
                        request.symbol, cid, describe(exc))
            return await self._resolve(request, exc)
        except ExchangeError as exc:
            if is_duplicate_order(exc):
                # Our client id is already on an open order: the order exists (an earlier
                # attempt of this very intent got through).  Settle it by querying.
                self._store.record_send_error(cid, describe(exc), outcome_unknown=True)
                log.warning("order.duplicate_sent symbol=%s client_order_id=%s (resolving)",
                            request.symbol, cid)
                return await self._resolve(request, exc)
            # Every other exchange answer means the order was not placed.
            self._store.record_send_error(cid, describe(exc), outcome_unknown=False)
            return _exchange_refusal(request, exc)
        crash_point("order.after_send")
        return self._ack(cid, order)

    def _ack(self, cid: str, order: RestOrder) -> Accepted:
        self._store.record_ack(cid, order)
        crash_point("order.after_ack")
        return Accepted(symbol=order.symbol, client_order_id=cid, order_id=order.order_id,
                        status=order.status)

    async def _resolve(self, request: OrderRequest, cause: Exception) -> Accepted | Rejection:
        """Find out whether an order with an unknown outcome exists; never re-send it."""
        cid = request.client_order_id
        last_error = describe(cause)
        for delay in self._delays:
            await trio.sleep(delay)
            try:
                order = await self._rest.get_order(request.symbol, orig_client_order_id=cid)
            except UnknownOrder:
                return reject(RejectCode.EXCHANGE_REJECTED, request,
                              "EXCHANGE_REJECTED: outcome unknown; exchange has no such order",
                              {"error": type(cause).__name__, "cause": describe(cause)})
            except (*OUTCOME_UNKNOWN_ERRORS, ExchangeError) as exc:
                last_error = describe(exc)
                log.warning("order.resolve_failed symbol=%s client_order_id=%s error=%s",
                            request.symbol, cid, last_error)
                continue
            log.info("order.resolved symbol=%s client_order_id=%s order_id=%s",
                     request.symbol, cid, order.order_id)
            return self._ack(cid, order)
        return self._still_unknown(request, last_error)

    def _still_unknown(self, subject: OrderRequest | OcoRequest, last_error: str) -> Rejection:
        attempts = len(self._delays)
        return reject(RejectCode.OUTCOME_UNKNOWN, subject,
                      f"OUTCOME_UNKNOWN: order state not known after {attempts} queries; left to "
                      f"reconciliation (last error: {last_error})",
                      {"attempts": str(attempts), "error": last_error})

    # ------------------------------------------------------------ OCO pairs

    async def send_oco(self, oco: OcoRequest, params: dict[str, str],
                       strategy: str) -> ListAccepted | Rejection:
        legs = (oco.limit_client_order_id, oco.stop_client_order_id)
        try:
            answer = await self._rest.new_oco(params)
        except trio.Cancelled:
            for cid in legs:
                self._store.record_send_error(cid, "cancelled while sending", outcome_unknown=True)
            raise
        except OUTCOME_UNKNOWN_ERRORS as exc:
            for cid in legs:
                self._store.record_send_error(cid, describe(exc), outcome_unknown=True)
            log.warning("order.outcome_unknown symbol=%s list_client_order_id=%s error=%s",
                        oco.symbol, oco.list_client_order_id, describe(exc))
            return await self._resolve_oco(oco, exc)
        except ExchangeError as exc:
            for cid in legs:
                self._store.record_send_error(cid, describe(exc), outcome_unknown=False)
            return _exchange_refusal(oco, exc)
        accepted = tuple(self._ack(report.client_order_id, report) for report in answer.order_reports
                         if report.client_order_id in legs)
        return ListAccepted(symbol=answer.symbol, list_client_order_id=oco.list_client_order_id,
                            order_list_id=answer.order_list_id, list_order_status=answer.list_order_status,
                            legs=accepted)

    async def _resolve_oco(self, oco: OcoRequest, cause: Exception) -> ListAccepted | Rejection:
        """An OCO is placed atomically: its limit leg tells whether the list exists.

        A found list acks the legs that could be read; a leg whose query fails
        stays "unknown" in the store for reconciliation.
        """
        last_error = describe(cause)
        for delay in self._delays:
            await trio.sleep(delay)
            try:
                limit_leg = await self._rest.get_order(oco.symbol,
                                                       orig_client_order_id=oco.limit_client_order_id)
            except UnknownOrder:
                return reject(RejectCode.EXCHANGE_REJECTED, oco,
                              "EXCHANGE_REJECTED: outcome unknown; exchange has no such order list",
                              {"error": type(cause).__name__, "cause": describe(cause)})
            except (*OUTCOME_UNKNOWN_ERRORS, ExchangeError) as exc:
                last_error = describe(exc)
                log.warning("order.resolve_failed symbol=%s list_client_order_id=%s error=%s",
                            oco.symbol, oco.list_client_order_id, last_error)
                continue
            found = [self._ack(oco.limit_client_order_id, limit_leg)]
            try:
                stop_leg = await self._rest.get_order(oco.symbol,
                                                      orig_client_order_id=oco.stop_client_order_id)
            except (*OUTCOME_UNKNOWN_ERRORS, ExchangeError) as exc:
                log.warning("order.resolve_failed symbol=%s client_order_id=%s error=%s",
                            oco.symbol, oco.stop_client_order_id, describe(exc))
            else:
                found.append(self._ack(oco.stop_client_order_id, stop_leg))
            status = "EXECUTING" if any(leg.status in _OPEN_STATUSES for leg in found) else "ALL_DONE"
            log.info("order.resolved symbol=%s list_client_order_id=%s order_list_id=%s",
                     oco.symbol, oco.list_client_order_id, limit_leg.order_list_id)
            return ListAccepted(symbol=oco.symbol, list_client_order_id=oco.list_client_order_id,
                                order_list_id=limit_leg.order_list_id, list_order_status=status,
                                legs=tuple(found))
        return self._still_unknown(oco, last_error)
