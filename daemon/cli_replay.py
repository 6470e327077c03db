"""``tradingd replay``: a recorded journal through one strategy, its decisions printed.

Attach with ``main.add_command(replay_command)``; the work is ``daemon.replay``.
The decisions go to stdout (one line each, or JSON lines with ``--json``), the
summary with its digest last, so two runs can be compared with ``diff``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import click
import trio

from daemon.cli_common import config_option
from daemon.errors import TradingdError


def _fail(exc: Exception) -> None:
    click.echo(f"error: {exc}", err=True)
    raise SystemExit(2)


def load_exchange_info(path: Path | None):
    """exchangeInfo from a saved ``GET /api/v3/exchangeInfo`` body, else the simulator's rules."""
    from daemon.venues.binance.models import ExchangeInfo, decode_rest

    if path is not None:
        try:
            return decode_rest(path.read_bytes(), ExchangeInfo)
        except OSError as exc:
            raise TradingdError(f"{path}: cannot read exchangeInfo: {exc}") from exc
    from sim.symbols import DEFAULT_SYMBOLS, exchange_info  # offline default: the simulator's

    body = json.dumps(exchange_info(list(DEFAULT_SYMBOLS), 0)).encode()
    return decode_rest(body, ExchangeInfo)


@click.command("replay")
@click.option("--journal", "journal", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A state database (its journal table is replayed).")
@click.option("--strategy", "strategy_name", required=True,
              help="The [strategies.<name>] table of the config to replay.")
@config_option
@click.option("--exchange-info", "exchange_info_path", default=None,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A saved GET /api/v3/exchangeInfo body (default: the simulator's symbols).")
@click.option("--json", "as_json", is_flag=True, help="Print decisions as JSON lines.")
def replay_command(journal: Path, strategy_name: str, config_path: Path,
                   exchange_info_path: Path | None, as_json: bool) -> None:
    """Feed a recorded journal through a strategy with simulated acknowledgements."""
    from daemon.config import load_config
    from daemon.replay import replay_journal

    logging.basicConfig(level=logging.WARNING, format="%(levelname)-7s %(name)s: %(message)s")
    try:
        config = load_config(config_path)
        exchange_info = load_exchange_info(exchange_info_path)
        report = trio.run(replay_journal, journal, config, strategy_name, exchange_info)
    except TradingdError as exc:
        _fail(exc)
    for decision in report.decisions:
        if as_json:
            click.echo(json.dumps({"journal_id": decision.journal_id, "action": decision.action,
                                   "detail": json.loads(decision.detail),
                                   "outcome": decision.outcome}, sort_keys=True))
        else:
            click.echo(f"#{decision.journal_id} {decision.action} {decision.detail} -> "
                       f"{decision.outcome}")
    click.echo(f"replay: entries={report.entries} delivered={report.delivered} "
               f"decisions={len(report.decisions)} digest={report.digest}")
