"""API credentials, resolved from the environment or a file, never from config text.

``Credentials`` masks itself in ``repr``/``str`` so that a stray log line,
traceback or f-string can never leak the secret.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from daemon.errors import SecretError


@dataclass(frozen=True)
class Credentials:
    api_key: str = field(repr=False)
    api_secret: str = field(repr=False)

    def __repr__(self) -> str:
        return f"Credentials(api_key={mask(self.api_key)}, api_secret=***)"

    __str__ = __repr__


def mask(value: str) -> str:
    """Show only enough of a key for an operator to recognise it."""
    return f"{value[:4]}…" if len(value) > 8 else "***"


def read_secret(*, env: str | None, file: str | None, what: str,
                environ: dict[str, str] | None = None) -> str | None:
    """Read one secret from ``$env`` or from ``file`` (e.g. a systemd credential).

    Returns None when neither reference is set; raises ``SecretError`` naming the
    reference (never the value) when a reference is set but cannot be read.
    """
    environ = os.environ if environ is None else environ
    if file:
        path = Path(os.path.expandvars(file))
        try:
            value = path.read_text().strip()
        except OSError as exc:
            raise SecretError(f"cannot read {what} from file {path}: {exc.strerror}") from exc
        if not value:
            raise SecretError(f"{what} file {path} is empty")
        return value
    if env:
        value = environ.get(env, "").strip()
        if not value:
            raise SecretError(f"{what}: environment variable {env} is not set")
        return value
    return None
