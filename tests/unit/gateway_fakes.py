"""Fakes of the REST client and the store for the gateway tests: every call is journalled.

Shared by test_gateway.py, test_gateway_checks.py and test_gateway_oco.py.
"""

from __future__ import annotations

from types import SimpleNamespace

import trio

from daemon.errors import StateError
from daemon.venues.binance.models import RestOrder


class Journal(list):
    """Calls to the fake REST client and the fake store, in the order they happened."""


class FakeStore:
    def __init__(self, journal: Journal, *, fail_intent: bool = False) -> None:
        self.journal = journal
        self.fail_intent = fail_intent
        self.open_orders: list = []  # what orders(open_only=True) answers

    def orders(self, symbol=None, open_only=False, limit=None):
        assert open_only, "the gateway only ever asks for open orders"
        return [o for o in self.open_orders if symbol is None or o.symbol == symbol]

    def record_intent(self, client_order_id, strategy, symbol, request):
        if self.fail_intent:
            raise StateError("disk full")
        self.journal.append(("record_intent", client_order_id, strategy, symbol, dict(request)))

    def record_ack(self, client_order_id, order):
        self.journal.append(("record_ack", client_order_id, order.order_id))

    def record_send_error(self, client_order_id, error, outcome_unknown):
        self.journal.append(("record_send_error", client_order_id, outcome_unknown))

    def record_rejection(self, strategy, client_order_id, symbol, code, reason, detail):
        self.journal.append(("record_rejection", strategy, client_order_id, symbol, code, reason, dict(detail)))

    def upsert_rest_order(self, order, source="reconcile"):
        self.journal.append(("upsert_rest_order", order.client_order_id, order.status, source))


class FakeRest:
    """Answers from scripted lists; an exception in a script is raised instead of returned."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.new_order_script: list = []
        self.get_order_script: list = []
        self.cancel_script: list = []
        self.new_oco_script: list = []
        self.gate: trio.Event | None = None  # when set, new_order waits for it
        self.entered = trio.Event()

    async def new_order(self, params):
        self.journal.append(("new_order", params["newClientOrderId"], dict(params)))
        self.entered.set()
        if self.gate is not None:
            await self.gate.wait()
        return self._answer(self.new_order_script, params)

    async def new_oco(self, params):
        self.journal.append(("new_oco", params["listClientOrderId"], dict(params)))
        self.entered.set()
        if self.gate is not None:
            await self.gate.wait()
        item = self.new_oco_script.pop(0) if self.new_oco_script else "ok"
        if isinstance(item, BaseException):
            raise item
        legs = [RestOrder(symbol=params["symbol"], order_id=7001, client_order_id=params["limitClientOrderId"],
                          type="LIMIT_MAKER", status="NEW", order_list_id=77),
                RestOrder(symbol=params["symbol"], order_id=7002, client_order_id=params["stopClientOrderId"],
                          type="STOP_LOSS_LIMIT", status="NEW", order_list_id=77)]
        return SimpleNamespace(symbol=params["symbol"], order_list_id=77,
                               list_client_order_id=params["listClientOrderId"],
                               list_order_status="EXECUTING", order_reports=legs)

    async def get_order(self, symbol, *, order_id=None, orig_client_order_id=None):
        self.journal.append(("get_order", orig_client_order_id))
        return self._answer(self.get_order_script, {"symbol": symbol, "newClientOrderId": orig_client_order_id})

    async def cancel_order(self, symbol, *, order_id=None, orig_client_order_id=None):
        self.journal.append(("cancel_order", orig_client_order_id))
        item = self.cancel_script.pop(0)
        if isinstance(item, BaseException):
            raise item
        return item

    @staticmethod
    def _answer(script, params):
        item = script.pop(0) if script else "ok"
        if isinstance(item, BaseException):
            raise item
        return RestOrder(symbol=params["symbol"], order_id=4242, client_order_id=params["newClientOrderId"],
                         status="NEW")


def open_order(symbol="BTCUSDT", *, type="LIMIT", side="BUY", quantity="1", executed="0",
               cid="open-1", order_list_id=-1, strategy="grid"):
    """An open ``state.OrderRecord`` look-alike with the fields the gateway counts."""
    from decimal import Decimal

    return SimpleNamespace(symbol=symbol, type=type, side=side, quantity=Decimal(quantity),
                           executed_qty=Decimal(executed), client_order_id=cid,
                           order_list_id=order_list_id, price=Decimal("1"), stop_price=Decimal("0"),
                           strategy=strategy)
