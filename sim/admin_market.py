"""Admin routes for tests in another process: freeze the market, list every order of the account.

Why: a crash test runs the simulator as its own process (``tradingd sim``), so
the Python API (``exchange.pause_market()``, ``account.orders``) is out of its
reach.  To compare a restarted daemon's database with the exchange it must stop
the synthetic participants (so nothing trades while it compares) and see every
order the account ever placed, terminal ones included (``openOrders`` lists only
open ones; the seed's ``allOrders`` is not what this is for): "was any client
order id placed twice?" can only be answered from the full list.

Routes (served under ``/_sim/`` with the fault controls when ``SimConfig.admin`` is on):

* ``POST /_sim/market/pause`` / ``POST /_sim/market/resume`` -> ``{"paused": bool}``
* ``GET  /_sim/market`` -> ``{"paused": bool}``
* ``GET  /_sim/orders`` -> every order of the default account, oldest first, in the
  ``GET /api/v3/order`` shape
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sim import render
from sim.exchange import Exchange

log = logging.getLogger(__name__)


def market_routes(exchange: Exchange) -> list[Route]:
    async def pause(request: Request) -> Response:
        exchange.pause_market()
        log.info("admin.market_paused")
        return JSONResponse({"paused": True})

    async def resume(request: Request) -> Response:
        exchange.resume_market()
        log.info("admin.market_resumed")
        return JSONResponse({"paused": False})

    async def state(request: Request) -> Response:
        return JSONResponse({"paused": exchange.market_paused})

    async def orders(request: Request) -> Response:
        account = exchange.default_account
        ordered = sorted(account.orders.values(), key=lambda o: (o.time, o.symbol, o.order_id))
        return JSONResponse([render.order_query(order) for order in ordered])

    return [
        Route("/_sim/market/pause", pause, methods=["POST"]),
        Route("/_sim/market/resume", resume, methods=["POST"]),
        Route("/_sim/market", state, methods=["GET"]),
        Route("/_sim/orders", orders, methods=["GET"]),
    ]
