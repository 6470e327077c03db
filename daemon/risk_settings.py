"""The ``[risk]`` config table, parsed once for the risk plugin and the kill-switch CLI.

Why in ``daemon``: ``plugins/risk.py`` enforces the limits, ``daemon/cli_risk.py``
flips the kill switch and ``daemon/config.py`` validates the file; all three
must read the same keys the same way, and ``daemon`` may not import ``plugins``.

Keys (all optional; an absent key turns its limit off): ``kill_switch_file``
(a path, relative to the config file's folder), ``max_order_notional``,
``price_band_bps`` and ``max_daily_notional`` (decimals written as strings),
``max_open_orders`` (a whole number), ``max_data_age_s`` (seconds).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from daemon.errors import ConfigError

__all__ = ["RiskSettings"]


@dataclass(frozen=True, slots=True)
class RiskSettings:
    """The ``[risk]`` table; every key optional (None = that limit is off)."""

    kill_switch_file: Path | None = None
    max_order_notional: Decimal | None = None
    max_open_orders: int | None = None
    price_band_bps: Decimal | None = None
    max_data_age_s: float | None = None
    max_daily_notional: Decimal | None = None

    @classmethod
    def from_mapping(cls, table: Mapping[str, Any] | None, *, base_dir: Path | None = None) -> RiskSettings:
        """Parse ``[risk]``; a relative kill-switch path is taken relative to ``base_dir``
        (the config file's folder).  Errors name the key: ``risk.max_open_orders: ...``.
        """
        table = dict(table or {})
        unknown = sorted(set(table) - set(cls.__dataclass_fields__))
        if unknown:
            raise ConfigError(f"unknown key (known: {', '.join(cls.__dataclass_fields__)})",
                              path=f"risk.{unknown[0]}")
        values: dict[str, Any] = {}
        if (raw := table.get("kill_switch_file")) is not None:
            if not isinstance(raw, str) or not raw:
                raise ConfigError("must be a file path (string)", path="risk.kill_switch_file")
            path = Path(raw).expanduser()
            values["kill_switch_file"] = path if path.is_absolute() or base_dir is None else base_dir / path
        for key in ("max_order_notional", "price_band_bps", "max_daily_notional"):
            if (raw := table.get(key)) is not None:
                values[key] = _positive_decimal(raw, f"risk.{key}")
        if (raw := table.get("max_open_orders")) is not None:
            if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
                raise ConfigError(f"must be a whole number >= 1, got {raw!r}", path="risk.max_open_orders")
            values["max_open_orders"] = raw
        if (raw := table.get("max_data_age_s")) is not None:
            if isinstance(raw, bool) or not isinstance(raw, (int, float)) or raw <= 0:
                raise ConfigError(f"must be a number of seconds > 0, got {raw!r}", path="risk.max_data_age_s")
            values["max_data_age_s"] = float(raw)
        return cls(**values)


def _positive_decimal(raw: object, path: str) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, (str, int)):
        raise ConfigError(f"must be a decimal written as a string (\"5000\"), got {raw!r}", path=path)
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise ConfigError(f"must be a decimal, got {raw!r}", path=path) from None
    if not value.is_finite() or value <= 0:
        raise ConfigError(f"must be > 0, got {raw!r}", path=path)
    return value
