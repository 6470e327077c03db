"""Where the rate governor remembers an IP ban across a restart.

Why persist a ban at all: a 418 says "banned until T".  A daemon restarted by
systemd a few seconds later would forget it, send its start-up requests (time,
exchangeInfo, account, open orders) into the ban and, by the seed's rules, earn
a *longer* one ("IP bans are tracked and scale in duration for repeat
offenders, from 2 minutes to 3 days").  So the governor saves the end of the ban
and loads it before the first request.

The interface is two calls so that the venue layer knows nothing of the state
store: ``load() -> float | None`` (the ban's end in Unix epoch seconds) and
``save(until_epoch_s)``.  ``FileBanStore`` is the stand-alone default;
``SettingsBanStore`` adapts anything with ``get_setting``/``set_setting`` (the
daemon's SQLite store) without importing it.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)

#: The settings key the daemon's store keeps the ban under.
BAN_SETTING_KEY = "binance.ip_ban_until_epoch_s"


class BanStore(Protocol):
    def load(self) -> float | None:
        """The end of the last known ban (Unix epoch seconds), or None."""

    def save(self, until_epoch_s: float) -> None:
        """Remember that the IP is banned until ``until_epoch_s``."""


def _parse(text: str | None, source: str) -> float | None:
    if text is None or not text.strip():
        return None
    try:
        value = float(text.strip())
    except ValueError:
        log.warning("ratelimit.ban_store_unreadable source=%s", source)
        return None
    return value if value > 0 else None


class FileBanStore:
    """One number in a small text file, replaced atomically (write, fsync, rename)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def load(self) -> float | None:
        try:
            text = self.path.read_text(encoding="ascii")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            log.warning("ratelimit.ban_store_unreadable path=%s error=%s", self.path, exc)
            return None
        return _parse(text, str(self.path))

    def save(self, until_epoch_s: float) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".ban-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(f"{until_epoch_s:.3f}\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


class _Settings(Protocol):
    def get_setting(self, key: str, default: str | None = None) -> str | None: ...

    def set_setting(self, key: str, value: str) -> object: ...


class SettingsBanStore:
    """The ban kept in a key-value settings table (``store.get_setting``/``set_setting``)."""

    def __init__(self, settings: _Settings, key: str = BAN_SETTING_KEY) -> None:
        self._settings = settings
        self.key = key

    def load(self) -> float | None:
        return _parse(self._settings.get_setting(self.key), f"setting:{self.key}")

    def save(self, until_epoch_s: float) -> None:
        self._settings.set_setting(self.key, f"{until_epoch_s:.3f}")


class MemoryBanStore:
    """Keeps the ban in memory only (tests, or a deliberately stateless tool)."""

    def __init__(self, until_epoch_s: float | None = None) -> None:
        self.until_epoch_s = until_epoch_s
        self.saves = 0

    def load(self) -> float | None:
        return self.until_epoch_s

    def save(self, until_epoch_s: float) -> None:
        self.until_epoch_s = until_epoch_s
        self.saves += 1
