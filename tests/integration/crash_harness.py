"""The crash test's machinery: processes, the daemon's config, and the two views compared.

The simulator and the daemon run as separate processes (``crash_sim_main.py``,
``tradingd run``), like in production, so a SIGKILL of the daemon is a real
one: no ``finally``, no flush, the SQLite file left as the kernel has it.

The two views are read independently of the code under test: the database
with plain SQL on a read-only connection, the exchange over its REST API (and
the admin route that lists every order of the account).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import httpx
import trio

from daemon.credentials import Credentials
from daemon.venues.binance.rest import BinanceRest
from sim.config import credentials_from_seed

HERE = Path(__file__).resolve().parent
SYMBOL = "BTCUSDT"


def tradingd_command() -> list[str]:
    script = Path(sys.executable).with_name("tradingd")
    return [str(script)] if script.exists() else [sys.executable, "-m", "daemon.cli"]


def write_config(path: Path, database: Path, rest_url: str) -> None:
    stream_url = rest_url.replace("http://", "ws://")
    path.write_text(f"""
[daemon]
database = "{database}"
log_level = "INFO"

[venue]
kind = "binance"
rest_url = "{rest_url}"
stream_url = "{stream_url}"
ws_api_url = "{stream_url}/ws-api/v3"
api_key_env = "CRASH_TEST_API_KEY"
api_secret_env = "CRASH_TEST_API_SECRET"

[strategies.burst]
kind = "crash_burst_strategy:BurstStrategy"
symbol = "{SYMBOL}"
""")


class Sim:
    """The simulator process and its admin routes."""

    def __init__(self, process: trio.Process, rest_url: str, seed: int) -> None:
        self.process = process
        self.rest_url = rest_url
        key, secret = credentials_from_seed(seed)
        self.credentials = Credentials(key, secret)
        # The simulator's server closes idle keep-alive connections after 5 s; a request
        # sent on one at that instant is lost ("Server disconnected without sending a
        # response").  The test idles for seconds between calls, so it never reuses a
        # connection older than 1 s.
        self.admin = httpx.AsyncClient(base_url=rest_url, timeout=10,
                                       limits=httpx.Limits(keepalive_expiry=1.0))
        self.rest = BinanceRest(rest_url, self.credentials, transport=httpx.AsyncHTTPTransport(
            limits=httpx.Limits(keepalive_expiry=1.0)))

    async def post(self, path: str, **params) -> dict:
        answer = await self.admin.post(path, json=params)
        answer.raise_for_status()
        return answer.json()

    async def fault(self, name: str, **params) -> None:
        await self.post(f"/_sim/faults/{name}", **params)

    async def all_orders(self) -> list[dict]:
        answer = await self.admin.get("/_sim/orders")
        answer.raise_for_status()
        return answer.json()

    async def aclose(self) -> None:
        await self.admin.aclose()
        await self.rest.aclose()


async def start_sim(seed: int, log_path: Path) -> Sim:
    log = log_path.open("wb")
    out_path = log_path.with_suffix(".url")
    out = out_path.open("wb")
    process = await trio.lowlevel.open_process(
        [sys.executable, str(HERE / "crash_sim_main.py"), str(seed)], stdout=out, stderr=log)
    log.close()
    out.close()
    with trio.fail_after(30):
        while not out_path.read_text().strip():
            if process.returncode is not None:
                raise RuntimeError(f"simulator exited: {log_path.read_text()[-2000:]}")
            await trio.sleep(0.05)
    sim = Sim(process, out_path.read_text().strip(), seed)
    await sim.rest.exchange_info()  # the client's rate governor adopts the simulator's limits
    return sim


@dataclass
class DaemonRun:
    process: trio.Process
    log_path: Path
    crash_at: str | None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    @property
    def planned_kill(self) -> bool:
        return "crash_point.kill" in self.log()


async def start_daemon(config: Path, log_path: Path, sim: Sim, crash_at: str | None) -> DaemonRun:
    env = dict(os.environ)
    env.pop("TRADINGD_CRASH_AT", None)
    if crash_at:
        env["TRADINGD_CRASH_AT"] = crash_at
    env["CRASH_TEST_API_KEY"] = sim.credentials.api_key
    env["CRASH_TEST_API_SECRET"] = sim.credentials.api_secret
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), env.get("PYTHONPATH")]))
    with log_path.open("wb") as log:
        process = await trio.lowlevel.open_process(
            [*tradingd_command(), "run", "--config", str(config)], stdout=log,
            stderr=subprocess.STDOUT, env=env)
    return DaemonRun(process, log_path, crash_at)


async def wait_ready_or_dead(run: DaemonRun, timeout_s: float) -> bool:
    """True once the daemon logged ``daemon.ready``; False if it died first."""
    with trio.fail_after(timeout_s):
        while True:
            if run.process.returncode is not None:
                return False
            if "daemon.ready" in run.log():
                return True
            await trio.sleep(0.05)


async def kill(run: DaemonRun) -> None:
    if run.process.returncode is None:
        run.process.send_signal(signal.SIGKILL)
    await run.process.wait()


# ------------------------------------------------------------------ the two views


def _dec(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def database_view(path: Path) -> dict:
    """Orders, fills, balances and intents as the daemon's database has them (read-only SQL)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        orders = {(s, i): (c, st, _dec(e), _dec(q)) for s, i, c, st, e, q in conn.execute(
            "SELECT symbol, order_id, client_order_id, status, executed_qty, cum_quote_qty FROM orders")}
        fills = {(s, t): (o, _dec(p), _dec(q), _dec(c), a) for s, t, o, p, q, c, a in conn.execute(
            "SELECT symbol, trade_id, order_id, price, quantity, commission, commission_asset FROM fills")}
        balances = {a: (_dec(f), _dec(lk)) for a, f, lk in conn.execute(
            "SELECT asset, free, locked FROM balances")}
        intents = {c: (st, oid) for c, st, oid in conn.execute(
            "SELECT client_order_id, state, order_id FROM intents")}
    finally:
        conn.close()
    balances = {a: fl for a, fl in balances.items() if fl[0] or fl[1]}
    return {"orders": orders, "fills": fills, "balances": balances, "intents": intents}


