"""daemon.hookspecs: the hook contract is complete, documented and machine-readable."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import pluggy
import pytest

import daemon
from daemon import hookspecs
from daemon.plugins import make_plugin_manager

SPECS = {name: fn for name, fn in vars(hookspecs).items()
         if callable(fn) and getattr(fn, "tradingd_spec", None) is not None}


def test_markers_use_the_project_name():
    assert hookspecs.PROJECT_NAME == "tradingd"
    assert isinstance(hookspecs.hookspec, pluggy.HookspecMarker)
    assert isinstance(hookspecs.hookimpl, pluggy.HookimplMarker)
    assert hookspecs.hookimpl.project_name == hookspecs.hookspec.project_name == "tradingd"


def test_every_spec_belongs_to_exactly_one_phase():
    groups = [hookspecs.LIFECYCLE_HOOKS, hookspecs.MARKET_HOOKS, hookspecs.ACCOUNT_HOOKS,
              hookspecs.GATING_HOOKS, hookspecs.OBSERVATION_HOOKS, hookspecs.REGISTRATION_HOOKS]
    listed = [name for group in groups for name in group]
    assert sorted(listed) == sorted(SPECS)
    assert len(listed) == len(set(listed))
    assert hookspecs.EVENT_HOOKS == (hookspecs.LIFECYCLE_HOOKS + hookspecs.MARKET_HOOKS
                                     + hookspecs.ACCOUNT_HOOKS)


def test_the_required_hooks_exist_with_their_arguments():
    expected = {
        "on_start": ["ctx"], "on_stop": ["ctx"],
        "on_trade": ["ctx", "trade"], "on_agg_trade": ["ctx", "trade"],
        "on_book_ticker": ["ctx", "ticker"], "on_kline": ["ctx", "kline"],
        "on_depth": ["ctx", "depth"],
        "on_execution_report": ["ctx", "report"], "on_list_status": ["ctx", "status"],
        "on_account_position": ["ctx", "position"], "on_balance_update": ["ctx", "update"],
        "on_order_update": ["ctx", "order"], "on_fill": ["ctx", "fill"],
        "on_order_rejected": ["ctx", "rejection"],
        "check_order": ["ctx", "request"], "track_event": ["kind", "payload"],
        "register_jobs": ["scheduler", "config"], "register_commands": ["cli"],
        "register_migrations": ["migrations"],
    }
    actual = {name: list(inspect.signature(fn).parameters) for name, fn in SPECS.items()}
    assert actual == expected


@pytest.mark.parametrize("name", sorted(SPECS))
def test_every_spec_documents_its_arguments_and_return(name):
    doc = inspect.getdoc(SPECS[name])
    assert doc and len(doc.splitlines()[0]) > 10, f"{name}: needs a summary line"
    for arg in inspect.signature(SPECS[name]).parameters:
        assert f":param {arg}:" in doc, f"{name}: argument {arg} undocumented"
    assert ":return:" in doc, f"{name}: return value undocumented"


def test_pluggy_accepts_argument_subsets_and_refuses_unknown_arguments():
    class Subset:
        @hookspecs.hookimpl
        def on_trade(self, trade):
            return trade

    class Extra:
        @hookspecs.hookimpl
        def on_trade(self, ctx, trade, venue):
            return trade

    pm = make_plugin_manager()
    pm.register(Subset())
    assert pm.hook.on_trade(ctx=None, trade=3) == [3]
    with pytest.raises(pluggy.PluginValidationError):
        pm.register(Extra())


def test_public_names_strategies_import():
    from daemon import (  # noqa: F401  (the import itself is the test)
        AccountPosition, Accepted, AggTrade, BalanceUpdate, BookTicker, DepthUpdate,
        ExecutionReport, Kline, ListStatus, OrderRequest, OrderType, RejectCode, Rejection,
        Side, StrategyContext, TimeInForce, Trade, hookimpl,
    )
    from daemon.context import StrategyContext as Ctx
    from daemon.venues.binance.models import Trade as WireTrade

    assert hookimpl is hookspecs.hookimpl and StrategyContext is Ctx and Trade is WireTrade
    assert set(daemon.__all__) >= {"hookimpl", "StrategyContext", "Trade", "OrderRequest"}
    with pytest.raises(AttributeError):
        daemon.NoSuchName  # noqa: B018


def test_importing_an_internal_module_stays_light():
    code = ("import sys, daemon.errors; "
            "print(sorted(m for m in ('pluggy', 'daemon.context', 'daemon.venues.binance.models') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "[]"
