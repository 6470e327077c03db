"""The admin HTTP API on loopback: fault injection and limit counters from outside.

Why HTTP: a simulator started by ``tradingd sim`` runs in another process than
the test or the person poking at it; these routes expose the same controls as
the Python API (``SimHandle.faults``, ``SimHandle.limits``).  Served only when
``SimConfig.admin`` is true (``tradingd sim`` turns it on); otherwise ``/_sim/``
is an unknown path like any other.  The simulator listens on loopback only.

Routes:

* ``GET  /_sim/faults``          -> ``Faults.status()``
* ``POST /_sim/faults/<name>``   body: a JSON object of keyword arguments (may be empty)
  -> ``{"fault": name, "result": ...}``; 404 for an unknown name, 400 for bad arguments
* ``GET  /_sim/limits``          -> ``Limits.snapshot()``
* ``POST /_sim/limits/reset``    -> clears every count and ban
* ``/_sim/market/pause|resume``, ``GET /_sim/market``, ``GET /_sim/orders`` (``sim.admin_market``)
"""

from __future__ import annotations

import inspect
import json
import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, Router

from sim.admin_market import market_routes
from sim.exchange import Exchange
from sim.faults import Faults
from sim.limits import Limits

log = logging.getLogger(__name__)

FAULT_CONTROLS: tuple[str, ...] = (
    "drop_connections", "stall_streams", "delay_responses", "fail_next_orders",
    "unknown_status_next_orders", "rate_limit_storm", "clock_skew", "depth_gap",
    "duplicate_user_events", "reorder_user_events", "expire_listen_keys",
    "terminate_user_streams", "server_shutdown", "clear",
)


def admin_app(faults: Faults, limits: Limits, exchange: Exchange | None = None) -> Router:
    """The admin routes; with ``exchange`` also the market and order routes of ``sim.admin_market``."""
    async def fault_status(request: Request) -> Response:
        return JSONResponse(faults.status())

    async def inject(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in FAULT_CONTROLS:
            return JSONResponse({"error": f"unknown fault {name!r}", "faults": list(FAULT_CONTROLS)},
                                status_code=404)
        raw = await request.body()
        try:
            params = json.loads(raw) if raw.strip() else {}
        except ValueError:
            return JSONResponse({"error": "the body must be a JSON object"}, status_code=400)
        if not isinstance(params, dict):
            return JSONResponse({"error": "the body must be a JSON object"}, status_code=400)
        control = getattr(faults, name)
        try:
            inspect.signature(control).bind(**params)
        except TypeError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        try:
            result = control(**params)
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        log.info("admin.fault name=%s", name)
        return JSONResponse({"fault": name, "result": result})

    async def limit_status(request: Request) -> Response:
        return JSONResponse(limits.snapshot())

    async def limit_reset(request: Request) -> Response:
        limits.reset()
        return JSONResponse({})

    return Router(routes=[
        *(market_routes(exchange) if exchange is not None else []),
        Route("/_sim/faults", fault_status, methods=["GET"]),
        Route("/_sim/faults/{name}", inject, methods=["POST"]),
        Route("/_sim/limits", limit_status, methods=["GET"]),
        Route("/_sim/limits/reset", limit_reset, methods=["POST"]),
    ])
