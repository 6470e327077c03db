"""How values cross into and out of SQLite: money as TEXT, payloads as JSON.

Why TEXT for money: SQLite has no decimal type, and a REAL column would
silently round ``0.1`` into a binary fraction.  ``format(d, "f")`` writes the
plain digits (never ``1E-8``), keeps trailing zeros (``"0.00100000"`` comes back
with the same exponent) and ``Decimal(text)`` reads them back exactly.  All
arithmetic on money (balance deltas, monotonic maxima) therefore happens in
Python, never in SQL, where TEXT would compare as strings.

Payloads are JSON so the journal stays readable with the ``sqlite3`` shell.
Events are duck-typed: msgspec Structs (the venue models) encode under their
wire names, any other object through its attributes.
"""

from __future__ import annotations

import hashlib
import json
import time
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec

from daemon.errors import StateError

#: Parameter names that may carry credentials; never written to disk.
SECRET_KEYS = frozenset({"signature", "apikey", "api_key", "apisecret", "api_secret", "secret",
                         "secret_key", "secretkey", "password", "passphrase", "private_key"})


def now_ms() -> int:
    """Wall-clock milliseconds, the unit of every exchange timestamp."""
    return time.time_ns() // 1_000_000


def to_decimal(value: Any, what: str) -> Decimal:
    """Accept a Decimal (or its string / int form) and refuse floats and non-finite values.

    A float reaching the store is a bug upstream (the wire models decode money
    straight into Decimal), so it is refused loudly instead of being rounded.
    """
    if isinstance(value, bool) or isinstance(value, float):
        raise StateError(f"{what}: refusing {type(value).__name__} {value!r} as money")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, (int, str)):
        try:
            number = Decimal(value)
        except InvalidOperation as exc:
            raise StateError(f"{what}: not a decimal: {value!r}") from exc
    else:
        raise StateError(f"{what}: expected Decimal, got {type(value).__name__}")
    if not number.is_finite():
        raise StateError(f"{what}: not a finite amount: {value!r}")
    return number


def money_text(value: Any, what: str) -> str:
    """The TEXT form of an amount: plain digits, exponent kept (``"0.00100000"``)."""
    return format(to_decimal(value, what), "f")


def money(text: str | None) -> Decimal:
    """Read an amount back; NULL (a column that predates a value) reads as zero."""
    return Decimal(text) if text is not None else Decimal(0)


def _default(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return format(obj, "f")
    if isinstance(obj, msgspec.Struct):
        return msgspec.structs.asdict(obj)
    if hasattr(obj, "value") and isinstance(getattr(obj, "value"), (str, int)):
        return obj.value  # enums
    if hasattr(obj, "__dict__"):
        return {k: v for k, v in vars(obj).items() if not k.startswith("_")}
    raise TypeError(f"cannot encode {type(obj).__name__}")


def canonical_json(obj: Any) -> str:
    """Deterministic JSON (sorted keys, Decimals as plain strings) for hashing and storage."""
    try:
        return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=_default)
    except (TypeError, ValueError) as exc:
        raise StateError(f"payload not encodable: {exc}") from exc


def event_payload(event: Any) -> str:
    """JSON of an event for the journal when its raw bytes are not at hand.

    msgspec Structs encode under their wire names, so a journalled event can be
    decoded again by the venue decoder; other objects encode their attributes.
    """
    if isinstance(event, msgspec.Struct):
        return msgspec.json.encode(event).decode()
    return canonical_json(event)


def raw_text(raw: bytes | str) -> str:
    """The raw payload as TEXT; a non-UTF-8 payload is refused rather than mangled."""
    if isinstance(raw, str):
        return raw
    try:
        return bytes(raw).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StateError(f"raw payload is not UTF-8: {exc}") from exc


def sha256_hex(data: bytes | str) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else bytes(data)).hexdigest()


def without_secrets(params: dict[str, Any]) -> dict[str, str]:
    """Request parameters minus anything that could be a credential, values as strings."""
    return {str(k): _param_text(v) for k, v in params.items() if str(k).lower() not in SECRET_KEYS}


def _param_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, Decimal):
        return format(value, "f")
    enum_value = getattr(value, "value", None)
    return str(enum_value) if isinstance(enum_value, (str, int)) else str(value)


def where_clause(*conditions: tuple[str, Any]) -> tuple[str, list[Any]]:
    """``" WHERE a = ? AND b < ?"`` and its parameters, for the filters that are set.

    Every query behind the CLI views takes optional filters; a condition whose
    value is None is left out (the empty string when none is set), and a list
    value supplies several placeholders (``status NOT IN (?, ?)``).
    """
    clauses: list[str] = []
    params: list[Any] = []
    for clause, value in conditions:
        if value is None:
            continue
        clauses.append(clause)
        params.extend(value if isinstance(value, list) else [value])
    return (f" WHERE {' AND '.join(clauses)}" if clauses else ""), params
