"""The state views of the CLI over a real database file filled with decoded events."""

import time
from datetime import datetime, timezone

import pytest
from click.testing import CliRunner

from daemon.cli_state import (STATE_COMMANDS, balances_command, events_command, fills_command,
                              follow_journal, format_ms, orders_command, parse_when)
from state import Store
from state_factories import (account_position, execution_report, external_lock, list_status,
                             trade_report)

HOUR = 3_600_000
MAY_1 = int(datetime(2024, 5, 1, tzinfo=timezone.utc).timestamp() * 1000)
MAY_3 = int(datetime(2024, 5, 3, 12, tzinfo=timezone.utc).timestamp() * 1000)


class SettableClock:
    """recorded_at for journal entries, set by the test to "when it happened"."""

    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def now_ms():
    return time.time_ns() // 1_000_000


@pytest.fixture
def config(tmp_path, now_ms):
    """A config whose database holds two old orders (May 2024) and two recent ones."""
    path = tmp_path / "config.toml"
    path.write_text('[daemon]\ndatabase = "state.sqlite"\n')
    clock = SettableClock(MAY_1)
    with Store.open(tmp_path / "state.sqlite", clock=clock) as store:
        store.record_intent("grid-0001", "grid", "BTCUSDT", {"symbol": "BTCUSDT"})
        store.apply_execution_report(*execution_report(
            order_id=1, client_order_id="grid-0001", order_time=MAY_1, transaction_time=MAY_1))
        store.apply_execution_report(*trade_report(
            order_id=1, client_order_id="grid-0001", trade_id=500, last_qty="1.00000000",
            cum_qty="1.00000000", order_time=MAY_1, transaction_time=MAY_1 + 60_000))
        clock.now = MAY_3
        store.apply_execution_report(*execution_report(
            symbol="ETHUSDT", order_id=2, client_order_id="web-1", side="SELL",
            price="3000.00000000", order_time=MAY_3, transaction_time=MAY_3))
        clock.now = now_ms - 2 * HOUR
        store.apply_execution_report(*execution_report(
            order_id=3, client_order_id="manual-3", order_time=now_ms - 2 * HOUR,
            transaction_time=now_ms - 2 * HOUR))
        clock.now = now_ms - 10 * 60_000
        store.apply_execution_report(*trade_report(
            order_id=4, client_order_id="manual-4", trade_id=501, last_qty="0.25000000",
            cum_qty="0.25000000", price="101.50000000", order_time=now_ms - 10 * 60_000,
            transaction_time=now_ms - 10 * 60_000))
        store.apply_account_position(*account_position(
            now_ms - 10 * 60_000, BTC=("0.75000000", "0.25000000"), ETH=("0", "0"),
            USDT=("900.00000000", "0.00000000")))
        store.apply_list_status(*list_status(transaction_time=now_ms - 5 * 60_000))
    return path


def _invoke(command, *args):
    return CliRunner().invoke(command, list(args), catch_exceptions=False)


def _data_lines(output: str) -> list[str]:
    """The table's body lines (after the title, header and rule)."""
    lines = output.splitlines()
    rule = next(i for i, line in enumerate(lines) if set(line.replace(" ", "")) == {"-"})
    return [line for line in lines[rule + 1:] if line and not line.startswith("(")]


def test_orders_table_is_aligned_and_filtered(config):
    result = _invoke(orders_command, "--config", str(config))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "Orders:" and lines[1].startswith("created (UTC)")
    rows = _data_lines(result.output)
    assert len(rows) == 4
    assert rows[0].startswith("2024-05-01 00:00:00.000  BTCUSDT")
    status_column = lines[1].index("status")
    assert [r[status_column:].split()[0] for r in rows] == ["FILLED", "NEW", "NEW",
                                                            "PARTIALLY_FILLED"]
    assert "grid-0001" in rows[0] and " grid " in rows[0]

    assert len(_data_lines(_invoke(orders_command, "--config", str(config), "--open").output)) == 3
    grid = _data_lines(_invoke(orders_command, "--config", str(config), "--strategy",
                               "grid").output)
    assert len(grid) == 1 and "grid-0001" in grid[0]
    eth = _data_lines(_invoke(orders_command, "--config", str(config), "--symbol",
                              "ETHUSDT").output)
    assert len(eth) == 1 and "3000" in eth[0] and "SELL" in eth[0]


def test_orders_since_until_iso_and_relative(config):
    def ids(*args):
        output = _invoke(orders_command, "--config", str(config), *args).output
        return [int(line.split()[3]) for line in _data_lines(output)]

    assert ids("--since", "2024-05-02", "--until", "2024-05-04") == [2]
    assert ids("--until", "2024-05-03T12:00:00Z") == [1]
    assert ids("--since", "2024-05-03T14:00:00+02:00", "--until", "2024-05-04") == [2]
    assert ids("--since", "1h") == [4]
    assert ids("--since", "3h") == [3, 4]
    assert ids("--limit", "2") == [3, 4]
    assert "newest 2 shown" in _invoke(orders_command, "--config", str(config),
                                       "--limit", "2").output


def test_bad_time_is_a_usage_error_naming_the_option(config):
    result = CliRunner().invoke(orders_command, ["--config", str(config), "--since", "yesterday"])
    assert result.exit_code == 2
    assert "--since" in result.output and "30m, 1h, 2d" in result.output


