"""TOML configuration -> frozen, typed ``Config``.

Why hand-written validation rather than a schema library: every mistake must
come back as a ``ConfigError`` whose ``path`` names the exact key
(``daemon.lgo_level: unknown key``), secrets must be refused wherever they
appear, and a few rules (loopback-only simulator, per-venue URL defaults)
span several keys.  The checks are small, explicit and read like the
documentation in ``config.example.toml``.

Strategy tables keep their parameters raw: only the strategy class knows its
``Params``, so ``daemon.plugins.load_strategies`` validates them.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import MappingProxyType
from typing import Any

from daemon.credentials import Credentials, read_secret
from daemon.errors import ConfigError, SecretError
from daemon.risk_settings import RiskSettings

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
VENUE_KINDS = ("sim", "binance", "binance-testnet")
USER_STREAM_MODES = ("auto", "listenkey", "ws-api")
#: Websocket client libraries for the market streams (daemon.venues.binance.transport).
WS_TRANSPORTS = ("trio-websocket", "websockets")

#: Per-venue endpoints (rest, stream, ws-api).  The simulator's are known only at run time.
VENUE_URLS: Mapping[str, tuple[str, str, str]] = MappingProxyType({
    "binance": ("https://api.binance.com", "wss://stream.binance.com:9443",
                "wss://ws-api.binance.com:443/ws-api/v3"),
    "binance-testnet": ("https://testnet.binance.vision", "wss://stream.testnet.binance.vision",
                        "wss://ws-api.testnet.binance.vision/ws-api/v3"),
})

#: Key names that would hold a secret inline; refused anywhere in the file.
SECRET_KEYS = frozenset({"api_key", "api_secret", "secret", "secret_key", "password",
                         "passphrase", "private_key"})

#: The simulator account's starting balances when ``[sim.balances]`` is absent.
DEFAULT_SIM_BALANCES: Mapping[str, Decimal] = MappingProxyType(
    {"USDT": Decimal("10000"), "BTC": Decimal("0.5"), "ETH": Decimal("5"), "BNB": Decimal("10")})

_STRATEGY_NAME = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_ASSET = re.compile(r"^[A-Z0-9]{1,20}$")


@dataclass(frozen=True)
class DaemonSection:
    database: Path
    log_level: str = "INFO"
    plugins: tuple[str, ...] = ()


@dataclass(frozen=True)
class VenueSection:
    kind: str = "sim"
    rest_url: str | None = None
    stream_url: str | None = None
    ws_api_url: str | None = None
    api_key_env: str = "TRADINGD_API_KEY"
    api_secret_env: str = "TRADINGD_API_SECRET"
    api_key_file: str | None = None
    api_secret_file: str | None = None
    recv_window_ms: int = 5000
    user_stream: str = "auto"
    ws_transport: str = "trio-websocket"
    rate_safety_margin: float = 0.10
    rate_urgent_reserve: float = 0.05
    rate_max_wait_s: float = 30.0
    clock_resync_s: float = 600.0
    user_stream_handover_grace_s: float = 1.0

    def credentials(self, environ: Mapping[str, str] | None = None) -> Credentials | None:
        """Resolve the API key and secret from their references (file wins over env).

        ``None`` for the simulator (it generates its own account) or when both
        references are blank (market data only).  A reference that is set but
        unreadable, or only one half of the pair, raises ``SecretError``.
        """
        if self.kind == "sim":
            return None
        env = None if environ is None else dict(environ)
        key = read_secret(env=self.api_key_env or None, file=self.api_key_file,
                          what="venue API key", environ=env)
        secret = read_secret(env=self.api_secret_env or None, file=self.api_secret_file,
                             what="venue API secret", environ=env)
        if key is None and secret is None:
            return None
        if key is None or secret is None:
            missing = "api_key_env/api_key_file" if key is None else "api_secret_env/api_secret_file"
            raise SecretError(f"only half of the credentials are configured; set {missing}",
                              path="venue")
        return Credentials(key, secret)


@dataclass(frozen=True)
class SimSection:
    host: str = "127.0.0.1"
    port: int = 0
    seed: int = 7
    time_factor: float = 1.0
    participant_interval_ms: int = 250
    volatility_bps: Decimal = Decimal("1")
    balances: Mapping[str, Decimal] = field(default_factory=lambda: MappingProxyType(dict(DEFAULT_SIM_BALANCES)))

    def to_sim_config(self):
        """The embedded simulator's own config (``sim.SimConfig``); imported lazily.

        The simulator takes float volatility and string balances; the seed-derived
        API credentials are its own business (``SimHandle.api_key``).
        """
        from sim import SimConfig

        return SimConfig(host=self.host, port=self.port, seed=self.seed,
                         time_factor=self.time_factor,
                         participant_interval_ms=self.participant_interval_ms,
                         volatility_bps=float(self.volatility_bps),
                         balances={asset: format(amount, "f") for asset, amount in self.balances.items()})


@dataclass(frozen=True)
class StrategySection:
    name: str
    kind: str
    enabled: bool = True
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class GatewaySection:
    """``[gateway]``: filter types the operator explicitly accepts without checking."""

    allow_unknown_filters: frozenset[str] = frozenset()


#: ``btcusdt@trade``, ``ethbtc@depth20@100ms``, ``!bookTicker``, ``!ticker@arr``.
_STREAM_NAME = re.compile(r"^(?:[a-z0-9]+@[A-Za-z0-9_@]+|![A-Za-z]+(?:@arr)?)$")

#: The depth limits ``GET /api/v3/depth`` accepts.
DEPTH_LIMITS = (5, 10, 20, 50, 100, 500, 1000, 5000)


@dataclass(frozen=True)
class BooksSection:
    """``[books]``: symbols whose full local order book the daemon keeps."""

    symbols: tuple[str, ...] = ()
    depth_limit: int = 1000


@dataclass(frozen=True)
class StreamsSection:
    """``[streams]``: market streams beyond the strategies' own, and connection tuning."""

    subscribe: tuple[str, ...] = ()
    connection_lifetime_s: float = 23 * 3600 + 50 * 60
    buffer_frames: int = 10_000


