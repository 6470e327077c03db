"""Helpers of the limits/faults/WebSocket API tests: signing and placing a resting order.

The tests sign with their own few lines (no daemon code), as test_sim_server does.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from decimal import Decimal
from urllib.parse import urlencode

import httpx
import trio

WAIT_S = 10
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def signed(secret: str, params: dict[str, str], *, timestamp_ms: int | None = None) -> str:
    stamp = timestamp_ms if timestamp_ms is not None else int(time.time() * 1000)
    payload = urlencode({**params, "timestamp": str(stamp)})
    signature = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
    return f"{payload}&signature={signature}"


def ws_signature(secret: str, params: dict) -> str:
    payload = "&".join(f"{name}={value}" for name, value in sorted(params.items()))
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def subscribe_request(api_key: str, secret: str, request_id: int = 1) -> str:
    params = {"apiKey": api_key, "timestamp": int(time.time() * 1000)}
    params["signature"] = ws_signature(secret, params)
    return json.dumps({"id": request_id, "method": "userDataStream.subscribe.signature",
                       "params": params})


async def resting_price(client: httpx.AsyncClient) -> Decimal:
    """A BTCUSDT bid price well below the best bid: the order rests, nothing trades."""
    depth = (await client.get("/api/v3/depth", params={"symbol": "BTCUSDT", "limit": "5"})).json()
    return (Decimal(depth["bids"][0][0]) * Decimal("0.9")).quantize(Decimal("0.01"))


async def place(client: httpx.AsyncClient, secret: str, price: Decimal,
                quantity: str = "0.001") -> httpx.Response:
    body = signed(secret, {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT",
                           "timeInForce": "GTC", "quantity": quantity, "price": str(price)})
    return await client.post("/api/v3/order", content=body, headers=FORM)


async def open_order_ids(client: httpx.AsyncClient, secret: str) -> list[int]:
    answer = await client.get(f"/api/v3/openOrders?{signed(secret, {'symbol': 'BTCUSDT'})}")
    return [order["orderId"] for order in answer.json()]


async def next_json(ws, timeout: float = WAIT_S) -> dict:
    """The next frame of a ``websockets.trio`` client, decoded."""
    with trio.fail_after(timeout):
        return json.loads(await ws.recv())


async def until(ws, predicate, timeout: float = WAIT_S) -> dict:
    with trio.fail_after(timeout):
        while True:
            frame = json.loads(await ws.recv())
            if predicate(frame):
                return frame
