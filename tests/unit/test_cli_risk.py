"""daemon/cli_risk.py: ``tradingd kill-switch on|off|status`` against the risk plugin's view."""

from __future__ import annotations

from decimal import Decimal as D
from types import SimpleNamespace

from click.testing import CliRunner

from daemon.cli_risk import RISK_COMMANDS, kill_switch
from daemon.orders import OrderRequest, OrderType, RejectCode, Side
from daemon.risk_settings import RiskSettings
from plugins.risk import RiskLimits


def run(*args):
    return CliRunner().invoke(kill_switch, list(args))


def config(tmp_path, risk="kill_switch_file = \"run/kill\"\n"):
    path = tmp_path / "config.toml"
    path.write_text(f"[daemon]\ndatabase = \"x.db\"\n\n[risk]\n{risk}")
    return str(path)


def test_on_status_off_round_trip_is_seen_by_the_risk_plugin(tmp_path):
    cfg = config(tmp_path)
    switch = tmp_path / "run" / "kill"
    plugin = RiskLimits(RiskSettings(kill_switch_file=switch))
    order = OrderRequest(symbol="BTCUSDT", side=Side.BUY, type=OrderType.MARKET, quantity=D("1"))
    ctx = SimpleNamespace()

    assert run("--config", cfg, "status").output == f"OFF: {switch}\n"
    turned = run("--config", cfg, "on", "--reason", "exchange incident")
    assert (turned.exit_code, turned.output) == (0, f"kill switch ON: {switch} (new orders are refused)\n")
    assert plugin.check_order(ctx, order).code is RejectCode.KILL_SWITCH
    status = run("--config", cfg, "status").output
    assert status.startswith(f"ON: {switch} (on since ") and status.endswith(": exchange incident)\n")
    assert run("--config", cfg, "on").output == f"kill switch already ON: {switch}\n"
    assert run("--config", cfg, "off").output == f"kill switch OFF: {switch}\n"
    assert plugin.check_order(ctx, order) is None
    assert run("--config", cfg, "off").output == f"kill switch already OFF: {switch}\n"
    assert not (tmp_path / "run" / "kill.tmp").exists()


def test_file_option_overrides_the_config(tmp_path):
    target = tmp_path / "elsewhere"
    result = run("--config", str(tmp_path / "missing.toml"), "--file", str(target), "on")
    assert result.exit_code == 0 and target.exists()


def test_operator_errors_exit_2_with_one_line(tmp_path):
    missing = run("--config", str(tmp_path / "missing.toml"), "status")
    assert missing.exit_code == 2
    assert missing.output == f"error: cannot read {tmp_path / 'missing.toml'}: No such file or directory\n"
    unset = run("--config", config(tmp_path, risk="max_open_orders = 3\n"), "status")
    assert unset.exit_code == 2 and "sets no [risk] kill_switch_file" in unset.output
    bad = run("--config", config(tmp_path, risk="max_open_orders = 0\n"), "status")
    assert bad.exit_code == 2 and "risk.max_open_orders: must be a whole number >= 1" in bad.output


def test_the_group_is_exported_for_the_root_cli():
    assert RISK_COMMANDS == (kill_switch,) and kill_switch.name == "kill-switch"
    assert sorted(kill_switch.commands) == ["off", "on", "status"]
