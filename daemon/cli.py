"""The ``tradingd`` command line.

Every command takes ``--config`` (default: ``$TRADINGD_CONFIG``, else
``./config.toml``).  Errors an operator can fix (a bad config key, a missing
secret, a refused database) print one line naming the problem and exit 2,
never a traceback.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click
import trio

from daemon.cli_common import config_option
from daemon.cli_replay import replay_command
from daemon.cli_risk import RISK_COMMANDS
from daemon.cli_state import STATE_COMMANDS
from daemon.errors import TradingdError

def _load(config_path: Path):
    from daemon.config import load_config

    return load_config(config_path)


def _first_tradingd_error(exc: BaseException) -> TradingdError | None:
    """The operator-facing error inside a (possibly nested) exception group."""
    if isinstance(exc, TradingdError):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = _first_tradingd_error(inner)
            if found is not None:
                return found
    return None


def _fail(exc: Exception) -> None:
    click.echo(f"error: {exc}", err=True)
    raise SystemExit(2)


def _setup_logging(level: str) -> None:
    logging.basicConfig(level=getattr(logging, level.upper(), logging.INFO),
                        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
                        stream=sys.stderr)
    # httpx logs every request at INFO; that is noise at a trading daemon's volume.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("hypercorn.access").setLevel(logging.WARNING)


@click.group()
@click.version_option(package_name="tradingd")
def main() -> None:
    """tradingd: a trading daemon for Binance Spot."""


@main.command()
@config_option
@click.option("--duration", type=float, default=None, metavar="SECONDS",
              help="Stop by itself after this many seconds (default: run until SIGINT/SIGTERM).")
def run(config_path: Path, duration: float | None) -> None:
    """Run the daemon (with the embedded simulator when venue.kind is "sim")."""
    from daemon.app import Daemon

    try:
        config = _load(config_path)
        _setup_logging(config.daemon.log_level)
        trio.run(Daemon(config, duration_s=duration).run)
    except (TradingdError, ExceptionGroup) as exc:
        operator_error = _first_tradingd_error(exc)
        if operator_error is None:
            raise
        _fail(operator_error)


@main.command("check-config")
@config_option
def check_config(config_path: Path) -> None:
    """Validate the configuration, strategies' parameters included."""
    from daemon.plugins import load_plugins, load_strategies, make_plugin_manager

    try:
        config = _load(config_path)
        pm = make_plugin_manager()
        load_plugins(pm, config.daemon.plugins)
        strategies = load_strategies(pm, config)
    except TradingdError as exc:
        _fail(exc)
    click.echo(f"{config_path}: OK (venue {config.venue.kind}, "
               f"strategies: {', '.join(strategies) or 'none'})")


@main.command()
@config_option
@click.option("--fills", "fill_count", type=int, default=10, show_default=True,
              help="How many of the latest fills to show.")
def status(config_path: Path, fill_count: int) -> None:
    """Balances, open orders and the last fills, read from the state database."""
    from daemon.tables import render_table
    from state import Store

    try:
        config = _load(config_path)
        if not Path(config.daemon.database).exists():
            raise TradingdError(f"no state database at {config.daemon.database} (has the daemon run?)")
        store = Store.open(config.daemon.database)
    except TradingdError as exc:
        _fail(exc)
    try:
        balances = [(asset, free, locked) for asset, (free, locked) in sorted(store.balances().items())
                    if free or locked]
        click.echo(render_table("Balances", ("asset", "free", "locked"), balances))
        orders = [(o.symbol, o.side, o.type, o.price, o.quantity, o.executed_qty, o.status,
                   o.strategy or "-", o.client_order_id) for o in store.orders(open_only=True)]
        click.echo(render_table("Open orders", ("symbol", "side", "type", "price", "qty", "filled",
                                                "status", "strategy", "client id"), orders))
        fills = [(f.symbol, f.side, f.price, f.quantity, f.commission, f.commission_asset,
                  f.strategy or "-", f.trade_id) for f in store.fills(limit=fill_count)]
        click.echo(render_table(f"Last {fill_count} fills", ("symbol", "side", "price", "qty",
                                                             "fee", "fee asset", "strategy", "trade id"),
                                fills))
    finally:
        store.close()


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback address to bind.")
@click.option("--port", type=int, default=9900, show_default=True, help="Port (0 = any free port).")
@click.option("--seed", type=int, default=7, show_default=True, help="Seed of the synthetic market.")
@click.option("--time-factor", type=float, default=1.0, show_default=True,
              help="Simulated seconds per real second for the exchange's slow clocks.")
@click.option("--admin/--no-admin", default=True, show_default=True,
              help="Serve the fault-injection admin API under /_sim/ (loopback only).")
def sim(host: str, port: int, seed: int, time_factor: float, admin: bool) -> None:
    """Run the exchange simulator alone and print its URLs and credentials.

    With --admin, faults are injected with e.g.
    curl -X POST localhost:9900/_sim/faults/rate_limit_storm -d '{"seconds": 5}'.
    """
    from sim import SimConfig, run_simulator

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    async def serve() -> None:
        async with trio.open_nursery() as nursery:
            handle = await nursery.start(run_simulator, SimConfig(host=host, port=port, seed=seed,
                                                                  time_factor=time_factor, admin=admin))
            click.echo(f"REST         {handle.rest_url}")
            click.echo(f"streams      {handle.stream_url}")
            click.echo(f"WS API       {handle.ws_api_url}")
            click.echo(f"API key      {handle.api_key}")
            click.echo(f"API secret   {handle.api_secret}")
            click.echo(f"BingX key    {handle.bingx_api_key}")
            click.echo(f"BingX secret {handle.bingx_api_secret}")
            if admin:
                click.echo(f"faults       {handle.rest_url}/_sim/faults (GET lists, POST /_sim/faults/<name>)")
            click.echo("Ctrl-C stops it.")
            with trio.open_signal_receiver(2, 15) as signals:
                async for _ in signals:
                    nursery.cancel_scope.cancel()
                    break

    trio.run(serve)


for _command in (*STATE_COMMANDS, *RISK_COMMANDS, replay_command):
    main.add_command(_command)


def add_plugin_commands(cli: click.Group, plugins) -> list[str]:
    """Let each plugin add subcommands through ``register_commands``.

    Plugins are loaded and asked one by one: a broken plugin is reported on
    stderr and skipped, so it can never take the whole command line down
    (``tradingd check-config`` must still work to diagnose it).
    """
    from daemon.plugins import make_plugin_manager

    pm = make_plugin_manager()
    added: list[str] = []
    for name, load in plugins:
        try:
            plugin = load()
            pm.register(plugin, name)
            before = set(cli.commands)
            for impl in pm.hook.register_commands.get_hookimpls():
                if impl.plugin_name == name:
                    impl.function(cli=cli)
            added.extend(sorted(set(cli.commands) - before))
        except Exception as exc:  # a plugin's fault, reported and contained
            click.echo(f"warning: plugin {name} could not register commands: {exc}", err=True)
    return added


def _installed_plugins():
    from importlib.metadata import entry_points

    return [(ep.name, ep.load) for ep in entry_points(group="tradingd")]


add_plugin_commands(main, _installed_plugins())


if __name__ == "__main__":  # pragma: no cover
    main()
