"""Built-in risk limits: a ``check_order`` plugin configured by the ``[risk]`` table.

Why limits beyond the exchange's filters: the filters say what the exchange
will accept, not what this account should do.  These are the operator's
brakes, each off unless configured:

``kill_switch_file``     a path; while the file exists every new order is refused
                         (``tradingd kill-switch on|off|status`` manages it)
``max_order_notional``   quote value of one order (price * quantity, quoteOrderQty,
                         or the last price for MARKET and stop-market orders)
``max_open_orders``      open + in-flight orders of one strategy
``price_band_bps``       a limit price at most this many basis points from the last trade
``max_data_age_s``       the symbol's market data (last trade or book) at most this old
``max_daily_notional``   per strategy: fills since 00:00 UTC + open orders + this order

The keys are parsed by ``daemon.risk_settings.RiskSettings`` (shared with the
``kill-switch`` CLI).  Decimals are written as strings in the TOML (``max_order_notional = "5000"``).
A limit that needs data it does not have (no last price for the band, no
price for a MARKET order's notional) refuses the order: fail closed.  Checks
run cheapest first and the first refusal is returned.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from daemon.hookspecs import hookimpl
from daemon.orders import OrderRequest, RejectCode, Rejection
from daemon.risk_settings import RiskSettings

__all__ = ["RiskLimits", "RiskSettings"]

_BPS = Decimal(10_000)
_DAY_S = 86_400


def _show(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def _refuse(code: RejectCode, request: OrderRequest, reason: str, detail: dict[str, Any]) -> Rejection:
    return Rejection(code=code, reason=f"{code.value}: {reason}", symbol=request.symbol,
                     client_order_id=request.client_order_id or "",
                     detail={"limit": code.value.lower(),
                             **{k: _show(v) if isinstance(v, Decimal) else str(v) for k, v in detail.items()}})


def _order_notional(request: OrderRequest, last: Decimal | None) -> Decimal | None:
    """Quote value of an order: its limit price, else its trigger, else the last price."""
    if request.quote_order_qty is not None:
        return request.quote_order_qty
    price = request.price or request.stop_price or last
    if price is None or request.quantity is None:
        return None
    return price * request.quantity


def _open_notional(order: Any, last: Decimal | None) -> Decimal:
    """What an open order may still trade, priced like a new one."""
    price = order.price if order.price > 0 else order.stop_price if order.stop_price > 0 else last
    return (order.quantity - order.executed_qty) * (price or Decimal(0))


class _View:
    """One order's view of the strategy: each read made once, however many limits use it."""

    __slots__ = ("ctx", "_open", "_prices")

    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx
        self._open: list | None = None
        self._prices: dict[str, Decimal | None] = {}

    @property
    def name(self) -> str:
        return self.ctx.name

    def open_orders(self) -> list:
        if self._open is None:
            self._open = self.ctx.open_orders()
        return self._open

    def last_price(self, symbol: str) -> Decimal | None:
        if symbol not in self._prices:
            self._prices[symbol] = self.ctx.last_price(symbol)
        return self._prices[symbol]

    def market_age(self, symbol: str) -> float | None:
        return self.ctx.market_age(symbol)

    def in_flight_count(self) -> int:
        return self.ctx.in_flight_count()

    def fills(self, since_ms: int) -> list:
        return self.ctx.fills(since_ms=since_ms)


