"""bench/state.py runs briefly, checks its own store, and prints one JSON line."""

import importlib.util
import json
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "state.py"


def _load_bench():
    spec = importlib.util.spec_from_file_location("bench_state", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_prints_one_json_line_of_figures(capsys, tmp_path):
    bench = _load_bench()
    bench.main(["--synchronous", "normal", "--seconds", "0.2", "--dir", str(tmp_path)])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    figures = json.loads(lines[0])
    assert figures["bench"] == "state" and list(figures["events_per_s"]) == ["NORMAL"]
    assert figures["events"]["NORMAL"] > 0 and figures["duplicates_per_s"]["NORMAL"] > 0
    assert list(tmp_path.iterdir()) == []  # the temporary database is gone


def test_bench_events_are_the_five_of_one_order():
    bench = _load_bench()
    events = [event for event, _ in bench.order_events(3, 1_000)]
    kinds = [(type(e).__name__, getattr(e, "execution_type", None)) for e in events]
    assert kinds == [("ExecutionReport", "NEW"), ("ExecutionReport", "TRADE"),
                     ("AccountPosition", None), ("ExecutionReport", "TRADE"),
                     ("AccountPosition", None)]
    assert events[3].status == "FILLED" and events[3].cum_qty == events[3].quantity
