"""CLI views of the state database: ``orders``, ``fills``, ``events [--follow]``, ``balances``.

Why a module of its own: these commands only read the store, share one set of
filters (``--symbol``, ``--since``, ``--until``, ``--limit``) and one way of
showing times, and would crowd ``daemon/cli.py``.  The integrator attaches
them with ``for command in STATE_COMMANDS: main.add_command(command)``.

Times: ``--since``/``--until`` take an ISO date or date-time (``2024-05-01``,
``2024-05-01T12:30``, with an optional offset; without one it is UTC) or a
span back from now (``90s``, ``30m``, ``1h``, ``2d``, ``1w``).  The range is
half-open, [since, until).  Times are shown in UTC.  Orders are filtered by
creation time, fills by trade time, balances by update time (exchange clock),
journal entries by the time we recorded them (our clock).

``events --follow`` polls the database (it may be written by the running
daemon: WAL lets this reader in) for entries newer than the last one shown,
every ``--poll-interval`` seconds, until Ctrl-C.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import click

from daemon.cli_common import config_option
from daemon.errors import TradingdError
from daemon.tables import render_table

DEFAULT_LIMIT = 50
_SPAN = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_SPAN_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


# ----------------------------------------------------------------- times


def parse_when(text: str, now_ms: int) -> int:
    """``--since``/``--until`` text -> epoch milliseconds (see the module docstring)."""
    span = _SPAN.match(text)
    if span:
        delta = timedelta(**{_SPAN_UNITS[span.group(2)]: int(span.group(1))})
        return now_ms - int(delta.total_seconds() * 1000)
    cleaned = text.strip()
    if cleaned.endswith(("Z", "z")):
        cleaned = cleaned[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(cleaned)
    except ValueError:
        raise ValueError(f"{text!r} is neither an ISO date/time (2024-05-01T12:30) "
                         "nor a span back from now (30m, 1h, 2d)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp() * 1000)


def format_ms(ms: int | None) -> str:
    """Epoch milliseconds as ``YYYY-MM-DD HH:MM:SS.mmm`` (UTC); empty for none."""
    if not ms:
        return ""
    moment = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{ms % 1000:03d}"


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


class _When(click.ParamType):
    """A click type so a bad ``--since`` is a usage error naming the option."""

    name = "WHEN"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        try:
            return parse_when(str(value), _wall_ms())
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


WHEN = _When()


def _filters(func: Callable) -> Callable:
    """The options every view shares (applied bottom-up, so they list in this order)."""
    for option in reversed((
        config_option,
        click.option("--symbol", default=None, help="Only this symbol (e.g. BTCUSDT)."),
        click.option("--since", type=WHEN, default=None,
                     help="From this time on: ISO date/time (UTC unless an offset is given) "
                          "or a span back from now (30m, 1h, 2d)."),
        click.option("--until", type=WHEN, default=None, help="Before this time (same forms)."),
        click.option("--limit", type=click.IntRange(min=1), default=DEFAULT_LIMIT,
                     show_default=True, help="Show at most the newest N rows."),
    )):
        func = option(func)
    return func


# ----------------------------------------------------------------- store


def _fail(exc: Exception) -> None:
    click.echo(f"error: {exc}", err=True)
    raise SystemExit(2)


def _open_store(config_path: Path):
    """Open the configured state database, refusing to create one that is not there."""
    from daemon.config import load_config
    from state import Store

    try:
        config = load_config(config_path)
        database = Path(config.daemon.database)
        if not database.exists():
            raise TradingdError(f"no state database at {database} (has the daemon run?)")
        return Store.open(database)
    except TradingdError as exc:
        _fail(exc)


def _show(title: str, headers: tuple[str, ...], rows: list[tuple], limit: int) -> None:
    """Print the table; ``rows`` holds up to ``limit + 1`` rows, the extra one meaning "more"."""
    shown = rows[-limit:] if len(rows) > limit else rows
    click.echo(render_table(title, headers, shown), nl=False)
    if len(rows) > limit:
        click.echo(f"(newest {limit} shown; --limit N for more)")


# ----------------------------------------------------------------- views


@click.command("orders")
@_filters
@click.option("--open", "open_only", is_flag=True, help="Only orders still open.")
@click.option("--strategy", default=None, help="Only orders of this strategy.")
def orders_command(config_path: Path, symbol: str | None, since: int | None,
                   until: int | None, limit: int, open_only: bool, strategy: str | None) -> None:
    """Orders from the state database, oldest first (filtered by creation time)."""
    store = _open_store(config_path)
    try:
        records = store.orders(symbol=symbol, open_only=open_only, limit=limit + 1,
                               strategy=strategy, since_ms=since, until_ms=until)
    except TradingdError as exc:
        _fail(exc)
    finally:
        store.close()
    rows = [(format_ms(o.created_time), o.symbol, o.order_id, o.side, o.type, o.price,
             o.quantity, o.executed_qty, o.status, o.strategy or "-", o.client_order_id)
            for o in records]
    _show("Orders", ("created (UTC)", "symbol", "order id", "side", "type", "price", "qty",
                     "filled", "status", "strategy", "client id"), rows, limit)


@click.command("fills")
@_filters
def fills_command(config_path: Path, symbol: str | None, since: int | None,
                  until: int | None, limit: int) -> None:
    """Fills (our trades) from the state database, oldest first."""
    store = _open_store(config_path)
    try:
        records = store.fills(symbol=symbol, since_ms=since, until_ms=until, limit=limit + 1)
    except TradingdError as exc:
        _fail(exc)
    finally:
        store.close()
    rows = [(format_ms(f.trade_time), f.symbol, f.trade_id, f.order_id, f.side, f.price,
             f.quantity, f.quote_qty, f.commission, f.commission_asset or "-",
             "maker" if f.is_maker else "taker", f.strategy or "-") for f in records]
    _show("Fills", ("time (UTC)", "symbol", "trade id", "order id", "side", "price", "qty",
                    "quote", "fee", "fee asset", "role", "strategy"), rows, limit)


@click.command("balances")
@_filters
@click.option("--asset", default=None, help="Only this asset (same as --symbol).")
@click.option("--all", "show_all", is_flag=True, help="Include assets whose balance is zero.")
def balances_command(config_path: Path, symbol: str | None, since: int | None,
                     until: int | None, limit: int, asset: str | None, show_all: bool) -> None:
    """Balances per asset (free, locked), with when and by what each was last set."""
    query = dict(asset=asset or symbol, nonzero=not show_all, since_ms=since, until_ms=until)
    store = _open_store(config_path)
    try:
        more = len(store.balance_rows(**query, limit=limit + 1)) > limit
        records = store.balance_rows(**query, limit=limit)
    except TradingdError as exc:
        _fail(exc)
    finally:
        store.close()
    rows = [(b.asset, b.free, b.locked, b.total, format_ms(b.update_time), b.source)
            for b in records]
    click.echo(render_table("Balances", ("asset", "free", "locked", "total", "updated (UTC)",
                                         "source"), rows), nl=False)
    if more:
        click.echo(f"(the {limit} most recently updated shown; --limit N for more)")


EVENT_HEADERS = ("id", "recorded (UTC)", "source", "kind", "symbol", "payload")


def summarize(payload: str, width: int | None) -> str:
    """The payload on one line, unwrapped from the WebSocket-API envelope, cut to ``width``."""
    try:
        value = json.loads(payload)
    except ValueError:
        text = payload.replace("\n", " ")
    else:
        if isinstance(value, dict) and isinstance(value.get("event"), dict):
            value = value["event"]
        text = json.dumps(value, separators=(",", ":"))
    if width is not None and len(text) > width:
        text = text[:max(width - 3, 1)] + "..."
    return text


def _event_row(entry: dict, width: int | None) -> tuple:
    return (entry["id"], format_ms(entry["recorded_at"]), entry["source"], entry["kind"],
            entry["symbol"] or "-", summarize(entry["payload"], width))


def follow_journal(store, *, after_id: int, emit: Callable[[dict], None],
                   symbol: str | None = None, kind: str | None = None,
                   poll_interval: float = 0.5, max_polls: int | None = None,
                   sleep: Callable[[float], None] = time.sleep) -> int:
    """Emit journal entries newer than ``after_id`` as they appear; returns the last id seen.

    Polls every ``poll_interval`` seconds, ``max_polls`` times (None: until
    interrupted).  No ``limit`` on a poll: after a burst, every entry still
    comes out once, in order.
    """
    last = after_id
    polls = 0
    while max_polls is None or polls < max_polls:
        sleep(poll_interval)
        polls += 1
        for entry in store.journal(kind=kind, symbol=symbol, after_id=last):
            emit(entry)
            last = entry["id"]
    return last


_FOLLOW_WIDTHS = (8, 23, 10, 24, 10)


def follow_line(row: tuple) -> str:
    """One followed entry on one line, in fixed-width columns (a table cannot stream)."""
    cells = [str(c).ljust(w) for c, w in zip(row[:-1], _FOLLOW_WIDTHS)]
    return "  ".join(cells + [str(row[-1])]).rstrip()


@click.command("events")
@_filters
@click.option("--kind", default=None,
              help="Only this kind (executionReport, listStatus, intent, rejection, ...).")
@click.option("--follow", is_flag=True, help="Keep printing new entries until Ctrl-C.")
@click.option("--poll-interval", type=click.FloatRange(min=0.01), default=0.5,
              show_default=True, help="Seconds between polls with --follow.")
@click.option("--max-polls", type=click.IntRange(min=1), default=None, hidden=True,
              help="Stop --follow after this many polls (tests, scripts).")
@click.option("--payload", "full_payload", is_flag=True,
              help="Show whole payloads instead of the first 100 characters.")
def events_command(config_path: Path, symbol: str | None, since: int | None, until: int | None,
                   limit: int, kind: str | None, follow: bool, poll_interval: float,
                   max_polls: int | None, full_payload: bool) -> None:
    """The journal: every exchange event and every decision, oldest first."""
    if follow and until is not None:
        raise click.UsageError("--follow shows new entries; it cannot be combined with --until")
    width = None if full_payload else 100
    store = _open_store(config_path)
    try:
        # Read the newest id first: whatever is written after it is either in
        # the table below or comes out of the tail, never neither.
        ceiling = store.last_journal_id()
        entries = store.journal(limit=limit + 1, kind=kind, symbol=symbol,
                                since_ms=since, until_ms=until)
        _show("Events", EVENT_HEADERS, [_event_row(e, width) for e in entries], limit)
        if not follow:
            return
        start = max([ceiling] + [e["id"] for e in entries])
        click.echo("(following; Ctrl-C stops)")
        try:
            follow_journal(store, after_id=start, kind=kind, symbol=symbol,
                           poll_interval=poll_interval, max_polls=max_polls,
                           emit=lambda e: click.echo(follow_line(_event_row(e, width))))
        except KeyboardInterrupt:
            click.echo("")
    except TradingdError as exc:
        _fail(exc)
    finally:
        store.close()


STATE_COMMANDS = (orders_command, fills_command, events_command, balances_command)
