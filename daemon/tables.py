"""Aligned plain-text tables for the CLI views (no dependency needed for this)."""

from __future__ import annotations

from decimal import Decimal
from typing import Iterable, Sequence


def _cell(value: object) -> str:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")  # 0.50000000 -> 0.5, 1E+2 -> 100
    if hasattr(value, "value"):  # enums
        return str(value.value)
    return "" if value is None else str(value)


def render_table(title: str, headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Render ``rows`` under ``headers``; numbers right-aligned, text left-aligned."""
    body = [[_cell(v) for v in row] for row in rows]
    if not body:
        return f"{title}: none\n"
    widths = [max(len(h), *(len(r[i]) for r in body)) for i, h in enumerate(headers)]
    numeric = [all(_looks_numeric(r[i]) for r in body) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if num else c.ljust(w)
                         for c, w, num in zip(cells, widths, numeric)).rstrip()

    out = [f"{title}:", line(headers), line(["-" * w for w in widths])]
    out.extend(line(r) for r in body)
    return "\n".join(out) + "\n"


def _looks_numeric(text: str) -> bool:
    try:
        Decimal(text)
    except ArithmeticError:
        return False
    return text != ""