def test_fills_view(config):
    result = _invoke(fills_command, "--config", str(config))
    rows = _data_lines(result.output)
    assert len(rows) == 2
    assert "BTCUSDT" in rows[1] and "501" in rows[1] and "101.5" in rows[1]
    assert "25.375" in rows[1]  # quote quantity 0.25 * 101.5, exact
    assert _data_lines(_invoke(fills_command, "--config", str(config), "--since",
                               "1d").output) == rows[1:]
    assert "Fills: none" in _invoke(fills_command, "--config", str(config), "--symbol",
                                    "ETHUSDT").output


def test_balances_view_hides_zero_unless_all(config):
    result = _invoke(balances_command, "--config", str(config))
    rows = _data_lines(result.output)
    assert [r.split()[0] for r in rows] == ["BTC", "USDT"]
    assert rows[0].split()[1:4] == ["0.75", "0.25", "1"]
    assert len(_data_lines(_invoke(balances_command, "--config", str(config),
                                   "--all").output)) == 3
    only = _data_lines(_invoke(balances_command, "--config", str(config), "--asset",
                               "USDT").output)
    assert [r.split()[0] for r in only] == ["USDT"]
    assert "Balances: none" in _invoke(balances_command, "--config", str(config),
                                       "--until", "2024-01-01").output


def test_events_view_filters_and_unwraps(config):
    result = _invoke(events_command, "--config", str(config))
    rows = _data_lines(result.output)
    kinds = [r.split()[4] for r in rows]
    assert kinds == ["intent", "executionReport", "executionReport", "executionReport",
                     "executionReport", "executionReport", "outboundAccountPosition",
                     "listStatus"]
    eth = _data_lines(_invoke(events_command, "--config", str(config), "--symbol",
                              "ETHUSDT").output)
    assert len(eth) == 1 and '"s":"ETHUSDT"' in eth[0]
    recent = _data_lines(_invoke(events_command, "--config", str(config), "--since", "1h",
                                 "--kind", "listStatus").output)
    assert len(recent) == 1 and '"e":"listStatus"' in recent[0]
    long_payload = _invoke(events_command, "--config", str(config), "--kind", "listStatus",
                           "--payload").output
    assert '"c":"oco-0001-b"' in long_payload


def test_events_follow_shows_only_new_entries_and_stops(config, tmp_path, now_ms):
    with Store.open(tmp_path / "state.sqlite") as store:
        start = store.last_journal_id()
        seen = []
        writes = iter([
            lambda: store.apply_external_lock_update(*external_lock("BTC", "0.1", now_ms)),
            lambda: None,
            lambda: store.apply_execution_report(*execution_report(order_id=9,
                                                                   client_order_id="late")),
        ])

        def sleep(seconds):
            assert seconds == 0.01
            next(writes)()

        last = follow_journal(store, after_id=start, emit=seen.append, poll_interval=0.01,
                              max_polls=3, sleep=sleep)
    assert [e["kind"] for e in seen] == ["externalLockUpdate", "executionReport"]
    assert last == seen[-1]["id"] == start + 2


def test_events_follow_command_runs_for_its_polls(config):
    started = time.monotonic()
    result = _invoke(events_command, "--config", str(config), "--follow", "--poll-interval",
                     "0.02", "--max-polls", "3", "--kind", "listStatus")
    assert result.exit_code == 0
    assert "(following; Ctrl-C stops)" in result.output
    assert time.monotonic() - started < 5


def test_follow_with_until_is_refused(config):
    result = CliRunner().invoke(events_command, ["--config", str(config), "--follow",
                                                 "--until", "1h"])
    assert result.exit_code == 2 and "--until" in result.output


def test_missing_database_is_an_operator_error(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[daemon]\ndatabase = "nothing-here.sqlite"\n')
    for command in STATE_COMMANDS:
        result = CliRunner().invoke(command, ["--config", str(path)])
        assert result.exit_code == 2
        assert "no state database" in result.output and "nothing-here.sqlite" in result.output
    assert not (tmp_path / "nothing-here.sqlite").exists()


def test_bad_config_is_an_operator_error(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[daemon]\nlgo_level = "INFO"\n')
    result = CliRunner().invoke(orders_command, ["--config", str(path)])
    assert result.exit_code == 2 and "lgo_level" in result.output


@pytest.mark.parametrize("text, expected", [
    ("2024-05-01", MAY_1), ("2024-05-01T00:00:00Z", MAY_1), ("2024-05-01 02:00+02:00", MAY_1),
    ("90s", 1_000_000 - 90_000), ("30m", 1_000_000 - 1_800_000), ("1w", 1_000_000 - 7 * 24 * HOUR),
])
def test_parse_when(text, expected):
    assert parse_when(text, now_ms=1_000_000) == expected


@pytest.mark.parametrize("text", ["", "1y", "tomorrow", "-1h", "2024-13-01"])
def test_parse_when_refuses(text):
    with pytest.raises(ValueError):
        parse_when(text, now_ms=1_000_000)


def test_format_ms_is_utc_with_milliseconds():
    assert format_ms(MAY_1 + 1_234) == "2024-05-01 00:00:01.234"
    assert format_ms(None) == ""
