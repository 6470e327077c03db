"""Options shared by every ``tradingd`` subcommand module."""

from __future__ import annotations

import os
from pathlib import Path

import click

DEFAULT_CONFIG = "config.toml"

config_option = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
    default=lambda: os.environ.get("TRADINGD_CONFIG", DEFAULT_CONFIG), show_default="$TRADINGD_CONFIG or config.toml",
    help="Path of the TOML configuration.")