class RiskLimits:
    """The ``check_order`` plugin; register an instance (``pm.register(RiskLimits(...), "risk")``)."""

    def __init__(self, settings: RiskSettings, *, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self._clock = clock  # wall clock: the daily notional resets at 00:00 UTC
        self._checks = [check for key, check in (
            ("kill_switch_file", self._kill_switch), ("max_data_age_s", self._stale),
            ("price_band_bps", self._price_band), ("max_order_notional", self._order_notional),
            ("max_open_orders", self._open_orders), ("max_daily_notional", self._daily_notional),
        ) if getattr(settings, key) is not None]

    @classmethod
    def from_config(cls, table: Mapping[str, Any] | None, *, base_dir: Path | None = None) -> RiskLimits:
        return cls(RiskSettings.from_mapping(table, base_dir=base_dir))

    @hookimpl
    def check_order(self, ctx: Any, request: OrderRequest) -> Rejection | None:
        view = _View(ctx)
        for check in self._checks:
            refused = check(view, request)
            if refused is not None:
                return refused
        return None

    # ------------------------------------------------------------ the limits

    def _kill_switch(self, view: _View, request: OrderRequest) -> Rejection | None:
        path = self.settings.kill_switch_file
        if not path.exists():
            return None
        return _refuse(RejectCode.KILL_SWITCH, request,
                       f"kill switch {path} is on: every new order is refused", {"file": path})

    def _stale(self, view: _View, request: OrderRequest) -> Rejection | None:
        limit = self.settings.max_data_age_s
        age = view.market_age(request.symbol)
        if age is not None and age <= limit:
            return None
        seen = "no market data yet" if age is None else f"last market data {age:.1f} s old"
        return _refuse(RejectCode.STALE_MARKET_DATA, request,
                       f"{request.symbol}: {seen}, max_data_age_s is {limit:g}",
                       {"max_data_age_s": f"{limit:g}", "age_s": "none" if age is None else f"{age:.3f}"})

    def _price_band(self, view: _View, request: OrderRequest) -> Rejection | None:
        if request.price is None:
            return None  # MARKET and stop-market orders trade at the market, not at a chosen price
        band = self.settings.price_band_bps
        last = view.last_price(request.symbol)
        if last is None or last <= 0:
            return _refuse(RejectCode.PRICE_BAND, request,
                           f"no last trade price of {request.symbol} to check price {_show(request.price)} "
                           f"against the {_show(band)} bps band", {"price_band_bps": band})
        deviation = abs(request.price - last) / last * _BPS
        if deviation <= band:
            return None
        return _refuse(RejectCode.PRICE_BAND, request,
                       f"price {_show(request.price)} is {deviation:.1f} bps from the last trade "
                       f"{_show(last)}, beyond price_band_bps {_show(band)}",
                       {"price_band_bps": band, "price": request.price, "last_price": last,
                        "deviation_bps": deviation.quantize(Decimal("0.1"))})

    def _order_notional(self, view: _View, request: OrderRequest) -> Rejection | None:
        limit = self.settings.max_order_notional
        notional = _order_notional(request, view.last_price(request.symbol))
        if notional is None:
            return _refuse(RejectCode.MAX_ORDER_NOTIONAL, request,
                           f"cannot value the order without a last price of {request.symbol}",
                           {"max_order_notional": limit})
        if notional <= limit:
            return None
        return _refuse(RejectCode.MAX_ORDER_NOTIONAL, request,
                       f"order notional {_show(notional)} is above max_order_notional {_show(limit)}",
                       {"max_order_notional": limit, "notional": notional})

    def _open_orders(self, view: _View, request: OrderRequest) -> Rejection | None:
        limit = self.settings.max_open_orders
        current = len(view.open_orders()) + view.in_flight_count()
        if current + 1 <= limit:
            return None
        return _refuse(RejectCode.MAX_OPEN_ORDERS, request,
                       f"strategy {view.name} has {current} open orders (in flight included); "
                       f"max_open_orders is {limit}",
                       {"max_open_orders": limit, "open": current, "strategy": view.name})

    def _daily_notional(self, view: _View, request: OrderRequest) -> Rejection | None:
        limit = self.settings.max_daily_notional
        last = view.last_price(request.symbol)
        this = _order_notional(request, last)
        if this is None:
            return _refuse(RejectCode.MAX_DAILY_NOTIONAL, request,
                           f"cannot value the order without a last price of {request.symbol}",
                           {"max_daily_notional": limit})
        midnight_ms = int(self._clock() // _DAY_S) * _DAY_S * 1000  # POSIX days start at 00:00 UTC
        traded = sum([fill.quote_qty for fill in view.fills(since_ms=midnight_ms)], Decimal(0))
        pending = sum([_open_notional(order, view.last_price(order.symbol)) for order in view.open_orders()],
                      Decimal(0))
        total = traded + pending + this
        if total <= limit:
            return None
        return _refuse(RejectCode.MAX_DAILY_NOTIONAL, request,
                       f"strategy {view.name} traded {_show(traded)} today (UTC) with {_show(pending)} "
                       f"open; this order's {_show(this)} makes {_show(total)}, above max_daily_notional "
                       f"{_show(limit)}",
                       {"max_daily_notional": limit, "traded": traded, "open": pending, "order": this,
                        "strategy": view.name})

