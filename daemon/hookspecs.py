"""Every hook a tradingd plugin or strategy may implement, grouped by phase.

Why a hook list at all: strategies, risk checks and automation are pluggy
plugins, and pluggy validates each implementation against the specification
here (an implementation may accept a *subset* of the arguments, never an
argument the spec does not name).  So this module is the contract between the
daemon and every plugin; change it with care and keep each docstring true.

Two kinds of hooks live here:

* **Event hooks** (``EVENT_HOOKS``): delivered one plugin at a time by
  ``daemon.dispatch.Dispatcher``, never with a bare ``pm.hook.x()`` call, so
  that one raising or slow plugin cannot stop or delay the others.  Each takes
  ``ctx``, the receiving plugin's own ``StrategyContext`` (``None`` for a
  plugin that has none).  Implementations may be plain or ``async def``;
  their return value is ignored.
* **Gating, observation and registration hooks**: called through the plugin
  manager by the module that owns the phase (gateway, app, cli, state).

Docstring template (after pytest's ``hookspec.py``): what the hook is for,
when it is called, each argument, what the return value means.
"""

from __future__ import annotations

import pluggy

PROJECT_NAME = "tradingd"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

# --------------------------------------------------------------------- lifecycle


@hookspec
def on_start(ctx):
    """The strategy is about to receive events.

    Called once per plugin, before any other event hook, after the store is
    open and the account has been reconciled with the exchange.  Cancel or
    adopt orders left from a previous run here.

    :param ctx: the plugin's ``StrategyContext``.
    :return: ignored.
    """


@hookspec
def on_stop(ctx):
    """The daemon is shutting down; this is the last event hook the plugin gets.

    Called once per plugin while the streams still deliver, so orders
    cancelled here are recorded before the daemon exits.  The daemon waits a
    bounded time for it.

    :param ctx: the plugin's ``StrategyContext``.
    :return: ignored.
    """


# ------------------------------------------------------------------ market data
# Market events may be conflated: a plugin that lags loses its *oldest*
# undelivered market events (counted in ``Dispatcher.stats()``), never an
# order or account event.


@hookspec
def on_trade(ctx, trade):
    """One public trade (``<symbol>@trade`` stream).

    :param ctx: the plugin's ``StrategyContext``.
    :param trade: ``daemon.venues.binance.models.Trade``.
    :return: ignored.
    """


@hookspec
def on_agg_trade(ctx, trade):
    """One aggregated trade (``<symbol>@aggTrade`` stream).

    :param ctx: the plugin's ``StrategyContext``.
    :param trade: ``daemon.venues.binance.models.AggTrade``.
    :return: ignored.
    """


@hookspec
def on_book_ticker(ctx, ticker):
    """A change of the best bid or ask (``<symbol>@bookTicker`` stream).

    The shared ``MarketCache`` already holds this ticker when the hook runs,
    so ``ctx.best_bid_ask(symbol)`` agrees with it.

    :param ctx: the plugin's ``StrategyContext``.
    :param ticker: ``daemon.venues.binance.models.BookTicker``.
    :return: ignored.
    """


@hookspec
def on_kline(ctx, kline):
    """A candlestick update (``<symbol>@kline_<interval>``); ``kline.bar.closed`` marks the final one.

    :param ctx: the plugin's ``StrategyContext``.
    :param kline: ``daemon.venues.binance.models.Kline``.
    :return: ignored.
    """


@hookspec
def on_depth(ctx, depth):
    """An order-book change: a diff (``@depth``) or a partial snapshot (``@depth<N>``).

    :param ctx: the plugin's ``StrategyContext``.
    :param depth: ``DepthUpdate`` (diff) or ``PartialDepth`` (top-N snapshot).
    :return: ignored.
    """


# ------------------------------------------------------------------- account
# Order and account events are never dropped.  Each arrives only after the
# store has applied it, so the database never lags what a strategy saw.


@hookspec
def on_execution_report(ctx, report):
    """The raw exchange update of one of *this strategy's* orders.

    Routed only to the strategy that placed the order.  Most strategies prefer
    the digested ``on_order_update`` / ``on_fill``.

    :param ctx: the plugin's ``StrategyContext``.
    :param report: ``daemon.venues.binance.models.ExecutionReport``.
    :return: ignored.
    """


@hookspec
def on_list_status(ctx, status):
    """An order-list (OCO) status change.

    :param ctx: the plugin's ``StrategyContext``.
    :param status: ``daemon.venues.binance.models.ListStatus``.
    :return: ignored.
    """


