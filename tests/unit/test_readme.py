"""The README is the user's manual; these tests keep it honest where they can."""

import tomllib
from pathlib import Path

import pytest

from daemon import hookspecs
from daemon.cli import main

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text()


def _all_hookspecs():
    return [name for name in dir(hookspecs)
            if callable(getattr(hookspecs, name))
            and hasattr(getattr(hookspecs, name), "tradingd_spec")]


def test_hookspec_discovery_finds_the_hooks():
    assert len(_all_hookspecs()) >= 19


@pytest.mark.parametrize("hook", _all_hookspecs())
def test_every_hookspec_is_documented(hook):
    assert f"`{hook}(" in README, f"README does not document hook {hook}"


@pytest.mark.parametrize("command", sorted(main.commands))
def test_every_cli_command_is_documented(command):
    assert f"tradingd {command}" in README, f"README does not document `tradingd {command}`"


def _key_paths(table, prefix=""):
    for key, value in table.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from _key_paths(value, f"{path}.")
        yield path


@pytest.mark.parametrize("path", sorted(_key_paths(tomllib.loads((REPO / "config.example.toml").read_text()))))
def test_every_example_config_key_is_documented(path):
    leaf = path.rsplit(".", 1)[-1]
    section = path.split(".", 1)[0]
    if "." not in path:
        assert f"[{path}" in README, f"README has no section for [{path}]"
        return
    if section == "strategies" and path.count(".") == 1:
        leaf = "strategies.<name>"  # the table name itself is the user's choice
    elif section == "sim" and path.startswith("sim.balances.") :
        leaf = "sim.balances"
    assert f"`{leaf}`" in README or f"[{leaf}]" in README, f"README does not document config key {path}"
