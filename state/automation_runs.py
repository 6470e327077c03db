"""The audit trail of scheduled automation (dust, savings, transfers): one row per run.

Why a table of its own and not only journal entries: an operator asks "did the
dust job run last night, and what did it do?" and the scheduler asks "when did
this job last succeed?".  Both are a query over (job, started_at), which the
journal, keyed for idempotence, cannot answer cheaply.  Every run is also
journalled, so the one timeline of the account still shows it.

``status`` is ``ok``, ``error`` or ``dry-run`` (checked here and by SQLite).
``detail`` is JSON of whatever the job reports (amounts as Decimal strings);
keys that could carry credentials are removed at any depth before it is
written, as for order intents.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import msgspec

from daemon.errors import StateError
from state.codec import SECRET_KEYS, canonical_json, where_clause

OK, ERROR, DRY_RUN = "ok", "error", "dry-run"
STATUSES = (OK, ERROR, DRY_RUN)


class AutomationRunRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One finished run of one automation job; times are wall milliseconds."""

    id: int
    job: str
    started_at: int
    finished_at: int
    status: str
    detail: dict[str, Any]

    @property
    def duration_ms(self) -> int:
        return self.finished_at - self.started_at


def scrub(value: Any) -> Any:
    """``value`` with every mapping key that could name a secret removed, at any depth."""
    if isinstance(value, msgspec.Struct):
        value = msgspec.structs.asdict(value)
    if isinstance(value, dict):
        return {str(k): scrub(v) for k, v in value.items() if str(k).lower() not in SECRET_KEYS}
    if isinstance(value, (list, tuple)):
        return [scrub(v) for v in value]
    return value


def validate(job: str, started_at: int, finished_at: int, status: str) -> None:
    """Refuse a run the audit trail could not be trusted with."""
    if not job:
        raise StateError("automation run without a job name")
    if status not in STATUSES:
        raise StateError(f"automation run {job}: status must be one of "
                         f"{', '.join(STATUSES)}, not {status!r}")
    if int(finished_at) < int(started_at):
        raise StateError(f"automation run {job}: finished_at {finished_at} "
                         f"is before started_at {started_at}")


def insert(conn: sqlite3.Connection, *, job: str, started_at: int, finished_at: int,
           status: str, detail: dict[str, Any]) -> AutomationRunRecord:
    """Store one run (after ``validate``); returns it with its id."""
    clean = scrub(detail)
    text = canonical_json(clean)
    cursor = conn.execute(
        "INSERT INTO automation_runs (job, started_at, finished_at, status, detail) "
        "VALUES (?, ?, ?, ?, ?)", (job, int(started_at), int(finished_at), status, text))
    return AutomationRunRecord(id=cursor.lastrowid, job=job, started_at=int(started_at),
                               finished_at=int(finished_at), status=status,
                               detail=json.loads(text))


def query(conn: sqlite3.Connection, *, job: str | None = None, status: str | None = None,
          since_ms: int | None = None, until_ms: int | None = None,
          limit: int | None = None) -> list[AutomationRunRecord]:
    """Runs oldest first; start time bounded as [since, until); ``limit`` keeps the newest."""
    where, params = where_clause(("job = ?", job), ("status = ?", status),
                                 ("started_at >= ?", since_ms), ("started_at < ?", until_ms))
    inner = ("SELECT id, job, started_at, finished_at, status, detail FROM automation_runs"
             f"{where} ORDER BY started_at DESC, id DESC")
    if limit is not None:
        inner += " LIMIT ?"
        params.append(int(limit))
    rows = conn.execute(f"SELECT * FROM ({inner}) ORDER BY started_at, id", params).fetchall()
    return [AutomationRunRecord(id=r[0], job=r[1], started_at=r[2], finished_at=r[3],
                                status=r[4], detail=json.loads(r[5])) for r in rows]


def last_run(conn: sqlite3.Connection, job: str, status: str | None = None
             ) -> AutomationRunRecord | None:
    """The latest run of ``job`` (optionally with ``status``): "when did it last succeed?"."""
    runs = query(conn, job=job, status=status, limit=1)
    return runs[0] if runs else None