@dataclass(frozen=True)
class Config:
    daemon: DaemonSection
    venue: VenueSection
    sim: SimSection
    strategies: Mapping[str, StrategySection]
    source: Path | None = None
    gateway: GatewaySection = GatewaySection()
    risk: RiskSettings = RiskSettings()
    books: BooksSection = BooksSection()
    streams: StreamsSection = StreamsSection()


# ---------------------------------------------------------------------- entry points


def load_config(path: str | Path) -> Config:
    """Read and validate a TOML file; relative paths inside resolve against its directory."""
    path = Path(path).expanduser()
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"config file not found: {path}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    config = parse_config(data, path.resolve().parent)
    return dataclasses.replace(config, source=path.resolve())


def parse_config(data: dict, base_dir: Path) -> Config:
    """Validate an already-parsed TOML document."""
    _refuse_inline_secrets(data, "")
    root = _Table(data, "")
    daemon = _parse_daemon(root.table("daemon"), Path(base_dir))
    venue = _parse_venue(root.table("venue"))
    sim = _parse_sim(root.table("sim"))
    strategies = _parse_strategies(root.table("strategies"))
    gateway = _parse_gateway(root.table("gateway"))
    books = _parse_books(root.table("books"))
    streams = _parse_streams(root.table("streams"))
    risk = RiskSettings.from_mapping(root.table("risk").take_rest(), base_dir=Path(base_dir))
    root.finish()
    return Config(daemon=daemon, venue=venue, sim=sim, strategies=strategies,
                  gateway=gateway, risk=risk, books=books, streams=streams)


def _parse_streams(table: _Table) -> StreamsSection:
    subscribe = tuple(table.string_list("subscribe", []))
    for index, name in enumerate(subscribe):
        if not _STREAM_NAME.match(name):
            raise ConfigError(f"{name!r} is not a Binance stream name such as btcusdt@trade",
                              path=f"{table.path_of('subscribe')}[{index}]")
    section = StreamsSection(
        subscribe=subscribe,
        connection_lifetime_s=_positive(table, "connection_lifetime_s", 23 * 3600 + 50 * 60),
        buffer_frames=table.integer("buffer_frames", 10_000))
    if section.buffer_frames < 100:
        raise ConfigError("must be at least 100", path=table.path_of("buffer_frames"))
    table.finish()
    return section


def _parse_books(table: _Table) -> BooksSection:
    symbols = tuple(symbol.upper() for symbol in table.string_list("symbols", []))
    depth_limit = table.integer("depth_limit", 1000)
    if depth_limit not in DEPTH_LIMITS:
        raise ConfigError(f"must be one of {', '.join(map(str, DEPTH_LIMITS))}",
                          path=table.path_of("depth_limit"))
    table.finish()
    return BooksSection(symbols=symbols, depth_limit=depth_limit)


def _parse_gateway(table: _Table) -> GatewaySection:
    allowed = table.string_list("allow_unknown_filters", [])
    table.finish()
    return GatewaySection(allow_unknown_filters=frozenset(allowed))


# ------------------------------------------------------------------------ sections


