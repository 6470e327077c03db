"""The simulated venue of a replay: acknowledges valid orders, records every decision.

Why a venue and not a fake gateway: the replayed strategy's orders must pass
the same gateway as in production (filters, order rules, balance, rate
budget), or a replay would accept orders the daemon would have refused.  So
the real ``Gateway`` runs, and only the REST client under it is replaced:
``new_order`` answers NEW with a numbered order id, ``cancel_order`` cancels
what it acknowledged, and nothing is ever matched (the journal's events are
the market's real answer).

``wrap(gateway, strategy)`` is what the strategy's context gets: it numbers
client order ids (``<strategy>-r000001``: random ids would make two replays
differ) and records each submit and cancel with its outcome.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import msgspec

from daemon.errors import OrderRejected, UnknownOrder
from daemon.orders import Accepted, OrderRequest
from daemon.venues.binance.models import RestOrder

Decide = Callable[[str, dict, str], None]


def decision_json(detail: dict) -> str:
    """Canonical JSON of a decision (sorted keys, decimals as text)."""
    return json.dumps(detail, sort_keys=True, separators=(",", ":"),
                      default=lambda value: format(value, "f") if isinstance(value, Decimal)
                      else getattr(value, "value", str(value)))


class ReplayVenue:
    """The REST calls the gateway makes, answered locally (see the module docstring)."""

    def __init__(self, *, clock_ms: Callable[[], int], on_decision: Decide) -> None:
        self._clock_ms = clock_ms
        self._decide = on_decision
        self._orders: dict[str, RestOrder] = {}
        self._next_id = 1

    def wrap(self, gateway: Any, strategy: str) -> ReplayGateway:
        return ReplayGateway(gateway, strategy, self._decide)

    async def new_order(self, params: dict[str, str]) -> RestOrder:
        now = self._clock_ms()
        order = RestOrder(
            symbol=params["symbol"], order_id=self._next_id,
            client_order_id=params["newClientOrderId"], side=params["side"], type=params["type"],
            time_in_force=params.get("timeInForce", "GTC"),
            price=Decimal(params.get("price", "0")), orig_qty=Decimal(params.get("quantity", "0")),
            stop_price=Decimal(params.get("stopPrice", "0")), status="NEW",
            time=now, transact_time=now, update_time=now)
        self._next_id += 1
        self._orders[order.client_order_id] = order
        return order

    async def new_oco(self, params: dict[str, str]):
        raise OrderRejected(-1, "replay does not simulate order lists (OCO)")

    async def cancel_order(self, symbol: str, *, order_id: int | None = None,
                           orig_client_order_id: str | None = None) -> RestOrder:
        order = self._find(symbol, order_id, orig_client_order_id)
        if order is None or order.status != "NEW":
            raise UnknownOrder(-2011, "Unknown order sent.")
        cancelled = msgspec.structs.replace(order, status="CANCELED", update_time=self._clock_ms())
        self._orders[order.client_order_id] = cancelled
        return cancelled

    async def get_order(self, symbol: str, *, order_id: int | None = None,
                        orig_client_order_id: str | None = None) -> RestOrder:
        order = self._find(symbol, order_id, orig_client_order_id)
        if order is None:
            raise UnknownOrder(-2013, "Order does not exist.")
        return order

    def _find(self, symbol: str, order_id: int | None, client_order_id: str | None) -> RestOrder | None:
        for order in self._orders.values():
            if order.symbol == symbol and (order.order_id == order_id
                                           or order.client_order_id == client_order_id):
                return order
        return None


class ReplayGateway:
    """The gateway as the replayed strategy sees it: numbered client ids, decisions recorded."""

    def __init__(self, gateway: Any, strategy: str, decide: Decide) -> None:
        self._gateway = gateway
        self._prefix = "".join(ch for ch in strategy if ch.isalnum())[:12] or "td"
        self._decide = decide
        self._sequence = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._gateway, name)  # symbol_info, symbol_rules, in_flight_count...

    async def submit(self, request: OrderRequest, *, strategy: str, adjust: bool = False):
        if request.client_order_id is None:
            self._sequence += 1
            request = msgspec.structs.replace(
                request, client_order_id=f"{self._prefix}-r{self._sequence:06d}")
        if adjust:
            result = await self._gateway.submit(request, strategy=strategy, adjust=True)
        else:
            result = await self._gateway.submit(request, strategy=strategy)
        outcome = (f"accepted {result.status} order_id={result.order_id}"
                   if isinstance(result, Accepted) else f"rejected {result.code.value}")
        self._decide("submit", msgspec.structs.asdict(request), outcome)
        return result

    async def submit_oco(self, request: Any, *, strategy: str):
        result = await self._gateway.submit_oco(request, strategy=strategy)
        outcome = "accepted" if result.accepted else f"rejected {result.code.value}"
        self._decide("submit_oco", msgspec.structs.asdict(request), outcome)
        return result

    async def cancel(self, symbol: str, client_order_id: str, *, strategy: str) -> bool:
        done = await self._gateway.cancel(symbol, client_order_id, strategy=strategy)
        self._decide("cancel", {"symbol": symbol, "client_order_id": client_order_id},
                     "cancelled" if done else "not cancelled")
        return done
