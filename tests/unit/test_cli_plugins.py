"""Plugins add subcommands through register_commands; a broken one is contained."""

import click
from click.testing import CliRunner

from daemon.cli import add_plugin_commands
from daemon.hookspecs import hookimpl


class Greeter:
    @hookimpl
    def register_commands(self, cli):
        @cli.command()
        def greet():
            """Say hello."""
            click.echo("hello from a plugin")


def _broken():
    raise ImportError("missing dependency")


def test_plugin_commands_are_added_and_a_broken_plugin_is_skipped():
    @click.group()
    def cli():
        pass

    runner = CliRunner()
    added = add_plugin_commands(cli, [("broken", _broken), ("greeter", Greeter)])
    assert added == ["greet"]
    result = runner.invoke(cli, ["greet"])
    assert result.exit_code == 0 and "hello from a plugin" in result.output