def _parse_daemon(table: _Table, base_dir: Path) -> DaemonSection:
    database = Path(table.string("database", "var/tradingd.sqlite")).expanduser()
    if not database.is_absolute():
        database = base_dir / database
    level = table.string("log_level", "INFO").upper()
    if level not in LOG_LEVELS:
        raise ConfigError(f"must be one of {', '.join(LOG_LEVELS)}", path=table.path_of("log_level"))
    plugins = table.string_list("plugins", [])
    table.finish()
    return DaemonSection(database=database, log_level=level, plugins=tuple(plugins))


def _parse_venue(table: _Table) -> VenueSection:
    kind = table.choice("kind", VENUE_KINDS, "sim")
    urls = {}
    for index, (key, schemes) in enumerate((("rest_url", ("http://", "https://")),
                                            ("stream_url", ("ws://", "wss://")),
                                            ("ws_api_url", ("ws://", "wss://")))):
        value = table.string(key, None)
        if value is not None and kind == "sim":
            raise ConfigError('the embedded simulator chooses its own URLs; remove this key '
                              'or set venue.kind = "binance"', path=table.path_of(key))
        if value is not None and not value.startswith(schemes):
            raise ConfigError(f"must start with {' or '.join(schemes)}", path=table.path_of(key))
        urls[key] = value if value is not None else (VENUE_URLS[kind][index] if kind != "sim" else None)
    recv_window = table.integer("recv_window_ms", 5000)
    if not 1 <= recv_window <= 60000:
        raise ConfigError("must be between 1 and 60000", path=table.path_of("recv_window_ms"))
    section = VenueSection(
        kind=kind, **urls,
        api_key_env=table.string("api_key_env", "TRADINGD_API_KEY", allow_empty=True),
        api_secret_env=table.string("api_secret_env", "TRADINGD_API_SECRET", allow_empty=True),
        api_key_file=table.string("api_key_file", None),
        api_secret_file=table.string("api_secret_file", None),
        recv_window_ms=recv_window,
        user_stream=table.choice("user_stream", USER_STREAM_MODES, "auto"),
        ws_transport=table.choice("ws_transport", WS_TRANSPORTS, "trio-websocket"),
        rate_safety_margin=_fraction(table, "rate_safety_margin", 0.10),
        rate_urgent_reserve=_fraction(table, "rate_urgent_reserve", 0.05),
        rate_max_wait_s=_positive(table, "rate_max_wait_s", 30.0),
        clock_resync_s=_positive(table, "clock_resync_s", 600.0),
        user_stream_handover_grace_s=_positive(table, "user_stream_handover_grace_s", 1.0),
    )
    table.finish()
    return section


def _fraction(table: _Table, key: str, default: float) -> float:
    value = table.number(key, default)
    if not 0 <= value < 0.5:
        raise ConfigError("must be a fraction between 0 and 0.5", path=table.path_of(key))
    return value


def _positive(table: _Table, key: str, default: float) -> float:
    value = table.number(key, default)
    if value <= 0:
        raise ConfigError("must be greater than 0", path=table.path_of(key))
    return value


def _parse_sim(table: _Table) -> SimSection:
    defaults = SimSection()
    host = table.string("host", defaults.host)
    if not _is_loopback(host):
        raise ConfigError("the simulator listens on a loopback IP address only (e.g. 127.0.0.1 or ::1)",
                          path=table.path_of("host"))
    port = table.integer("port", defaults.port)
    if not 0 <= port <= 65535:
        raise ConfigError("must be between 0 (ephemeral) and 65535", path=table.path_of("port"))
    time_factor = table.number("time_factor", defaults.time_factor)
    if time_factor <= 0:
        raise ConfigError("must be greater than 0", path=table.path_of("time_factor"))
    interval = table.integer("participant_interval_ms", defaults.participant_interval_ms)
    if interval <= 0:
        raise ConfigError("must be greater than 0", path=table.path_of("participant_interval_ms"))
    volatility = table.decimal("volatility_bps", defaults.volatility_bps)
    if volatility < 0:
        raise ConfigError("must not be negative", path=table.path_of("volatility_bps"))
    balances = defaults.balances
    if table.has("balances"):
        balances_table = table.table("balances")
        parsed = {}
        for asset in list(balances_table.keys()):
            if not _ASSET.match(asset):
                raise ConfigError("asset names are upper-case letters and digits",
                                  path=balances_table.path_of(asset))
            amount = balances_table.decimal(asset, None)
            if amount < 0:
                raise ConfigError("must not be negative", path=balances_table.path_of(asset))
            parsed[asset] = amount
        balances_table.finish()
        balances = MappingProxyType(parsed)
    section = SimSection(host=host, port=port, seed=table.integer("seed", defaults.seed),
                         time_factor=float(time_factor), participant_interval_ms=interval,
                         volatility_bps=volatility, balances=balances)
    table.finish()
    return section


