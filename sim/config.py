"""Configuration of the exchange simulator.

Why a plain dataclass: the daemon's ``[sim]`` config table and the ``tradingd sim``
command both build one, and tests build them inline; nothing here does I/O.
Decimals arrive as strings (like every amount in the project's configs) and are
checked here, so a typo fails at start-up rather than on the first order.
"""

from __future__ import annotations

import ipaddress
import random
import re
import string
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from sim.limits import LimitsConfig
from sim.rules import TradingRules, load_trading_rules
from sim.stream_limits import StreamLimits

DEFAULT_BALANCES: dict[str, str] = {"USDT": "10000", "BTC": "0.5", "ETH": "5", "BNB": "10"}

_KEY_ALPHABET = string.ascii_letters + string.digits
# What the simulator accepts as an API key or secret (Binance's are 64 of these).
API_KEY_RE = re.compile(r"^[A-Za-z0-9]{1,128}$")


def credentials_from_seed(seed: int) -> tuple[str, str]:
    """A deterministic (api_key, api_secret) pair, 64 alphanumerics each like Binance's.

    Deterministic so that a simulator restarted with the same seed accepts the
    daemon's already configured credentials; not secret, the simulator holds no money.
    """
    rng = random.Random(f"tradingd-sim-credentials:{seed}")
    key = "".join(rng.choice(_KEY_ALPHABET) for _ in range(64))
    secret = "".join(rng.choice(_KEY_ALPHABET) for _ in range(64))
    return key, secret


