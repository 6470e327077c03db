"""Runs every ``check_order`` plugin for an order and collects all their refusals.

Why not ``pm.hook.check_order(...)``: pluggy stops a hook call at the first
implementation that raises, so one broken risk plugin would silence the
others, and its exception would escape into the order path.  Here each
implementation is called on its own; every refusal is collected, and a check
that raises (or answers something that is neither a ``Rejection`` nor
``None``, or is ``async``) refuses the order with RISK_CHECK_FAILED: a risk
limit that cannot be evaluated must stop the order, never wave it through.

The gateway takes ``risk_check(strategy, request) -> list[Rejection]``;
``make_risk_check(pm, context_for)`` builds it from the plugin manager and a
lookup of each strategy's ``StrategyContext``.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any

import msgspec
import pluggy

from daemon.orders import OrderRequest, RejectCode, Rejection

__all__ = ["collect_order_checks", "make_risk_check"]

log = logging.getLogger(__name__)


def _plugin_name(pm: pluggy.PluginManager, impl: Any) -> str:
    return pm.get_name(impl.plugin) or impl.plugin_name


def _failed(request: OrderRequest, plugin: str, reason: str, error: str) -> Rejection:
    return Rejection(code=RejectCode.RISK_CHECK_FAILED,
                     reason=f"RISK_CHECK_FAILED: check_order of plugin {plugin} {reason}",
                     symbol=request.symbol, client_order_id=request.client_order_id or "",
                     detail={"plugin": plugin, "error": error})


def collect_order_checks(pm: pluggy.PluginManager, ctx: Any, request: OrderRequest) -> list[Rejection]:
    """Call every ``check_order`` implementation one by one; return every refusal (fail closed)."""
    arguments = {"ctx": ctx, "request": request}
    found: list[Rejection] = []
    for impl in pm.hook.check_order.get_hookimpls():
        plugin = _plugin_name(pm, impl)
        try:
            result = impl.function(**{name: arguments[name] for name in impl.argnames})
        except Exception as exc:
            log.exception("risk.check_raised plugin=%s symbol=%s", plugin, request.symbol)
            found.append(_failed(request, plugin, f"raised {type(exc).__name__}: {exc}", type(exc).__name__))
            continue
        if result is None:
            continue
        if isinstance(result, Rejection):
            if not result.symbol or not result.client_order_id or "plugin" not in result.detail:
                result = msgspec.structs.replace(
                    result, symbol=result.symbol or request.symbol,
                    client_order_id=result.client_order_id or request.client_order_id or "",
                    detail={"plugin": plugin, **result.detail})
            found.append(result)
            continue
        if inspect.isawaitable(result):
            close = getattr(result, "close", None)
            if close is not None:
                close()  # never awaited: close it so no "never awaited" warning escapes
            found.append(_failed(request, plugin, "is async; check_order must answer synchronously",
                                 "awaitable"))
            continue
        found.append(_failed(request, plugin, f"returned {type(result).__name__}, expected a "
                                              f"Rejection or None", type(result).__name__))
    return found


def make_risk_check(pm: pluggy.PluginManager,
                    context_for: Callable[[str], Any]) -> Callable[[str, OrderRequest], list[Rejection]]:
    """The gateway's ``risk_check``: the strategy's context, then every check_order plugin."""

    def risk_check(strategy: str, request: OrderRequest) -> list[Rejection]:
        return collect_order_checks(pm, context_for(strategy), request)

    return risk_check
