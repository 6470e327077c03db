"""Benchmark: market messages the daemon ingests from one connection, per websocket transport.

Prints ONE JSON line with both transports side by side.  The feed is the
simulator's (in a child process, so that its CPU is not ours): a fast synthetic
market on every built-in symbol, subscribed as ``trade``, ``bookTicker`` and
``depth@100ms`` on one combined connection.  The daemon side is the real path:
``MarketStreams`` (read, decode, dedupe) -> a consumer that publishes each event
through ``daemon.dispatch.Dispatcher`` (pluggy manager) to one no-op strategy.

Figures per transport:

* ``live``: the feed at its own pace, after a warm-up.  ``msgs_per_s`` is bounded
  by the feed; ``cpu_us_per_msg`` is this process's CPU time per message with
  everything included (socket reads, the library, decoding, the ledger,
  dispatch, trio's loop waking up for each small batch);
* ``burst``: the most the daemon ingests when messages wait for it.  The
  simulator's ``stall_streams`` fault holds every market frame for a while (the
  market keeps trading, then is paused), then releases the backlog at once;
  ``msgs_per_s`` is the backlog over the time from its first to its last message,
  ``cpu_us_per_msg`` the CPU spent meanwhile.  The simulator's sending side is
  part of that path, so this is a lower bound of the daemon's own capacity;
* ``one_core_msgs_per_s`` = 1e6 / ``cpu_us_per_msg``: what the daemon would
  ingest with a core of its own, when the feed is faster than that.

    python bench/ingest.py [--seconds 4] [--burst-s 2] [--participant-ms 2] [--takers 3]
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import time
from pathlib import Path

import httpx
import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from daemon.dispatch import Dispatcher  # noqa: E402
from daemon.hookspecs import hookimpl  # noqa: E402
from daemon.plugins import make_plugin_manager  # noqa: E402
from daemon.venues.binance import models  # noqa: E402
from daemon.venues.binance.streams import MarketStreams, StreamSettings  # noqa: E402
from daemon.venues.binance.transport import TRANSPORT_NAMES  # noqa: E402

SYMBOLS = ("btcusdt", "ethusdt", "ethbtc", "bnbusdt")
KINDS = ("trade", "bookTicker", "depth@100ms")
HOOKS = {
    models.Trade: ("on_trade", "trade"),
    models.BookTicker: ("on_book_ticker", "ticker"),
    models.DepthUpdate: ("on_depth", "depth"),
}


class NoOpStrategy:
    """Receives every market event and does nothing with it."""

    @hookimpl
    def on_trade(self, ctx, trade) -> None:
        pass

    @hookimpl
    def on_book_ticker(self, ctx, ticker) -> None:
        pass

    @hookimpl
    def on_depth(self, ctx, depth) -> None:
        pass


class Consumer:
    """The router's part: publish every event to the dispatcher; note arrival times."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        self.arrivals: list[float] | None = None  # recorded during the burst phase

    async def run(self, receive: trio.MemoryReceiveChannel) -> None:
        publish = self.dispatcher.publish
        async for event in receive:
            hook, argument = HOOKS[type(event)]
            publish(hook, **{argument: event})
            if self.arrivals is not None:
                self.arrivals.append(time.perf_counter())


async def measure(sim_url: str, stream_url: str, transport: str, warmup_s: float, seconds: float,
                  burst_s: float) -> dict:
    pm = make_plugin_manager()
    pm.register(NoOpStrategy(), name="strategy:noop")
    dispatcher = Dispatcher(pm, {"strategy:noop": None})
    send, receive = trio.open_memory_channel(4096)
    market = MarketStreams(stream_url, send, settings=StreamSettings(transport=transport))
    market.subscribe([f"{symbol}@{kind}" for symbol in SYMBOLS for kind in KINDS])
    consumer = Consumer(dispatcher)
    async with httpx.AsyncClient(base_url=sim_url) as admin, trio.open_nursery() as nursery:
        await nursery.start(dispatcher.run)
        nursery.start_soon(consumer.run, receive)
        await nursery.start(market.run)
        await trio.sleep(warmup_s)
        events0, cpu0, wall0 = market.counters.events, time.process_time(), time.perf_counter()
        await trio.sleep(seconds)
        events = market.counters.events - events0
        live = _figures(events, time.process_time() - cpu0, time.perf_counter() - wall0)
        burst = await _burst(admin, market, consumer, burst_s)
        await admin.post("/_sim/market/resume")
        stats = dispatcher.stats()["strategy:noop"]
        nursery.cancel_scope.cancel()
    return {"live": live, "burst": burst, "strategy_delivered": stats.delivered,
            "strategy_dropped": stats.dropped, "connections": market.counters.reconnects + 1,
            "decode_errors": market.counters.decode_errors}


