"""The real daemon against the real simulator, over loopback sockets.

The grid strategy trades for a few seconds; then the simulated market is
frozen and, once the streams are quiet, the daemon's SQLite state must equal
exactly what the simulator's REST API reports for the account: balances,
every order's status and filled quantity, the open orders, and every fill.
"""

from __future__ import annotations

from decimal import Decimal

import trio

from daemon.app import Daemon
from daemon.config import parse_config
from daemon.venues.binance.rest import BinanceRest

RUN_SECONDS = 8
SETTLE_TIMEOUT_S = 10


def _config(tmp_path):
    return parse_config({
        "daemon": {"database": str(tmp_path / "state.sqlite"), "log_level": "INFO"},
        "venue": {"kind": "sim"},
        # A busy market so that fills happen within seconds.
        "sim": {"seed": 11, "participant_interval_ms": 50, "volatility_bps": "2"},
        "strategies": {"grid": {"kind": "grid", "symbol": "BTCUSDT", "levels": 2,
                                "spacing_bps": "2", "quantity": "0.001", "requote_bps": "8",
                                "min_requote_ms": 1000, "cancel_on_stop": False}},
    }, base_dir=tmp_path)


async def _exchange_view(rest: BinanceRest, symbols: list[str], order_ids):
    account = await rest.account()
    balances = {b.asset: (b.free, b.locked) for b in account.balances if b.free or b.locked}
    open_orders = {(o.symbol, o.order_id) for o in await rest.open_orders()}
    fills = {}
    for symbol in symbols:
        for trade in await rest.my_trades(symbol, limit=1000):
            fills[(trade.symbol, trade.id)] = (trade.order_id, trade.price, trade.qty,
                                               trade.commission, trade.commission_asset)
    orders = {}
    for symbol, order_id in order_ids:
        order = await rest.get_order(symbol, order_id=order_id)
        orders[(symbol, order_id)] = (order.status, order.executed_qty, order.cummulative_quote_qty)
    return balances, open_orders, fills, orders


def _daemon_view(store):
    balances = {asset: fl for asset, fl in store.balances().items() if fl[0] or fl[1]}
    open_orders = {(o.symbol, o.order_id) for o in store.orders(open_only=True)}
    fills = {(f.symbol, f.trade_id): (f.order_id, f.price, f.quantity, f.commission, f.commission_asset)
             for f in store.fills()}
    orders = {(o.symbol, o.order_id): (o.status, o.executed_qty, o.cum_quote_qty)
              for o in store.orders()}
    return balances, open_orders, fills, orders


async def test_grid_trades_and_state_equals_the_exchange(tmp_path):
    daemon = Daemon(_config(tmp_path))
    async with trio.open_nursery() as nursery:
        await nursery.start(daemon.run)
        await trio.sleep(RUN_SECONDS)
        daemon.sim_handle.exchange.pause_market()  # no more trades from here on

        rest = BinanceRest(daemon.endpoints.rest_url, daemon.endpoints.credentials)
        try:
            ours = theirs = None
            with trio.move_on_after(SETTLE_TIMEOUT_S):
                while True:
                    await trio.sleep(0.3)
                    ours = _daemon_view(daemon.store)
                    theirs = await _exchange_view(rest, ["BTCUSDT"], ours[3].keys())
                    delivered = daemon.strategies["grid"].fills
                    if ours == theirs and delivered == len(ours[2]):
                        break
        finally:
            await rest.aclose()
        daemon.request_stop()

    balances, open_orders, fills, orders = ours
    assert ours[0] == theirs[0], "balances differ"
    assert ours[1] == theirs[1], "open orders differ"
    assert ours[2] == theirs[2], "fills differ"
    assert ours[3] == theirs[3], "order states differ"
    # The run really traded: orders were placed, some filled, the grid re-quoted.
    assert len(orders) >= 4
    assert fills, "no fill in the run"
    assert any(status == "CANCELED" for status, _, _ in orders.values())
    assert balances["USDT"][0] + balances["USDT"][1] != Decimal("10000")
    # Every fill reached the strategy exactly once.
    assert delivered == len(fills)


async def test_daemon_keeps_a_local_book_equal_to_the_exchange(tmp_path):
    config = parse_config({
        "daemon": {"database": str(tmp_path / "state.sqlite")},
        "venue": {"kind": "sim"},
        "sim": {"seed": 3, "participant_interval_ms": 50},
        "books": {"symbols": ["ETHUSDT"], "depth_limit": 100},
        "strategies": {"grid": {"kind": "grid", "symbol": "BTCUSDT", "levels": 1}},
    }, base_dir=tmp_path)
    daemon = Daemon(config)
    async with trio.open_nursery() as nursery:
        await nursery.start(daemon.run)
        ctx = daemon.contexts["strategy:grid"]
        with trio.fail_after(SETTLE_TIMEOUT_S):
            while ctx.book("ETHUSDT") is None or not ctx.book("ETHUSDT").synced:
                await trio.sleep(0.1)
        await trio.sleep(1)  # a few diff events on top of the snapshot
        daemon.sim_handle.exchange.pause_market()
        rest = BinanceRest(daemon.endpoints.rest_url, daemon.endpoints.credentials)
        try:
            with trio.move_on_after(SETTLE_TIMEOUT_S):
                while True:
                    await trio.sleep(0.3)
                    snapshot = await rest.depth("ETHUSDT", limit=5)
                    book = ctx.book("ETHUSDT")
                    ours = [tuple(level) for level in book.top(5)[0]], [tuple(level) for level in book.top(5)[1]]
                    theirs = [tuple(level) for level in snapshot.bids], [tuple(level) for level in snapshot.asks]
                    if ours == theirs:
                        break
        finally:
            await rest.aclose()
        daemon.request_stop()
    assert ours == theirs
    assert book.synced
