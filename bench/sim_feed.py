"""Benchmark: market messages per second that one simulator connection pushes.

Prints ONE JSON line.  The simulator runs in a child process (its own core, as it
would beside the daemon).  This process connects one combined stream of trade +
aggTrade + bookTicker + depth@100ms for the four symbols and counts what arrives
with a ``websockets.trio`` client that does nothing else; then the same with a
``websockets.trio`` and a ``trio-websocket`` client side by side, on two
connections.  Two sources, each in its own child:

* ``market``: the synthetic participants at ``--interval-ms`` with ``--takers``
  market orders per symbol per round.  Every frame is a real trade, book ticker
  or depth update, so the matching engine bounds the rate; the child's CPU share
  shows it is busy.
* ``publish_path``: the participants paused, a publisher pushes rendered trade
  payloads through the hub as fast as the loop allows.  This is what the publish
  path (hub -> connection queue -> batched socket writes) can carry.

    python bench/sim_feed.py [--seconds 10] [--interval-ms 1] [--takers 8]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SYMBOLS = ("btcusdt", "ethusdt", "ethbtc", "bnbusdt")
KINDS = ("trade", "aggTrade", "bookTicker", "depth@100ms")
FIREHOSE_BURST = 200  # frames published between two checkpoints of the publisher
FIREHOSE_BACKLOG = 2_000


def stream_path() -> str:
    names = [f"{symbol}@{kind}" for symbol in SYMBOLS for kind in KINDS]
    return "/stream?streams=" + "/".join(names)


# ------------------------------------------------------------------ server side

async def firehose(exchange, router) -> None:
    """Publish trade payloads round-robin over the symbols, rendered by the hub per topic.

    Held back while a connection has more than ``FIREHOSE_BACKLOG`` frames queued: the
    server would rightly cut a consumer that falls ``max_pending`` behind.
    """
    trade_id = 0
    while True:
        while any(c.queued > FIREHOSE_BACKLOG for c in router.connections):
            await trio.sleep(0.0005)
        for _ in range(FIREHOSE_BURST):
            trade_id += 1
            symbol = SYMBOLS[trade_id % len(SYMBOLS)].upper()
            exchange.hub.publish(f"{symbol.lower()}@trade", {
                "e": "trade", "E": 1_700_000_000_000 + trade_id, "s": symbol, "t": trade_id,
                "p": "30000.01000000", "q": "0.05000000", "b": trade_id, "a": trade_id + 1,
                "T": 1_700_000_000_000 + trade_id, "m": trade_id % 2 == 0, "M": True})
        await trio.sleep(0)


async def serve(mode: str, interval_ms: int, takers: int) -> None:
    """Child process: run the simulator, print its stream URL, stop when stdin closes."""
    from sim import SimConfig, run_simulator

    config = SimConfig(participant_interval_ms=interval_ms, takers_per_step=takers,
                       taker_probability=1.0, book_levels=5, stream_ping_interval_s=None)
    async with trio.open_nursery() as nursery:
        handle = await nursery.start(run_simulator, config)
        if mode == "publish_path":
            handle.exchange.pause_market()
            nursery.start_soon(firehose, handle.exchange, handle.streams)
        print(handle.stream_url, flush=True)
        await trio.to_thread.run_sync(sys.stdin.read)  # until the parent closes the pipe
        usage = resource.getrusage(resource.RUSAGE_SELF)
        print(json.dumps({"cpu_s": usage.ru_utime + usage.ru_stime,
                          "market_steps": handle.exchange.market.steps}), flush=True)
        handle.shutdown()
        nursery.cancel_scope.cancel()


# ------------------------------------------------------------------ client side

async def count_websockets(url: str, seconds: float, counts: Counter, key: str) -> None:
    from websockets.trio.client import connect

    # Unbounded queues: once counting stops, the close handshake must still read its way
    # through what the server already sent, or both sides wait on each other.
    async with connect(url, proxy=None, compression=None, max_size=None, max_queue=None) as ws:
        with trio.move_on_at(trio.current_time() + seconds):
            while True:
                frame = await ws.recv(decode=False)
                counts[key] += 1
                counts[key + "_bytes"] += len(frame)


async def count_trio_websocket(url: str, seconds: float, counts: Counter, key: str) -> None:
    from trio_websocket import open_websocket_url

    async with open_websocket_url(url, message_queue_size=math.inf) as ws:
        with trio.move_on_at(trio.current_time() + seconds):
            while True:
                frame = await ws.get_message()
                counts[key] += 1
                counts[key + "_bytes"] += len(frame)


async def measure(url: str, seconds: float) -> dict[str, object]:
    alone: Counter = Counter()
    await count_websockets(url, seconds, alone, "websockets_trio")
    both: Counter = Counter()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(count_websockets, url, seconds, both, "websockets_trio")
        nursery.start_soon(count_trio_websocket, url, seconds, both, "trio_websocket")
    return {
        "msgs_per_s": round(alone["websockets_trio"] / seconds),
        "mb_per_s": round(alone["websockets_trio_bytes"] / seconds / 1e6, 2),
        "side_by_side_msgs_per_s": {
            "websockets_trio": round(both["websockets_trio"] / seconds),
            "trio_websocket": round(both["trio_websocket"] / seconds),
        },
    }


def run_phase(mode: str, args: argparse.Namespace) -> dict[str, object]:
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", mode, "--interval-ms", str(args.interval_ms),
         "--takers", str(args.takers)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        assert child.stdout is not None and child.stdin is not None
        base = child.stdout.readline().strip()
        if not base.startswith("ws://127.0.0.1:"):
            raise SystemExit(f"simulator did not start: {base!r}")
        started = time.perf_counter()
        figures = trio.run(measure, base + stream_path(), args.seconds)
        wall = time.perf_counter() - started
        child.stdin.close()
        server = json.loads(child.stdout.readline())
    finally:
        child.wait(timeout=60)
    figures["server_cpu_share"] = round(server["cpu_s"] / wall, 2)
    if mode == "market":
        figures["market_steps_per_s"] = round(server["market_steps"] / wall)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="per measurement")
    parser.add_argument("--interval-ms", type=int, default=1, help="participant interval")
    parser.add_argument("--takers", type=int, default=8, help="taker orders per symbol per round")
    parser.add_argument("--serve", choices=("market", "publish_path"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        trio.run(serve, args.serve, args.interval_ms, args.takers)
        return
    print(json.dumps({
        "bench": "sim_feed",
        "streams": len(SYMBOLS) * len(KINDS),
        "seconds": args.seconds,
        "participant_interval_ms": args.interval_ms,
        "takers_per_step": args.takers,
        "market": run_phase("market", args),
        "publish_path": run_phase("publish_path", args),
    }))


if __name__ == "__main__":
    main()