async def _burst(admin: httpx.AsyncClient, market: MarketStreams, consumer: Consumer,
                 burst_s: float) -> dict:
    """Hold the feed for ``burst_s``, stop the market, time the backlog's ingestion."""
    (await admin.post("/_sim/faults/stall_streams",
                      json={"seconds": burst_s, "kind": "market"})).raise_for_status()
    await trio.sleep(0.2)  # frames already on their way have arrived; the rest wait
    consumer.arrivals = arrivals = []
    await trio.sleep(max(0.0, burst_s - 0.5))
    (await admin.post("/_sim/market/pause")).raise_for_status()
    pending = len(arrivals)
    with trio.move_on_after(burst_s + 5):
        while len(arrivals) == pending:  # the stall ends: the backlog comes
            await trio.sleep(0.005)
    del arrivals[:pending]
    cpu0 = time.process_time()
    while True:  # until the backlog is in: 100 ms without a message
        seen = len(arrivals)
        await trio.sleep(0.1)
        if len(arrivals) == seen:
            break
    cpu = time.process_time() - cpu0
    consumer.arrivals = None
    if len(arrivals) < 2:
        return {"msgs": len(arrivals), "error": "no backlog arrived"}
    wall = arrivals[-1] - arrivals[0]
    return _figures(len(arrivals), cpu, wall, cpu_wall=wall + 0.1)


def _figures(events: int, cpu: float, wall: float, cpu_wall: float | None = None) -> dict:
    cpu_us = cpu * 1e6 / events if events else float("nan")
    return {
        "msgs": events,
        "wall_s": round(wall, 3),
        "msgs_per_s": round(events / wall, 1) if wall > 0 else None,
        "cpu_us_per_msg": round(cpu_us, 2),
        "cpu_share": round(cpu / (cpu_wall or wall), 3),
        "one_core_msgs_per_s": round(1e6 / cpu_us) if events else None,
    }


async def serve_sim(participant_ms: int, takers: int) -> None:
    """Child process: run the simulator, print its stream URL, serve until killed."""
    from sim import SimConfig, run_simulator

    config = SimConfig(participant_interval_ms=participant_ms, takers_per_step=takers,
                       taker_probability=0.9, admin=True)
    async with trio.open_nursery() as nursery:
        handle = await nursery.start(run_simulator, config)
        print(json.dumps({"rest_url": handle.rest_url, "stream_url": handle.stream_url}), flush=True)
        await trio.sleep_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--burst-s", type=float, default=2.0)
    parser.add_argument("--warmup", type=float, default=1.5)
    parser.add_argument("--participant-ms", type=int, default=2)
    parser.add_argument("--takers", type=int, default=3)
    parser.add_argument("--serve-sim", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    if args.serve_sim:
        trio.run(serve_sim, args.participant_ms, args.takers)
        return
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve-sim", "--participant-ms", str(args.participant_ms),
         "--takers", str(args.takers)], stdout=subprocess.PIPE, text=True)
    try:
        urls = json.loads(child.stdout.readline())
        results = {name: trio.run(measure, urls["rest_url"], urls["stream_url"], name,
                                  args.warmup, args.seconds, args.burst_s)
                   for name in TRANSPORT_NAMES}
    finally:
        child.terminate()
        child.wait(timeout=10)
        child.stdout.close()
    print(json.dumps({
        "bench": "ingest",
        "feed": {"symbols": len(SYMBOLS), "streams": [f"<symbol>@{k}" for k in KINDS],
                 "participant_ms": args.participant_ms, "takers_per_step": args.takers,
                 "one_connection": True, "seconds": args.seconds, "burst_s": args.burst_s},
        **results,
    }))


if __name__ == "__main__":
    main()
