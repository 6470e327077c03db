"""The top-level import names must be this repository's packages.

``daemon`` is also the import name of the unrelated python-daemon package;
if it were ever installed and shadowed ours, the daemon would fail in
baffling ways.  This test makes that a clear failure instead.
"""

import importlib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["daemon", "state", "plugins", "strategies", "sim"])
def test_package_resolves_to_this_repository(name):
    module = importlib.import_module(name)
    assert Path(module.__file__).resolve().parent == REPO / name


def test_python_daemon_is_not_a_dependency():
    text = (REPO / "pyproject.toml").read_text()
    assert "python-daemon" not in text
