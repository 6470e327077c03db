"""tradingd: the public names strategies and third-party plugins import.

``from daemon import hookimpl, OrderRequest, Side, StrategyContext, Trade`` is
the whole surface a strategy needs; everything else in ``daemon`` is internal
and may change.  The names are resolved lazily (PEP 562) so that importing a
small internal module such as ``daemon.errors`` does not pull in pluggy, the
gateway helpers and every wire model.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "hookimpl": "daemon.hookspecs",
    "OrderRequest": "daemon.orders",
    "Side": "daemon.orders",
    "OrderType": "daemon.orders",
    "TimeInForce": "daemon.orders",
    "RejectCode": "daemon.orders",
    "Rejection": "daemon.orders",
    "Accepted": "daemon.orders",
    "OcoRequest": "daemon.orders",
    "ListAccepted": "daemon.orders",
    "StrategyContext": "daemon.context",
    "Trade": "daemon.venues.binance.models",
    "AggTrade": "daemon.venues.binance.models",
    "BookTicker": "daemon.venues.binance.models",
    "Kline": "daemon.venues.binance.models",
    "DepthUpdate": "daemon.venues.binance.models",
    "ExecutionReport": "daemon.venues.binance.models",
    "AccountPosition": "daemon.venues.binance.models",
    "BalanceUpdate": "daemon.venues.binance.models",
    "ListStatus": "daemon.venues.binance.models",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'daemon' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from daemon.context import StrategyContext
    from daemon.hookspecs import hookimpl
    from daemon.orders import (
        Accepted,
        ListAccepted,
        OcoRequest,
        OrderRequest,
        OrderType,
        RejectCode,
        Rejection,
        Side,
        TimeInForce,
    )
    from daemon.venues.binance.models import (
        AccountPosition,
        AggTrade,
        BalanceUpdate,
        BookTicker,
        DepthUpdate,
        ExecutionReport,
        Kline,
        ListStatus,
        Trade,
    )
