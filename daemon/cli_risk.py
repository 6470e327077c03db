"""``tradingd kill-switch on|off|status``: stop every new order without stopping the daemon.

Why a file: the risk plugin checks for it before each order, so the switch
works from any shell (or another machine's ssh, or a monitoring hook) while
the daemon keeps running, cancelling and reconciling.  Turning it on writes
the file with who and why; off removes it.  The path is ``[risk]
kill_switch_file`` of the config (relative to the config file's folder), or
``--file``.  The integrator attaches the group with
``for command in RISK_COMMANDS: main.add_command(command)``.
"""

from __future__ import annotations

import getpass
import os
import tomllib
from datetime import datetime, timezone
from pathlib import Path

import click

from daemon.cli_common import config_option
from daemon.errors import ConfigError
from daemon.risk_settings import RiskSettings

__all__ = ["RISK_COMMANDS", "kill_switch"]


def _switch_path(config_path: Path, file: Path | None) -> Path:
    """``--file``, else ``[risk] kill_switch_file`` of the config; exit 2 when neither exists."""
    if file is not None:
        return file
    try:
        with open(config_path, "rb") as handle:
            table = tomllib.load(handle).get("risk")
        settings = RiskSettings.from_mapping(table, base_dir=config_path.resolve().parent)
    except OSError as exc:
        raise click.ClickException(f"cannot read {config_path}: {exc.strerror}") from exc
    except (tomllib.TOMLDecodeError, ConfigError) as exc:
        raise click.ClickException(f"{config_path}: {exc}") from exc
    if settings.kill_switch_file is None:
        raise click.ClickException(f"{config_path} sets no [risk] kill_switch_file (or pass --file)")
    return settings.kill_switch_file


class _Exit2Group(click.Group):
    """Operator errors exit 2 with one line, as every tradingd command does."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except click.ClickException as exc:
            click.echo(f"error: {exc.format_message()}", err=True)
            raise SystemExit(2) from exc


@click.group("kill-switch", cls=_Exit2Group)
@config_option
@click.option("--file", "file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The kill-switch file (default: [risk] kill_switch_file of the config).")
@click.pass_context
def kill_switch(ctx: click.Context, config_path: Path, file: Path | None) -> None:
    """Refuse every new order (on), allow them again (off), or show the switch (status)."""
    # Resolved by the subcommand, so that `tradingd kill-switch on --help` needs no config.
    ctx.obj = lambda: _switch_path(config_path, file)


@kill_switch.command("on")
@click.option("--reason", default="", help="Why, for whoever turns it off.")
@click.pass_obj
def switch_on(switch_path, reason: str) -> None:
    """Turn the kill switch on: the running daemon refuses every new order."""
    path = switch_path()
    if path.exists():
        click.echo(f"kill switch already ON: {path}")
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    partial = path.with_name(path.name + ".tmp")
    partial.write_text(f"on since {stamp} by {getpass.getuser()}: {reason or 'no reason given'}\n")
    os.replace(partial, path)  # atomic: the daemon never reads a half-written file
    click.echo(f"kill switch ON: {path} (new orders are refused)")


@kill_switch.command("off")
@click.pass_obj
def switch_off(switch_path) -> None:
    """Turn the kill switch off: orders are checked by the other limits again."""
    path = switch_path()
    try:
        path.unlink()
    except FileNotFoundError:
        click.echo(f"kill switch already OFF: {path}")
        return
    click.echo(f"kill switch OFF: {path}")


@kill_switch.command("status")
@click.pass_obj
def switch_status(switch_path) -> None:
    """Show whether the switch is on, since when, by whom and why."""
    path = switch_path()
    try:
        note = path.read_text().strip()
    except FileNotFoundError:
        click.echo(f"OFF: {path}")
        return
    click.echo(f"ON: {path} ({note or 'no note'})")


#: Commands for the root CLI group.
RISK_COMMANDS = (kill_switch,)
