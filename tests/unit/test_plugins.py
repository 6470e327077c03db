"""daemon.plugins: one-by-one loading, Params validation, errors that name the culprit."""

from __future__ import annotations

import textwrap
from decimal import Decimal

import msgspec
import pytest

from daemon.config import parse_config
from daemon.errors import ConfigError, PluginError
from daemon.hookspecs import hookimpl
from daemon.plugins import load_plugins, load_strategies, make_plugin_manager

HERE = __name__


class EchoParams(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    symbol: str
    levels: int = 2
    quantity: Decimal = Decimal("0.001")

    def __post_init__(self) -> None:
        if self.levels > 10:
            raise ValueError("levels must be at most 10")


class EchoStrategy:
    Params = EchoParams

    def __init__(self, name: str, params: EchoParams) -> None:
        self.name = name
        self.params = params

    @hookimpl
    def on_trade(self, ctx, trade):
        return trade


class LaxParams(msgspec.Struct, kw_only=True):  # forgot forbid_unknown_fields
    symbol: str = "BTCUSDT"


class LaxStrategy:
    Params = LaxParams

    def __init__(self, name, params):
        self.params = params


class ExplodingStrategy(EchoStrategy):
    def __init__(self, name, params):
        raise RuntimeError("no market data")


class MisspeltHookStrategy(EchoStrategy):
    @hookimpl
    def on_tarde(self, ctx, trade):
        pass


class ExtraArgStrategy(EchoStrategy):
    @hookimpl
    def on_fill(self, ctx, fill, bonus):
        pass


class UnmarkedHookStrategy(EchoStrategy):
    def on_book_ticker(self, ctx, ticker):
        pass


class NoParamsStrategy:
    def __init__(self, name, params):
        pass


def config_with(**strategies):
    return parse_config({"strategies": strategies}, base_dir=__import__("pathlib").Path("."))


def test_plugin_manager_knows_the_hookspecs():
    pm = make_plugin_manager()
    assert pm.project_name == "tradingd"
    assert pm.hook.on_trade.spec is not None and pm.hook.check_order.spec is not None


def test_module_path_strategy_is_built_validated_and_registered():
    pm = make_plugin_manager()
    config = config_with(echo={"kind": f"{HERE}:EchoStrategy", "symbol": "BTCUSDT",
                               "levels": "3", "quantity": "0.0005"},
                         off={"kind": "nowhere.at_all:Nothing", "enabled": False})
    loaded = load_strategies(pm, config)
    assert list(loaded) == ["echo"]
    echo = loaded["echo"]
    assert isinstance(echo, EchoStrategy) and echo.name == "echo"
    assert echo.params == EchoParams(symbol="BTCUSDT", levels=3, quantity=Decimal("0.0005"))
    assert pm.get_plugin("strategy:echo") is echo
    assert pm.hook.on_trade(ctx=None, trade="t") == ["t"]


@pytest.mark.parametrize("params, path, fragment", [
    ({"symbol": "BTCUSDT", "levels": "many"}, "strategies.echo.levels", "int"),
    ({"symbol": "BTCUSDT", "quantity": "lots"}, "strategies.echo.quantity", "decimal"),
    ({"symbol": "BTCUSDT", "spacing": "1"}, "strategies.echo.spacing", "unknown key"),
    ({"levels": 2}, "strategies.echo.symbol", "required key is missing"),
    ({"symbol": "BTCUSDT", "levels": 11}, "strategies.echo", "at most 10"),
])
def test_bad_params_are_config_errors_at_their_key(params, path, fragment):
    config = config_with(echo={"kind": f"{HERE}:EchoStrategy", **params})
    with pytest.raises(ConfigError) as info:
        load_strategies(make_plugin_manager(), config)
    assert info.value.path == path
    assert fragment in str(info.value)


def test_unknown_keys_refused_even_without_forbid_unknown_fields():
    config = config_with(lax={"kind": f"{HERE}:LaxStrategy", "symbl": "X"})
    with pytest.raises(ConfigError) as info:
        load_strategies(make_plugin_manager(), config)
    assert info.value.path == "strategies.lax.symbl"


@pytest.mark.parametrize("cls, fragment", [
    ("ExplodingStrategy", "constructor failed: RuntimeError: no market data"),
    ("MisspeltHookStrategy", "unknown hook(s) on_tarde"),
    ("ExtraArgStrategy", "bonus"),
    ("UnmarkedHookStrategy", "on_book_ticker looks like an event hook"),
    ("NoParamsStrategy", "no Params"),
])
def test_broken_strategy_classes_raise_plugin_error_naming_them(cls, fragment):
    pm = make_plugin_manager()
    config = config_with(bad={"kind": f"{HERE}:{cls}", "symbol": "BTCUSDT"})
    with pytest.raises(PluginError) as info:
        load_strategies(pm, config)
    assert "strategy bad" in str(info.value)
    assert fragment in str(info.value)
    assert pm.get_plugin("strategy:bad") is None


def test_failure_unregisters_strategies_loaded_earlier_in_the_call():
    pm = make_plugin_manager()
    config = config_with(good={"kind": f"{HERE}:EchoStrategy", "symbol": "BTCUSDT"},
                         bad={"kind": f"{HERE}:ExplodingStrategy", "symbol": "BTCUSDT"})
    with pytest.raises(PluginError):
        load_strategies(pm, config)
    assert pm.get_plugin("strategy:good") is None


def test_missing_module_or_class_is_a_config_error_on_kind():
    for kind in ("no_such_module_xyz:Strategy", f"{HERE}:NoSuchClass"):
        with pytest.raises(ConfigError) as info:
            load_strategies(make_plugin_manager(), config_with(s={"kind": kind}))
        assert info.value.path == "strategies.s.kind"


def test_unknown_entry_point_kind_is_a_config_error(tmp_path, monkeypatch):
    install_fake_distribution(tmp_path, monkeypatch, strategies={"echo": f"{HERE}:EchoStrategy"})
    with pytest.raises(ConfigError) as info:
        load_strategies(make_plugin_manager(), config_with(s={"kind": "gird"}))
    assert info.value.path == "strategies.s.kind"
    assert "echo" in str(info.value)


def test_entry_point_strategies_load_one_by_one(tmp_path, monkeypatch):
    (tmp_path / "broken_strategy_mod_td.py").write_text("raise ImportError('missing numpy')\n")
    install_fake_distribution(tmp_path, monkeypatch, strategies={
        "echo": f"{HERE}:EchoStrategy", "broken": "broken_strategy_mod_td:Strategy"})
    pm = make_plugin_manager()
    loaded = load_strategies(pm, config_with(a={"kind": "echo", "symbol": "ETHUSDT"}))
    assert loaded["a"].params.symbol == "ETHUSDT"

    with pytest.raises(PluginError) as info:
        load_strategies(make_plugin_manager(), config_with(b={"kind": "broken"}))
    assert "strategy b" in str(info.value) and "missing numpy" in str(info.value)


def test_load_plugins_by_module_path_and_entry_point(tmp_path, monkeypatch):
    (tmp_path / "td_extra_plugin.py").write_text(textwrap.dedent("""
        from daemon.hookspecs import hookimpl

        @hookimpl
        def track_event(kind, payload):
            return ("extra", kind)
    """))
    (tmp_path / "td_ep_plugin.py").write_text(textwrap.dedent("""
        from daemon.hookspecs import hookimpl

        @hookimpl
        def track_event(kind):
            return ("ep", kind)
    """))
    install_fake_distribution(tmp_path, monkeypatch, plugins={"ep-plugin": "td_ep_plugin"})
    pm = make_plugin_manager()
    assert load_plugins(pm, ["td_extra_plugin", "ep-plugin"]) == ["td_extra_plugin", "ep-plugin"]
    assert sorted(pm.hook.track_event(kind="k", payload={})) == [("ep", "k"), ("extra", "k")]


def test_load_plugins_failures_name_the_plugin(tmp_path, monkeypatch):
    (tmp_path / "td_raising_plugin.py").write_text("raise RuntimeError('boom at import')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    pm = make_plugin_manager()
    with pytest.raises(PluginError, match="td_raising_plugin.*boom at import"):
        load_plugins(pm, ["td_raising_plugin"])
    with pytest.raises(PluginError, match="plugin no_such_plugin_xyz"):
        load_plugins(pm, ["no_such_plugin_xyz"])


def test_load_plugins_refuses_the_same_plugin_twice(tmp_path, monkeypatch):
    (tmp_path / "td_twice_plugin.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PluginError, match="td_twice_plugin"):
        load_plugins(make_plugin_manager(), ["td_twice_plugin", "td_twice_plugin"])


def install_fake_distribution(tmp_path, monkeypatch, *, strategies=None, plugins=None):
    """A real ``*.dist-info`` on sys.path, so importlib.metadata finds the entry points."""
    dist = tmp_path / "td_fake_strategies-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: td-fake-strategies\nVersion: 1.0\n")
    lines = []
    for group, entries in (("tradingd.strategies", strategies), ("tradingd", plugins)):
        if entries:
            lines.append(f"[{group}]")
            lines.extend(f"{name} = {value}" for name, value in entries.items())
    (dist / "entry_points.txt").write_text("\n".join(lines) + "\n")
    monkeypatch.syspath_prepend(str(tmp_path))
