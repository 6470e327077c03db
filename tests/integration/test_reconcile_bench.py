"""bench/reconcile.py stays runnable and honest: one JSON line, every fill recovered once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "reconcile.py"


def test_reconcile_bench_prints_one_json_line(tmp_path):
    done = subprocess.run([sys.executable, str(BENCH), "--open-orders", "40", "--fills", "2000",
                           "--dir", str(tmp_path)], capture_output=True, text=True, timeout=110)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert result["bench"] == "reconcile"
    assert result["open_orders"] == 40
    assert result["fills_recovered"] == 2000 and result["fills_stored"] == 2001
    assert result["strategy_calls"] == 2000           # each recovered fill told once
    assert result["idle_fills_recovered"] == 0       # a second run finds nothing new
    assert result["seconds"] > 0 and result["fills_per_s"] > 0