async def exchange_view(sim: Sim) -> dict:
    """The same, from the simulator: every order of the account, every trade, the balances."""
    orders = {(o["symbol"], o["orderId"]): (o["clientOrderId"], o["status"], Decimal(o["executedQty"]),
                                            Decimal(o["cummulativeQuoteQty"]))
              for o in await sim.all_orders()}
    fills, from_id = {}, 0
    while True:
        page = await sim.rest.my_trades(SYMBOL, from_id=from_id, limit=1000)
        for t in page:
            fills[(t.symbol, t.id)] = (t.order_id, t.price, t.qty, t.commission, t.commission_asset)
        if len(page) < 1000:
            break
        from_id = max(t.id for t in page) + 1
    account = await sim.rest.account()
    balances = {b.asset: (b.free, b.locked) for b in account.balances if b.free or b.locked}
    return {"orders": orders, "fills": fills, "balances": balances}


def differences(db: dict, ex: dict) -> list[str]:
    """Human-readable differences; empty when the database equals the exchange."""
    found = []
    for name in ("orders", "fills", "balances"):
        ours, theirs = db[name], ex[name]
        for key in sorted(set(ours) | set(theirs), key=str):
            if ours.get(key) != theirs.get(key):
                found.append(f"{name} {key}: db={ours.get(key)} exchange={theirs.get(key)}")
    client_ids = [cid for cid, _, _, _ in ex["orders"].values()]
    duplicates = {cid for cid in client_ids if client_ids.count(cid) > 1}
    found += [f"client order id placed twice: {cid}" for cid in sorted(duplicates)]
    placed = {cid: key for key, (cid, _, _, _) in ex["orders"].items()}
    for cid, (state, order_id) in db["intents"].items():
        if state in ("pending", "unknown"):
            found.append(f"intent {cid} left {state}")
        elif state == "acked" and (cid not in placed or placed[cid][1] != order_id):
            found.append(f"intent {cid} acked as order {order_id}, exchange has {placed.get(cid)}")
        elif state == "error" and cid in placed:
            found.append(f"intent {cid} marked error but the exchange has order {placed[cid]}")
    for cid in placed:
        if cid not in db["intents"]:
            found.append(f"order {placed[cid]} ({cid}) on the exchange without an intent")
    return found