@dataclass
class SimConfig:
    """Everything that shapes one simulator instance.

    ``port=0`` asks the OS for a free port (the real one is reported in the
    ``SimHandle``).  ``time_factor`` speeds up the exchange's slow clocks only
    (listenKey expiry); server time stays wall-clock time because signed requests
    are checked against it.  The market knobs: participants act every
    ``participant_interval_ms``; each action moves the mid price by a normal step
    of ``volatility_bps`` basis points (standard deviation), re-quotes
    ``book_levels`` levels per side and, with probability ``taker_probability``,
    sends one marketable order that trades against the book (user orders included).
    """

    host: str = "127.0.0.1"
    port: int = 0
    seed: int = 7
    time_factor: float = 1.0
    balances: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_BALANCES))
    api_key: str | None = None
    api_secret: str | None = None
    participant_interval_ms: int = 250
    volatility_bps: float = 1.0
    book_levels: int = 10
    taker_probability: float = 0.6
    # More of the synthetic market's shape (sim.market): the top-of-book spread in ticks,
    # the distance between ladder levels, a multiplier of every quoted size, and how many
    # takers may act per round (each with ``taker_probability``).
    spread_ticks: int = 1
    level_spacing_bps: float = 0.5
    depth_scale: str = "1"
    takers_per_step: int = 1
    # Stream connections (sim.stream_limits): server pings and the pong timeout (real
    # seconds), client messages per second, streams per connection, and the lifetime
    # (exchange time: divided by ``time_factor``).  Kline/ticker push cadence in seconds.
    stream_ping_interval_s: float | None = 20.0
    stream_pong_timeout_s: float = 60.0
    stream_max_incoming_per_s: int = 5
    stream_max_streams: int = 1024
    stream_lifetime_s: float | None = 86_400.0
    stream_stats_interval_s: float = 1.0
    # Replay of recorded traffic (sim.replay): a cryptofeed-style recording of a combined
    # stream, played at ``replay_speed`` times its recorded pace, once or in a loop.
    replay_path: str | None = None
    replay_speed: float = 1.0
    replay_loop: bool = False
    maker_commission: str = "0.001"
    taker_commission: str = "0.001"
    graceful_timeout_s: float = 2.0
    # The BingX account (sim.bingx): balances per wallet ({"fund": {"USDT": "1000"}, ...});
    # its credentials default to a pair derived from ``seed``, like the Binance account's.
    bingx_balances: dict[str, dict[str, str]] | None = None
    bingx_api_key: str | None = None
    bingx_api_secret: str | None = None
    # Trading rules (sim.symbols, sim.filter_specs): ``symbols`` replaces the built-in
    # symbols with exchangeInfo-shaped entries (or a JSON file of them, or of a whole
    # exchangeInfo document); ``exchange_filters``/``asset_filters`` (MAX_ASSET) likewise.
    symbols: list[dict] | str | None = None
    exchange_filters: list[dict] | None = None
    asset_filters: list[dict] = field(default_factory=list)
    # Public trades kept per symbol for trades/aggTrades/klines/ticker (oldest dropped).
    trade_history: int = 100_000
    # The default account pays its commissions in BNB ("BNB burn") when it holds enough.
    bnb_burn: bool = False
    # Rate limits (sim.limits): weight per IP, orders per account, 429 then the 418 ban.
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    # The admin HTTP API on loopback, /_sim/faults and /_sim/limits (sim.admin).
    admin: bool = False

    def __post_init__(self) -> None:
        try:
            if not ipaddress.ip_address(self.host).is_loopback:
                raise ValueError(f"sim host must be a loopback address, got {self.host!r}")
        except ValueError as exc:
            if "loopback" in str(exc):
                raise
            raise ValueError(f"sim host must be a loopback IP address, got {self.host!r}") from exc
        if not 0 <= self.port <= 65535:
            raise ValueError(f"sim port out of range: {self.port}")
        if self.time_factor <= 0:
            raise ValueError(f"sim time_factor must be > 0, got {self.time_factor}")
        if self.participant_interval_ms <= 0:
            raise ValueError("sim participant_interval_ms must be > 0")
        if self.volatility_bps < 0:
            raise ValueError("sim volatility_bps must be >= 0")
        if self.book_levels < 1:
            raise ValueError("sim book_levels must be >= 1")
        if not 0 <= self.taker_probability <= 1:
            raise ValueError("sim taker_probability must be within [0, 1]")
        self._check_market_shape()
        self.stream_limits()  # refuses impossible stream limits
        if self.stream_stats_interval_s <= 0 or self.replay_speed <= 0:
            raise ValueError("sim stream_stats_interval_s and replay_speed must be > 0")
        for asset, amount in self.balances.items():
            if _decimal(f"balances.{asset}", amount) < 0:
                raise ValueError(f"sim balances.{asset} must be >= 0")
        for name in ("maker_commission", "taker_commission"):
            rate = _decimal(name, getattr(self, name))
            if not 0 <= rate < 1:
                raise ValueError(f"sim {name} must be within [0, 1)")
        if self.trade_history < 1:
            raise ValueError("sim trade_history must be >= 1")
        self.trading_rules()  # refuse malformed symbols and filters at start-up
        if isinstance(self.limits, dict):  # a config file's [sim.limits] table
            self.limits = LimitsConfig(**self.limits)
        if (self.api_key is None) != (self.api_secret is None):
            raise ValueError("sim api_key and api_secret must be given together")
        if self.api_key is None:
            self.api_key, self.api_secret = credentials_from_seed(self.seed)
        assert self.api_secret is not None
        if not API_KEY_RE.match(self.api_key) or not API_KEY_RE.match(self.api_secret):
            raise ValueError("sim api_key and api_secret must be 1-128 letters and digits")

    def trading_rules(self) -> TradingRules:
        """The symbols and exchange/asset filters this config asks for (parsed, checked)."""
        return load_trading_rules(self.symbols, self.exchange_filters, self.asset_filters)

    def _check_market_shape(self) -> None:
        if self.spread_ticks < 1:
            raise ValueError("sim spread_ticks must be >= 1")
        if self.level_spacing_bps < 0:
            raise ValueError("sim level_spacing_bps must be >= 0")
        if _decimal("depth_scale", self.depth_scale) <= 0:
            raise ValueError("sim depth_scale must be > 0")
        if self.takers_per_step < 0:
            raise ValueError("sim takers_per_step must be >= 0")

    def stream_limits(self) -> StreamLimits:
        """The stream connection limits, the lifetime scaled by ``time_factor``."""
        lifetime = self.stream_lifetime_s
        return StreamLimits(
            ping_interval_s=self.stream_ping_interval_s,
            pong_timeout_s=self.stream_pong_timeout_s,
            max_incoming_per_s=self.stream_max_incoming_per_s,
            max_streams=self.stream_max_streams,
            lifetime_s=None if lifetime is None else lifetime / self.time_factor,
        )

    def decimal_balances(self) -> dict[str, Decimal]:
        return {asset: Decimal(amount) for asset, amount in self.balances.items()}


def _decimal(name: str, value: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"sim {name} is not a decimal: {value!r}") from exc
    if not number.is_finite():
        raise ValueError(f"sim {name} is not finite: {value!r}")
    return number
