"""Assembly of what stands in front of the simulator's routes: limits, faults, WebSocket API.

Why a separate assembly: ``sim.app`` builds the routes and runs the server; this
module adds, in one call, the rate limits, the fault state and the WebSocket API
around those routes, so the server code only wraps its app once and hands the
controls (``SimHandle.limits``, ``SimHandle.faults``) to its starter.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.admin import admin_app
from sim.config import SimConfig
from sim.exchange import Exchange
from sim.faults import Faults
from sim.gate import ASGIApp, Gate
from sim.limits import Limits
from sim.userdata import ListenKeys
from sim.weighing import load_weigher
from sim.ws_api import WsApi


@dataclass
class Front:
    gate: Gate  # the ASGI app to serve
    limits: Limits
    faults: Faults
    ws_api: WsApi

    def shutdown(self) -> None:
        """The server is stopping: ``serverShutdown`` on every WebSocket API connection, then close."""
        self.ws_api.shutdown()


def build_front(app: ASGIApp, config: SimConfig, exchange: Exchange, listen_keys: ListenKeys,
                faults: Faults | None = None) -> Front:
    """``faults``: the simulator's fault state when other parts read it too (the depth feed's
    ``take_depth_gap``); made here otherwise."""
    faults = faults if faults is not None else Faults(exchange, listen_keys)
    limits = Limits(config.limits, time_factor=config.time_factor, server_time_ms=exchange.now_ms)
    ws_api = WsApi(exchange.hub, exchange.accounts, limits, exchange.now_ms,
                   connection_limits=config.stream_limits())
    faults.ws_api = ws_api
    gate = Gate(
        app, limits=limits, faults=faults, weigher=load_weigher(), accounts=exchange.accounts,
        ws_api=ws_api, is_listen_key=lambda name: listen_keys.lookup(name) is not None,
        admin=admin_app(faults, limits, exchange) if config.admin else None,
    )
    return Front(gate, limits, faults, ws_api)
