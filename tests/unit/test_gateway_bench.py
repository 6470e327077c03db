"""bench/gateway.py runs briefly, times only accepted orders, and prints one JSON line."""

import importlib.util
import json
from pathlib import Path

import msgspec
import pytest

from daemon import filters

BENCH = Path(__file__).resolve().parents[2] / "bench" / "gateway.py"


def _load_bench():
    spec = importlib.util.spec_from_file_location("bench_gateway", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_prints_one_json_line_of_figures(capsys):
    _load_bench().main(["--orders", "300"])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    figures = json.loads(lines[0])
    assert figures["bench"] == "gateway" and figures["orders"] == 300
    assert figures["filter_types"] == len(filters.EVALUATION_ORDER)  # every filter type is active
    for key in ("validate_us", "submit_us", "submit_no_risk_us"):
        assert 0 < figures[key]["median"] <= figures[key]["p99"]


def test_bench_symbol_carries_every_known_filter_type():
    bench = _load_bench()
    listed = {spec["filterType"] for spec in (*bench.SYMBOL_FILTERS, *bench.EXCHANGE_FILTERS,
                                              *bench.ASSET_FILTERS)}
    assert listed == set(filters.KNOWN_FILTERS)


def test_bench_refuses_to_time_a_refused_order(monkeypatch):
    bench = _load_bench()
    rules = filters.compile_rules(bench.BTCUSDT)
    good = bench.order
    off_tick = lambda i: msgspec.structs.replace(good(i), price=bench.LAST + bench.D("0.001"))  # noqa: E731
    monkeypatch.setattr(bench, "order", off_tick)
    with pytest.raises(AssertionError, match="refused"):
        bench.bench_validate(rules, 3)
