"""``[venue] ws_transport`` selects the market streams' websocket library."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.config import WS_TRANSPORTS, load_config, parse_config
from daemon.errors import ConfigError
from daemon.venues.binance.stream_settings import StreamSettings
from daemon.venues.binance.transport import TRANSPORT_NAMES, make_transport

ROOT = Path(__file__).resolve().parents[2]


def test_the_config_knows_exactly_the_transports_that_exist() -> None:
    assert WS_TRANSPORTS == TRANSPORT_NAMES


@pytest.mark.parametrize("name", TRANSPORT_NAMES)
def test_each_transport_can_be_chosen_and_built(name: str, tmp_path: Path) -> None:
    config = parse_config({"venue": {"ws_transport": name}}, tmp_path)
    assert config.venue.ws_transport == name
    assert make_transport(config.venue.ws_transport).name == name
    assert StreamSettings(transport=config.venue.ws_transport).transport == name


def test_default_and_refusal(tmp_path: Path) -> None:
    assert parse_config({}, tmp_path).venue.ws_transport == "trio-websocket"
    with pytest.raises(ConfigError) as refused:
        parse_config({"venue": {"ws_transport": "aiohttp"}}, tmp_path)
    assert refused.value.path == "venue.ws_transport"


def test_the_example_config_documents_it() -> None:
    example = ROOT / "config.example.toml"
    assert 'ws_transport = "trio-websocket"' in example.read_text()
    assert load_config(example).venue.ws_transport == "trio-websocket"