@hookspec
def on_account_position(ctx, position):
    """Authoritative free/locked amounts of the assets an account change touched.

    Broadcast to every plugin implementing it.

    :param ctx: the plugin's ``StrategyContext``.
    :param position: ``daemon.venues.binance.models.AccountPosition``.
    :return: ignored.
    """


@hookspec
def on_balance_update(ctx, update):
    """A balance delta from outside trading (deposit, withdrawal, transfer, dust, savings).

    :param ctx: the plugin's ``StrategyContext``.
    :param update: ``daemon.venues.binance.models.BalanceUpdate``.
    :return: ignored.
    """


@hookspec
def on_order_update(ctx, order):
    """The stored state of one of this strategy's orders changed.

    Routed only to the owning strategy, after the store applied the change.

    :param ctx: the plugin's ``StrategyContext``.
    :param order: ``state.OrderRecord`` (status, filled quantity, prices as Decimal).
    :return: ignored.
    """


@hookspec
def on_fill(ctx, fill):
    """One execution (trade) of one of this strategy's orders.

    Delivered exactly once per fill: duplicates stop at the store.

    :param ctx: the plugin's ``StrategyContext``.
    :param fill: ``state.FillRecord`` (price, quantity, commission as Decimal).
    :return: ignored.
    """


@hookspec
def on_order_rejected(ctx, rejection):
    """An order of this strategy was refused by the gateway or the exchange.

    Delivered in addition to the ``Rejection`` that ``ctx.submit`` returned,
    so code that reacts to refusals can live in one place.

    :param ctx: the plugin's ``StrategyContext``.
    :param rejection: ``daemon.orders.Rejection`` (``code``, ``reason``, ``detail``).
    :return: ignored.
    """


# --------------------------------------------------------------------- gating


@hookspec
def check_order(ctx, request):
    """Veto an order before the gateway sends it (risk limits, kill switch).

    Called by the gateway after the exchange-filter checks, for every order;
    all results are collected.  An implementation that raises rejects the
    order (fail closed).

    :param ctx: the submitting strategy's ``StrategyContext``.
    :param request: the ``daemon.orders.OrderRequest``.
    :return: a ``daemon.orders.Rejection`` to refuse the order, or ``None`` to allow it.
    """


# ---------------------------------------------------------------- observation


@hookspec
def track_event(kind, payload):
    """Observe something the daemon did (metrics, audit, alerting).

    Called after the fact with plain data; it cannot change what happened.
    Implementations must be quick: they run on the caller's task.

    :param kind: an event-style name such as ``"order.rejected"`` or ``"stream.reconnected"``.
    :param payload: a ``dict`` of plain values (str, int, Decimal); never secrets.
    :return: ignored.
    """


# ---------------------------------------------------------------- registration


@hookspec
def register_jobs(scheduler, config):
    """Add scheduled jobs (dust conversion, savings sweeps, transfers).

    Called once at start-up, after the config is loaded and before the
    scheduler starts.

    :param scheduler: the ``daemon.scheduler`` instance to add jobs to.
    :param config: the loaded ``daemon.config.Config``.
    :return: ignored.
    """


@hookspec
def register_commands(cli):
    """Add subcommands to the ``tradingd`` command line.

    Called once when the CLI is built.

    :param cli: the root ``click.Group``; call ``cli.add_command(...)``.
    :return: ignored.
    """


@hookspec
def register_migrations(migrations):
    """Add database migrations a plugin's own tables need.

    Called once when the store opens, before it migrates.

    :param migrations: the ``state`` migrations registry to add steps to.
    :return: ignored.
    """


# ------------------------------------------------------------- machine-readable

#: Hooks whose events may be conflated when a plugin lags.
MARKET_HOOKS: tuple[str, ...] = ("on_trade", "on_agg_trade", "on_book_ticker", "on_kline", "on_depth")

#: Hooks whose events are never dropped (order, account and lifecycle events).
ACCOUNT_HOOKS: tuple[str, ...] = (
    "on_execution_report",
    "on_list_status",
    "on_account_position",
    "on_balance_update",
    "on_order_update",
    "on_fill",
    "on_order_rejected",
)

LIFECYCLE_HOOKS: tuple[str, ...] = ("on_start", "on_stop")

#: Every hook the dispatcher delivers, one plugin at a time.
EVENT_HOOKS: tuple[str, ...] = LIFECYCLE_HOOKS + MARKET_HOOKS + ACCOUNT_HOOKS

#: Hooks called through the plugin manager by their owning module.
GATING_HOOKS: tuple[str, ...] = ("check_order",)
OBSERVATION_HOOKS: tuple[str, ...] = ("track_event",)
REGISTRATION_HOOKS: tuple[str, ...] = ("register_jobs", "register_commands", "register_migrations")