def _parse_strategies(table: _Table) -> Mapping[str, StrategySection]:
    strategies = {}
    for name in list(table.keys()):
        if not _STRATEGY_NAME.match(name):
            raise ConfigError("strategy names are 1-32 letters, digits, '_' or '-'",
                              path=table.path_of(name))
        entry = table.table(name)
        kind = entry.string("kind", _REQUIRED)
        enabled = entry.boolean("enabled", True)
        params = MappingProxyType(entry.take_rest())
        strategies[name] = StrategySection(name=name, kind=kind, enabled=enabled, params=params)
    table.finish()
    return MappingProxyType(strategies)


def _is_loopback(host: str) -> bool:
    """An IP literal only: a name such as "localhost" may resolve to a routable address."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _refuse_inline_secrets(value: Any, path: str) -> None:
    """Walk the whole document first: a secret must be refused before any other error mentions it."""
    if isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            if str(key).lower().replace("-", "_") in SECRET_KEYS:
                raise ConfigError(f"secrets are never written inline; use {key}_env (the name of an "
                                  f"environment variable) or {key}_file (e.g. a systemd credential "
                                  f"under $CREDENTIALS_DIRECTORY)", path=child)
            _refuse_inline_secrets(item, child)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _refuse_inline_secrets(item, f"{path}[{index}]")


# --------------------------------------------------------------------- table reader

_REQUIRED = object()


class _Table:
    """Reads typed keys out of one TOML table, remembering which keys were used.

    ``finish()`` turns any key nobody asked for into ``ConfigError("unknown
    key")`` naming its full path: a misspelt key must never be silently ignored.
    """

    def __init__(self, data: Any, path: str) -> None:
        if not isinstance(data, dict):
            raise ConfigError("must be a table", path=path or None)
        self._data = dict(data)
        self._path = path

    def path_of(self, key: str) -> str:
        return f"{self._path}.{key}" if self._path else key

    def keys(self) -> list[str]:
        return list(self._data)

    def has(self, key: str) -> bool:
        return key in self._data

    def finish(self) -> None:
        for key in self._data:
            raise ConfigError("unknown key", path=self.path_of(key))

    def take_rest(self) -> dict[str, Any]:
        rest, self._data = self._data, {}
        return rest

    def _take(self, key: str, default: Any) -> tuple[bool, Any]:
        """(present, value); a missing key yields the default, or an error if required."""
        if key in self._data:
            return True, self._data.pop(key)
        if default is _REQUIRED:
            raise ConfigError("required key is missing", path=self.path_of(key))
        return False, default

    def table(self, key: str) -> _Table:
        return _Table(self._take(key, {})[1], self.path_of(key))

    def string(self, key: str, default: Any, *, allow_empty: bool = False) -> Any:
        present, value = self._take(key, default)
        if not present:
            return value
        if not isinstance(value, str):
            raise ConfigError("must be a string", path=self.path_of(key))
        if not value.strip() and not allow_empty:
            raise ConfigError("must not be empty", path=self.path_of(key))
        return value

    def string_list(self, key: str, default: list[str]) -> list[str]:
        value = self._take(key, default)[1]
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise ConfigError("must be a list of non-empty strings", path=self.path_of(key))
        return value

    def choice(self, key: str, allowed: tuple[str, ...], default: str) -> str:
        value = self.string(key, default)
        if value not in allowed:
            raise ConfigError(f"must be one of {', '.join(allowed)}", path=self.path_of(key))
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self._take(key, default)[1]
        if not isinstance(value, bool):
            raise ConfigError("must be true or false", path=self.path_of(key))
        return value

    def integer(self, key: str, default: int) -> int:
        value = self._take(key, default)[1]
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError("must be an integer", path=self.path_of(key))
        return value

    def number(self, key: str, default: float) -> float:
        value = self._take(key, default)[1]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError("must be a number", path=self.path_of(key))
        return value

    def decimal(self, key: str, default: Decimal | None) -> Decimal:
        """Decimals are written as strings (``"0.0005"``) so no float ever rounds them."""
        value = self._take(key, _REQUIRED if default is None else default)[1]
        if isinstance(value, Decimal):
            return value
        if isinstance(value, float):
            raise ConfigError(f'write decimals as strings, e.g. "{value}"', path=self.path_of(key))
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise ConfigError('must be a decimal string such as "0.5"', path=self.path_of(key))
        try:
            result = Decimal(value.strip() if isinstance(value, str) else value)
        except InvalidOperation as exc:
            raise ConfigError(f"not a decimal number: {value!r}", path=self.path_of(key)) from exc
        if not result.is_finite():
            raise ConfigError("must be a finite number", path=self.path_of(key))
        return result
