"""Replay: a journal recorded by the real daemon, fed through its strategy twice.

The follower strategy answers each of its fills with a counter order.  A live
run against the simulator records the journal; the replay must take the same
decisions the live run took (same requests, in the same order), and two
replays must be identical, through the API and through ``tradingd replay``.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
import trio
from click.testing import CliRunner

from daemon.app import Daemon
from daemon.cli_replay import load_exchange_info, replay_command
from daemon.config import load_config
from daemon.errors import StateError
from daemon.orders import Accepted, OrderRequest, OrderType, Side, TimeInForce
from daemon.replay import replay_journal

CONFIG = """
[daemon]
database = "state.sqlite"

[venue]
kind = "sim"

[sim]
seed = 17
participant_interval_ms = 50

[strategies.follower]
kind = "replay_follower_strategy:FollowerStrategy"
"""


async def _record(tmp_path):
    """Run the daemon; drive three crossing orders; return the config and the live decisions."""
    config_path = tmp_path / "tradingd.toml"
    config_path.write_text(CONFIG)
    config = load_config(config_path)
    daemon = Daemon(config)
    async with trio.open_nursery() as nursery:
        await nursery.start(daemon.run)
        follower = daemon.strategies["follower"]
        with trio.fail_after(10):
            await follower.started.wait()
            while follower.ctx.last_price("BTCUSDT") is None:
                await trio.sleep(0.02)
        daemon.sim_handle.exchange.pause_market()
        book = daemon.sim_handle.exchange.books["BTCUSDT"]
        for n, side in enumerate((Side.BUY, Side.SELL, Side.BUY)):
            price = book.best("SELL" if side is Side.BUY else "BUY")[0]
            result = await follower.ctx.submit(OrderRequest(
                symbol="BTCUSDT", side=side, type=OrderType.LIMIT, quantity=Decimal("0.002"),
                price=price, time_in_force=TimeInForce.IOC, client_order_id=f"drive-{n}"))
            assert isinstance(result, Accepted)
        with trio.fail_after(10):  # every fill answered
            while len(follower.counter_orders) < len(daemon.store.fills()) or \
                    not daemon.store.fills():
                await trio.sleep(0.05)
            await trio.sleep(0.3)
        live = list(follower.counter_orders)
        daemon.request_stop()
    return config_path, config, live


def _shape(request: dict) -> tuple:
    return (request["symbol"], request["side"], request["type"], request["quantity"],
            request["price"], request["time_in_force"])


async def test_replay_takes_the_live_decisions_and_is_repeatable(tmp_path):
    config_path, config, live = await _record(tmp_path)
    journal = tmp_path / "state.sqlite"
    info = load_exchange_info(None)
    first = await replay_journal(journal, config, "follower", info)
    second = await replay_journal(journal, config, "follower", info)
    assert first.decisions == second.decisions and first.digest == second.digest
    submits = [json.loads(d.detail) for d in first.decisions if d.action == "submit"]
    assert len(submits) == len(live) >= 3
    assert [_shape(s) for s in submits] == [
        ("BTCUSDT", r.side.value, r.type.value, format(r.quantity, "f"), format(r.price, "f"),
         r.time_in_force.value) for r in live]
    assert all(d.outcome.startswith("accepted NEW") for d in first.decisions)
    assert submits[0]["client_order_id"] == "follower-r000001"
    # The recorded database is untouched by a replay.
    assert first.entries > 0


async def test_unknown_strategy_and_missing_journal_are_refused(tmp_path):
    config_path = tmp_path / "tradingd.toml"
    config_path.write_text(CONFIG)
    config = load_config(config_path)
    info = load_exchange_info(None)
    with pytest.raises(StateError, match="no such state database"):
        await replay_journal(tmp_path / "missing.sqlite", config, "follower", info)
    (tmp_path / "empty.sqlite").write_bytes(b"")
    with pytest.raises(StateError, match="strategies.nobody"):
        await replay_journal(tmp_path / "empty.sqlite", config, "nobody", info)


def test_cli_twice_prints_identical_decisions(tmp_path):
    config_path, _, live = trio.run(_record, tmp_path)
    runner = CliRunner()
    args = ["--journal", str(tmp_path / "state.sqlite"), "--strategy", "follower",
            "--config", str(config_path)]
    one = runner.invoke(replay_command, args)
    two = runner.invoke(replay_command, args)
    assert one.exit_code == 0, one.output
    assert one.output == two.output
    lines = one.output.splitlines()
    assert len([line for line in lines if " submit " in line]) == len(live)
    assert lines[-1].startswith("replay: entries=") and "digest=sha256:" in lines[-1]
    as_json = runner.invoke(replay_command, [*args, "--json"])
    assert [json.loads(line)["action"] for line in as_json.output.splitlines()[:-1]] == \
        ["submit"] * len(live)
    missing = runner.invoke(replay_command, ["--journal", str(tmp_path / "state.sqlite"),
                                             "--strategy", "nobody", "--config", str(config_path)])
    assert missing.exit_code == 2 and "strategies.nobody" in missing.output
