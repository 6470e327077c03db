"""Replay: run one strategy over what really happened, as recorded in a state database's journal.

Why: when a strategy did something surprising, the journal holds the account's
real timeline (every user-data event as the exchange sent it, every intent,
acknowledgement, REST snapshot and recovered fill).  Feeding that timeline to
the strategy again, on a desk, shows which decisions it takes and why, and a
fix can be checked against the same timeline.

How, and what is simulated:

* journal entries are read oldest first from the recorded database (read-only;
  the live daemon may keep writing);
* each one is applied to a *working* store (a temporary SQLite file) exactly as
  the daemon applies it (user events, recorded intents and acks, REST orders and
  fills, balance snapshots), so ``ctx.open_orders()`` and ``ctx.balances()`` show
  what the daemon's store showed at that moment;
* the strategy hears the events the router would have delivered to it (its own
  orders' execution reports, updates and fills; account events), each hook
  awaited to the end before the next entry: no task scheduling, so two runs are
  identical;
* its orders go through the real gateway (filters, order rules, balances, rate
  budget on the journal's clock) to a simulated venue (``ReplayVenue``) that
  acknowledges every valid order as NEW and records it.  Nothing is matched:
  the recorded events are the market's answer, not the simulated orders'.
  Client order ids are numbered (``<strategy>-r000001``) instead of random;
* market data is not journalled; the prices of recorded fills feed the market
  cache (``ctx.last_price``) and the gateway's reference price.

The result (``ReplayReport``) lists the strategy's decisions (submits and
cancels, with the journal entry that triggered each and the outcome) and a
digest of them: equal digests, equal decisions.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import sqlite3
import tempfile
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from daemon.context import StrategyContext
from daemon.errors import DecodeError, StateError
from daemon.gateway import Gateway
from daemon.market import MarketCache
from daemon.plugins import load_strategies, make_plugin_manager
from daemon.replay_venue import ReplayVenue, decision_json
from daemon.venues.binance import models
from state import Store

log = logging.getLogger(__name__)

USER_EVENTS = frozenset({"executionReport", "outboundAccountPosition", "balanceUpdate",
                         "listStatus", "externalLockUpdate"})
_PAGE = 5000


@dataclass(frozen=True)
class Decision:
    """One thing the strategy did during the replay."""

    journal_id: int      # the entry whose delivery led to it (0: on_start)
    action: str          # "submit" | "cancel"
    detail: str          # canonical JSON of the request / the cancelled order
    outcome: str         # "accepted ..." | "rejected CODE" | "cancelled" | "not cancelled"


@dataclass
class ReplayReport:
    entries: int = 0
    delivered: int = 0
    decisions: list[Decision] = field(default_factory=list)

    @property
    def digest(self) -> str:
        text = "\n".join(f"{d.journal_id}|{d.action}|{d.detail}|{d.outcome}" for d in self.decisions)
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def read_journal(path: Path) -> Iterator[dict]:
    """Journal entries of the database at ``path``, oldest first, read-only and in pages."""
    if not Path(path).is_file():
        raise StateError(f"{path}: no such state database")
    try:
        conn = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise StateError(f"{path}: cannot open: {exc}") from exc
    try:
        after = 0
        while True:
            try:
                page = _page(conn, after)
            except sqlite3.DatabaseError as exc:
                raise StateError(f"{path}: not a readable state database: {exc}") from exc
            if not page:
                return
            yield from page
            after = page[-1]["id"]
    finally:
        conn.close()


def _page(conn: sqlite3.Connection, after: int) -> list[dict]:
    rows = conn.execute("SELECT id, recorded_at, source, kind, payload FROM journal WHERE id > ? "
                        "ORDER BY id LIMIT ?", (after, _PAGE)).fetchall()
    return [dict(zip(("id", "recorded_at", "source", "kind", "payload"), row)) for row in rows]


class _Inbox:
    """What the context would publish (a rejection): delivered right after the current hook."""

    def __init__(self) -> None:
        self.pending: deque[tuple[str, dict]] = deque()

    def publish_to(self, plugin_name: str, hook: str, **kwargs: Any) -> bool:
        self.pending.append((hook, kwargs))
        return True

    def publish(self, hook: str, **kwargs: Any) -> int:
        self.pending.append((hook, kwargs))
        return 1


class Replayer:
    """Drives one strategy over journal entries; see the module docstring."""

    def __init__(self, config: Any, strategy_name: str, exchange_info: models.ExchangeInfo,
                 workdir: Path) -> None:
        section = config.strategies.get(strategy_name)
        if section is None:
            raise StateError(f"no [strategies.{strategy_name}] in the config "
                             f"(known: {', '.join(config.strategies) or 'none'})")
        only = replace(config, strategies={strategy_name: replace(section, enabled=True)})
        self.name = strategy_name
        self.strategy = load_strategies(make_plugin_manager(), only)[strategy_name]
        self.store = Store.open(workdir / "replay.sqlite", synchronous="NORMAL")
        self.market = MarketCache(clock=lambda: self._now_ms / 1000)
        self._now_ms = 0
        self._entry_id = 0
        self.report = ReplayReport()
        self.venue = ReplayVenue(clock_ms=lambda: self._now_ms, on_decision=self._decided)
        self.gateway = Gateway(self.venue, self.store, exchange_info, balances=self.store.balances,
                               reference_price=self.market.last_price,
                               clock=lambda: self._now_ms / 1000, resolve_delays=())
        self._inbox = _Inbox()
        self.ctx = StrategyContext(strategy_name, gateway=self.venue.wrap(self.gateway, strategy_name),
                                   store=self.store, market=self.market,
                                   params=self.strategy.params, dispatcher=self._inbox)

    def close(self) -> None:
        self.store.close()

    def _decided(self, action: str, detail: dict, outcome: str) -> None:
        self.report.decisions.append(Decision(self._entry_id, action, decision_json(detail), outcome))

    async def run(self, entries) -> ReplayReport:
        await self._deliver("on_start", {})
        for entry in entries:
            self.report.entries += 1
            self._entry_id = entry["id"]
            self._now_ms = max(self._now_ms, int(entry["recorded_at"]))
            for hook, kwargs in self._apply(entry):
                await self._deliver(hook, kwargs)
        await self._deliver("on_stop", {})
        return self.report

    # ------------------------------------------------------------ applying

    def _apply(self, entry: dict) -> list[tuple[str, dict]]:
        """Apply one entry to the working store; the hook calls the strategy should get."""
        kind, payload = entry["kind"], entry["payload"]
        if kind in USER_EVENTS:
            try:
                event = models.decode_user_event(payload.encode())
            except DecodeError as exc:
                log.warning("replay.undecodable id=%d kind=%s error=%s", entry["id"], kind, exc)
                return []
            return self._apply_event(event)
        record = json.loads(payload)
        if kind == "intent":
            self.store.record_intent(record["client_order_id"], record["strategy"],
                                     record["symbol"], record["request"])
        elif kind == "ack":
            self.store.upsert_rest_order(_rest_view(record["order"]), source="ack")
        elif kind == "order.rest":
            self.store.upsert_rest_order(_rest_view(record["order"]), source="reconcile")
        elif kind == "fill.rest":
            fill = self.store.record_rest_fill(_rest_view(record["trade"]), source="reconcile")
            if fill is not None:
                self.market.update_price(fill.symbol, fill.price, fill.trade_time)
                if fill.strategy == self.name:
                    return [("on_fill", {"fill": fill})]
        elif kind == "balances.snapshot":
            self.store.replace_balances([_rest_view(b) for b in record["balances"]],
                                        record["update_time"], source="reconcile")
        return []

    def _apply_event(self, event) -> list[tuple[str, dict]]:
        if isinstance(event, models.ExecutionReport):
            applied = self.store.apply_execution_report(event, source="replay")
            if applied.duplicate:
                return []
            if event.execution_type == "TRADE":
                self.market.update_price(event.symbol, event.last_price, event.transaction_time)
            owner = applied.order.strategy if applied.order is not None else \
                self.store.strategy_for(event.orig_client_order_id or event.client_order_id)
            if owner != self.name:
                return []
            calls = [("on_execution_report", {"report": event})]
            if applied.order is not None:
                calls.append(("on_order_update", {"order": applied.order}))
            if applied.fill is not None:
                calls.append(("on_fill", {"fill": applied.fill}))
            return calls
        if isinstance(event, models.AccountPosition):
            applied = self.store.apply_account_position(event, source="replay")
            return [] if applied.duplicate else [("on_account_position", {"position": event})]
        if isinstance(event, models.BalanceUpdate):
            applied = self.store.apply_balance_update(event, source="replay")
            return [] if applied.duplicate else [("on_balance_update", {"update": event})]
        if isinstance(event, models.ListStatus):
            applied = self.store.apply_list_status(event, source="replay")
            return [] if applied.duplicate else [("on_list_status", {"status": event})]
        if isinstance(event, models.ExternalLockUpdate):
            self.store.apply_external_lock_update(event, source="replay")
        return []

    # ------------------------------------------------------------ delivering

    async def _deliver(self, hook: str, kwargs: dict) -> None:
        queue: deque[tuple[str, dict]] = deque([(hook, kwargs)])
        while queue:
            name, args = queue.popleft()
            await self._call(name, args)
            queue.extend(self._inbox.pending)
            self._inbox.pending.clear()

    async def _call(self, hook: str, kwargs: dict) -> None:
        method = getattr(self.strategy, hook, None)
        if method is None:
            return
        wanted = inspect.signature(method).parameters
        args = {"ctx": self.ctx, **kwargs}
        result = method(**{k: v for k, v in args.items() if k in wanted})
        if inspect.isawaitable(result):
            await result
        self.report.delivered += 1


def _rest_view(fields: dict) -> SimpleNamespace:
    """A journalled REST record (attribute names, decimals as text) for the duck-typed store."""
    return SimpleNamespace(**fields)


async def replay_journal(journal: Path, config: Any, strategy_name: str,
                         exchange_info: models.ExchangeInfo) -> ReplayReport:
    """Replay ``journal`` (a state database) through ``strategy_name`` of ``config``."""
    with tempfile.TemporaryDirectory(prefix="tradingd-replay-") as workdir:
        replayer = Replayer(config, strategy_name, exchange_info, Path(workdir))
        try:
            report = await replayer.run(read_journal(journal))
        finally:
            replayer.close()
    log.info("replay.done journal=%s strategy=%s entries=%d delivered=%d decisions=%d digest=%s",
             journal, strategy_name, report.entries, report.delivered, len(report.decisions),
             report.digest)
    return report
