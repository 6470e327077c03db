"""The top-level import names must be this repository's packages.

``daemon`` is also the import name of the unrelated python-daemon package;
if it were ever installed and shadowed ours, the daemon would fail in
baffling ways.  This test makes that a clear failure instead.
"""

import importlib
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["daemon", "state", "plugins", "strategies", "sim"])
def test_package_resolves_to_this_repository(name):
    module = importlib.import_module(name)
    assert Path(module.__file__).resolve().parent == REPO / name


def test_python_daemon_is_not_a_dependency():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    declared = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        declared.extend(extra)
    names = {dep.split(";")[0].split("[")[0].split("<")[0].split(">")[0].split("=")[0].strip().lower()
             for dep in declared}
    assert "python-daemon" not in names
