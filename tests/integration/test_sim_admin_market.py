"""The simulator's market/order admin routes (used by the out-of-process crash test)."""

from __future__ import annotations

import httpx
import trio

from daemon.credentials import Credentials
from daemon.venues.binance.rest import BinanceRest
from sim import SimConfig, run_simulator


async def test_pause_resume_and_every_order_listed(tmp_path):
    async with trio.open_nursery() as nursery:
        handle = await nursery.start(run_simulator, SimConfig(seed=9, admin=True))
        rest = BinanceRest(handle.rest_url, Credentials(handle.api_key, handle.api_secret))
        try:
            async with httpx.AsyncClient(base_url=handle.rest_url) as admin:
                assert (await admin.post("/_sim/market/pause")).json() == {"paused": True}
                assert handle.exchange.market_paused
                assert (await admin.get("/_sim/market")).json() == {"paused": True}
                resting = await rest.new_order({"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT",
                                                "timeInForce": "GTC", "quantity": "0.001",
                                                "price": "20000", "newClientOrderId": "a-1"})
                await rest.cancel_order("BTCUSDT", order_id=resting.order_id)
                await rest.new_order({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET",
                                      "quantity": "0.001", "newClientOrderId": "a-2"})
                listed = (await admin.get("/_sim/orders")).json()
                assert [(o["clientOrderId"], o["status"]) for o in listed] == \
                    [("a-1", "CANCELED"), ("a-2", "FILLED")]
                assert (await admin.post("/_sim/market/resume")).json() == {"paused": False}
                assert not handle.exchange.market_paused
        finally:
            with trio.CancelScope(shield=True):
                await rest.aclose()
            nursery.cancel_scope.cancel()


async def test_routes_absent_without_admin():
    async with trio.open_nursery() as nursery:
        handle = await nursery.start(run_simulator, SimConfig(seed=9))
        async with httpx.AsyncClient(base_url=handle.rest_url) as client:
            assert (await client.post("/_sim/market/pause")).status_code == 404
        assert not handle.exchange.market_paused
        nursery.cancel_scope.cancel()
