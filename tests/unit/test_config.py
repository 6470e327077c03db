"""daemon.config: typed sections, defaults, and errors that name the key path."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from pathlib import Path

import pytest

from daemon.config import Config, load_config, parse_config
from daemon.credentials import Credentials
from daemon.errors import ConfigError, SecretError

REPO = Path(__file__).resolve().parents[2]
BASE = Path("/srv/tradingd")


def parse(data: dict) -> Config:
    return parse_config(data, BASE)


def error_of(data: dict) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse(data)
    return info.value


def test_example_config_parses_with_grid_params_raw():
    config = load_config(REPO / "config.example.toml")
    assert config.venue.kind == "sim"
    assert config.daemon.database == REPO / "var" / "tradingd.sqlite"
    assert config.sim.balances["USDT"] == Decimal("10000")
    grid = config.strategies["grid"]
    assert grid.kind == "grid" and grid.enabled
    assert dict(grid.params) == {"symbol": "BTCUSDT", "levels": 2, "spacing_bps": "4",
                                 "quantity": "0.0005", "requote_bps": "6", "min_requote_ms": 1000,
                                 "cancel_on_stop": True}
    assert config.risk.kill_switch_file == REPO / "var" / "kill-switch"
    assert config.risk.max_order_notional is None
    assert config.source == (REPO / "config.example.toml").resolve()


def test_empty_document_gets_sim_defaults():
    config = parse({})
    assert config.daemon.database == BASE / "var" / "tradingd.sqlite"
    assert config.daemon.log_level == "INFO" and config.daemon.plugins == ()
    assert config.venue.kind == "sim" and config.venue.rest_url is None
    assert config.venue.recv_window_ms == 5000 and config.venue.user_stream == "auto"
    assert config.sim.host == "127.0.0.1" and config.sim.port == 0
    assert config.strategies == {}


def test_config_is_frozen():
    config = parse({})
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.venue.kind = "binance"  # type: ignore[misc]
    with pytest.raises(TypeError):
        config.sim.balances["USDT"] = Decimal(1)  # type: ignore[index]


@pytest.mark.parametrize("kind, urls", [
    ("binance", ("https://api.binance.com", "wss://stream.binance.com:9443",
                 "wss://ws-api.binance.com:443/ws-api/v3")),
    ("binance-testnet", ("https://testnet.binance.vision", "wss://stream.testnet.binance.vision",
                         "wss://ws-api.testnet.binance.vision/ws-api/v3")),
])
def test_venue_url_defaults_per_kind(kind, urls):
    venue = parse({"venue": {"kind": kind}}).venue
    assert (venue.rest_url, venue.stream_url, venue.ws_api_url) == urls


def test_venue_url_override_and_scheme_check():
    venue = parse({"venue": {"kind": "binance", "rest_url": "http://127.0.0.1:9900"}}).venue
    assert venue.rest_url == "http://127.0.0.1:9900"
    assert venue.stream_url == "wss://stream.binance.com:9443"
    assert error_of({"venue": {"kind": "binance", "stream_url": "https://x"}}).path == "venue.stream_url"
    assert error_of({"venue": {"rest_url": "http://127.0.0.1:1"}}).path == "venue.rest_url"


def test_absolute_database_path_and_log_level_case():
    daemon = parse({"daemon": {"database": "/var/lib/td.sqlite", "log_level": "debug",
                               "plugins": ["plugins.extra"]}}).daemon
    assert daemon.database == Path("/var/lib/td.sqlite")
    assert daemon.log_level == "DEBUG" and daemon.plugins == ("plugins.extra",)


@pytest.mark.parametrize("data, path", [
    ({"daemon": {"lgo_level": "INFO"}}, "daemon.lgo_level"),
    ({"risks": {}}, "risks"),
    ({"risk": {"max_open_order": 3}}, "risk.max_open_order"),
    ({"gateway": {"allow_unknown_filter": []}}, "gateway.allow_unknown_filter"),
    ({"sim": {"balances": {"USDT": "1"}, "colour": 1}}, "sim.colour"),
    ({"venue": {"kind": "kraken"}}, "venue.kind"),
    ({"venue": {"recv_window_ms": 0}}, "venue.recv_window_ms"),
    ({"venue": {"recv_window_ms": 60001}}, "venue.recv_window_ms"),
    ({"venue": {"recv_window_ms": True}}, "venue.recv_window_ms"),
    ({"venue": {"user_stream": "poll"}}, "venue.user_stream"),
    ({"daemon": {"log_level": "TRACE"}}, "daemon.log_level"),
    ({"daemon": {"plugins": "plugins.extra"}}, "daemon.plugins"),
    ({"daemon": {"database": 5}}, "daemon.database"),
    ({"daemon": "x"}, "daemon"),
    ({"sim": {"port": 70000}}, "sim.port"),
    ({"sim": {"time_factor": 0}}, "sim.time_factor"),
    ({"sim": {"participant_interval_ms": 0}}, "sim.participant_interval_ms"),
    ({"sim": {"volatility_bps": 2.5}}, "sim.volatility_bps"),
    ({"sim": {"volatility_bps": "abc"}}, "sim.volatility_bps"),
    ({"sim": {"volatility_bps": "NaN"}}, "sim.volatility_bps"),
    ({"sim": {"balances": {"USDT": "-1"}}}, "sim.balances.USDT"),
    ({"sim": {"balances": {"usdt": "1"}}}, "sim.balances.usdt"),
    ({"strategies": {"g": {"symbol": "BTCUSDT"}}}, "strategies.g.kind"),
    ({"strategies": {"g": {"kind": "grid", "enabled": "yes"}}}, "strategies.g.enabled"),
    ({"strategies": {"bad name": {"kind": "grid"}}}, "strategies.bad name"),
    ({"strategies": {"g": 3}}, "strategies.g"),
])
def test_errors_name_the_key_path(data, path):
    error = error_of(data)
    assert error.path == path
    assert str(error).startswith(f"{path}: ")


def test_unknown_key_message():
    assert str(error_of({"daemon": {"lgo_level": "INFO"}})) == "daemon.lgo_level: unknown key"


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.5", "example.com", "::", "localhost"])
def test_sim_refuses_non_loopback_hosts(host):
    error = error_of({"sim": {"host": host}})
    assert error.path == "sim.host" and "loopback" in str(error)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1"])
def test_sim_accepts_loopback_hosts(host):
    assert parse({"sim": {"host": host}}).sim.host == host


def test_sim_values_are_typed():
    sim = parse({"sim": {"port": 9900, "seed": 3, "time_factor": 60, "volatility_bps": "1.5",
                         "balances": {"USDT": "250.50", "BTC": 1}}}).sim
    assert sim.port == 9900 and sim.seed == 3 and sim.time_factor == 60.0
    assert isinstance(sim.time_factor, float)
    assert sim.volatility_bps == Decimal("1.5")
    assert dict(sim.balances) == {"USDT": Decimal("250.50"), "BTC": Decimal(1)}


@pytest.mark.parametrize("data, path", [
    ({"venue": {"kind": "binance", "api_key": "abc"}}, "venue.api_key"),
    ({"venue": {"api_secret": "abc"}}, "venue.api_secret"),
    ({"strategies": {"g": {"kind": "grid", "password": "hunter2"}}}, "strategies.g.password"),
    ({"extra": {"deep": [{"secret": "s3cr3t"}]}}, "extra.deep[0].secret"),
    ({"venue": {"API-KEY": "abc"}}, "venue.API-KEY"),
])
def test_inline_secrets_are_refused_without_echoing_them(data, path):
    error = error_of(data)
    assert error.path == path
    assert "_env" in str(error) and "_file" in str(error)
    for secret in ("abc", "hunter2", "s3cr3t"):
        assert secret not in str(error)


def test_strategy_tables_keep_params_raw_and_enabled_flag():
    strategies = parse({"strategies": {
        "a": {"kind": "grid", "symbol": "ETHUSDT", "levels": 3},
        "b": {"kind": "pkg.mod:Cls", "enabled": False},
    }}).strategies
    assert list(strategies) == ["a", "b"]
    assert dict(strategies["a"].params) == {"symbol": "ETHUSDT", "levels": 3}
    assert strategies["b"].enabled is False and dict(strategies["b"].params) == {}


def test_credentials_none_for_sim():
    assert parse({}).venue.credentials(environ={}) is None


def test_credentials_from_environment():
    venue = parse({"venue": {"kind": "binance"}}).venue
    creds = venue.credentials(environ={"TRADINGD_API_KEY": "key-123456789",
                                       "TRADINGD_API_SECRET": "sec-123456789"})
    assert creds == Credentials("key-123456789", "sec-123456789")
    assert "sec-123456789" not in repr(creds)


def test_credentials_file_wins_over_environment(tmp_path):
    (tmp_path / "key").write_text("file-key\n")
    (tmp_path / "secret").write_text("file-secret\n")
    venue = parse({"venue": {"kind": "binance-testnet", "api_key_file": str(tmp_path / "key"),
                             "api_secret_file": str(tmp_path / "secret")}}).venue
    creds = venue.credentials(environ={"TRADINGD_API_KEY": "env-key", "TRADINGD_API_SECRET": "env-s"})
    assert (creds.api_key, creds.api_secret) == ("file-key", "file-secret")


def test_credentials_missing_environment_variable_names_it():
    venue = parse({"venue": {"kind": "binance", "api_key_env": "MY_KEY"}}).venue
    with pytest.raises(SecretError, match="MY_KEY"):
        venue.credentials(environ={"TRADINGD_API_SECRET": "x"})


def test_credentials_blank_references_mean_market_data_only_and_halves_are_refused():
    both_blank = parse({"venue": {"kind": "binance", "api_key_env": "", "api_secret_env": ""}}).venue
    assert both_blank.credentials(environ={}) is None
    half = parse({"venue": {"kind": "binance", "api_secret_env": ""}}).venue
    with pytest.raises(SecretError, match="api_secret"):
        half.credentials(environ={"TRADINGD_API_KEY": "k"})


def test_load_config_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[daemon\n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config(broken)


def test_load_config_resolves_database_against_file_directory(tmp_path):
    (tmp_path / "etc").mkdir()
    path = tmp_path / "etc" / "td.toml"
    path.write_text('[daemon]\ndatabase = "state/db.sqlite"\n')
    assert load_config(path).daemon.database == tmp_path / "etc" / "state" / "db.sqlite"


def test_sim_section_builds_the_simulators_own_config():
    sim = parse({"sim": {"port": 9900, "seed": 11, "time_factor": 60, "volatility_bps": "1.5",
                         "participant_interval_ms": 100, "balances": {"USDT": "500.5"}}}).sim
    sim_config = sim.to_sim_config()
    assert (sim_config.host, sim_config.port, sim_config.seed) == ("127.0.0.1", 9900, 11)
    assert sim_config.time_factor == 60.0 and sim_config.participant_interval_ms == 100
    assert sim_config.volatility_bps == 1.5
    assert sim_config.balances == {"USDT": "500.5"}


def test_example_sim_section_is_accepted_by_the_simulator():
    sim_config = load_config(REPO / "config.example.toml").sim.to_sim_config()
    assert sim_config.decimal_balances()["BTC"] == Decimal("0.5")


@pytest.mark.parametrize("key, value", [
    ("rate_safety_margin", 0.6), ("rate_urgent_reserve", -0.1), ("rate_max_wait_s", 0),
    ("clock_resync_s", -5), ("user_stream_handover_grace_s", 0),
])
def test_venue_tuning_keys_are_checked(key, value):
    with pytest.raises(ConfigError) as info:
        parse({"venue": {key: value}})
    assert info.value.path == f"venue.{key}"


def test_books_section():
    config = parse({"books": {"symbols": ["ethusdt"], "depth_limit": 100}})
    assert config.books.symbols == ("ETHUSDT",) and config.books.depth_limit == 100
    with pytest.raises(ConfigError) as info:
        parse({"books": {"depth_limit": 7}})
    assert info.value.path == "books.depth_limit"


def test_streams_section():
    config = parse({"streams": {"subscribe": ["ethusdt@aggTrade", "!bookTicker"],
                                "connection_lifetime_s": 60}})
    assert config.streams.subscribe == ("ethusdt@aggTrade", "!bookTicker")
    assert config.streams.connection_lifetime_s == 60
    with pytest.raises(ConfigError) as info:
        parse({"streams": {"subscribe": ["BTC USDT"]}})
    assert info.value.path == "streams.subscribe[0]"
