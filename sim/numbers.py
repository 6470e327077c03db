"""Decimal helpers: parsing request numbers and rendering them the way Binance does.

Why here and not inline: every amount on the wire is a string with 8 decimals
("0.00100000"), balances move in units of 1e-8, and request numbers must be
refused with the seed's -1102/-1130 codes rather than Python errors.  One
place keeps those three rules consistent.
"""

from __future__ import annotations

import re
from decimal import ROUND_DOWN, ROUND_UP, Context, Decimal, InvalidOperation

from sim import errors

ATOM = Decimal("0.00000001")
ZERO = Decimal(0)
# Wide enough for any request amount (20 + 20 digits) and their products: the default
# 28 digits make quantize and % raise InvalidOperation on large legal values.
WIDE = Context(prec=60)

# Plain decimal notation only: Binance refuses exponents, signs and blanks.
_DECIMAL_RE = re.compile(r"^\d+(\.\d+)?$|^\.\d+$")
_INT_RE = re.compile(r"^-?\d{1,19}$")


def fmt8(value: Decimal) -> str:
    """``Decimal("1.5")`` -> ``"1.50000000"``: the wire form of prices, quantities, balances."""
    return format(value.quantize(ATOM), "f")


def down8(value: Decimal) -> Decimal:
    """Truncate to 1e-8, the smallest unit a balance can hold."""
    return value.quantize(ATOM, rounding=ROUND_DOWN, context=WIDE)


def up8(value: Decimal) -> Decimal:
    """Round up to 1e-8: used where the exchange must reserve enough, never too little."""
    return value.quantize(ATOM, rounding=ROUND_UP, context=WIDE)


def parse_decimal(name: str, raw: str) -> Decimal:
    """A request DECIMAL parameter; malformed or non-positive values are -1102 like Binance."""
    if not _DECIMAL_RE.match(raw):
        raise errors.mandatory_missing(name)
    try:
        value = Decimal(raw)
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only valid literals
        raise errors.mandatory_missing(name) from exc
    if value <= 0:
        raise errors.mandatory_missing(name)
    return value


def parse_int(name: str, raw: str) -> int:
    """A request LONG/INT parameter."""
    if not _INT_RE.match(raw):
        raise errors.mandatory_missing(name)
    return int(raw)


def is_multiple(value: Decimal, base: Decimal, step: Decimal) -> bool:
    """``(value - base) % step == 0``, the seed's tick/step rule; a zero step disables it."""
    if step == 0:
        return True
    return WIDE.remainder(WIDE.subtract(value, base), step) == 0


def floor_to_step(value: Decimal, step: Decimal) -> Decimal:
    """Largest multiple of ``step`` not above ``value`` (value >= 0)."""
    if step == 0:
        return value
    return (value // step) * step
