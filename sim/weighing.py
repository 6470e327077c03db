"""Request weight per endpoint, read from the tables the endpoints' owners keep.

Why a lookup instead of a table here: the weight of an endpoint belongs with the
endpoint (``sim.weights`` for ``/api/v3``, the wallet module's ``WALLET_WEIGHTS``
for ``/sapi``), and the limits only add the numbers up.  The modules are looked
up by name when the simulator starts, so an endpoint module written later is
picked up without touching this file; an endpoint no table knows weighs 1 (the
weight of most simple endpoints in the seed).

What a module may provide (first match wins, in this order):

* a function ``weight_of(method, path, params) -> int | None`` (or ``request_weight``);
  ``None`` means "not mine";
* a mapping ``WEIGHTS`` / ``REQUEST_WEIGHTS`` / ``API_WEIGHTS`` / ``WALLET_WEIGHTS``
  whose keys are ``"/api/v3/depth"``, ``("GET", "/api/v3/depth")`` or
  ``"GET /api/v3/depth"``, and whose values are an ``int`` or a function of the
  request parameters returning one (depth's weight depends on ``limit``).

Two more tables are read the same way: ``ORDER_COUNTS`` (how many orders a
successful call places, for the ORDERS limits: an OCO counts 2) and
``UID_WEIGHTS`` / ``WALLET_UID_WEIGHTS`` (``/sapi`` endpoints limited per
account instead of per IP, such as dust conversion).

``params`` are the query-string parameters only (weights that depend on a
parameter, such as depth's ``limit`` or openOrders' ``symbol``, belong to GET
endpoints, whose parameters are all in the query string).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Mapping
from types import ModuleType

log = logging.getLogger(__name__)

DEFAULT_WEIGHT = 1
WEIGHT_MODULES: tuple[str, ...] = ("sim.weights", "sim.wallet")
_FUNCTION_NAMES = ("weight_of", "request_weight")
_TABLE_NAMES = ("WEIGHTS", "REQUEST_WEIGHTS", "API_WEIGHTS", "WALLET_WEIGHTS")
_ORDER_TABLE_NAMES = ("ORDER_COUNTS",)
_UID_TABLE_NAMES = ("UID_WEIGHTS", "WALLET_UID_WEIGHTS")

Lookup = Callable[[str, str, Mapping[str, str]], "int | None"]


class Weigher:
    """``weigher(method, path, params) -> int``: the first table that knows the endpoint."""

    def __init__(self, lookups: list[Lookup], order_lookups: list[Lookup] | None = None,
                 uid_lookups: list[Lookup] | None = None) -> None:
        self.lookups = lookups
        self.order_lookups = order_lookups or []
        self.uid_lookups = uid_lookups or []

    def __call__(self, method: str, path: str, params: Mapping[str, str]) -> int:
        weight = _first(self.lookups, method, path, params)
        return DEFAULT_WEIGHT if weight is None else weight

    def orders(self, method: str, path: str) -> int:
        """How many orders a successful call places (0: not an order placement)."""
        return _first(self.order_lookups, method, path, {}) or 0

    def uid_weight(self, method: str, path: str, params: Mapping[str, str]) -> int | None:
        """The account (UID) weight of an endpoint limited per account; None if limited per IP."""
        return _first(self.uid_lookups, method, path, params)


def _first(lookups: list[Lookup], method: str, path: str, params: Mapping[str, str]) -> int | None:
    for lookup in lookups:
        weight = lookup(method, path, params)
        if weight is not None:
            return int(weight)
    return None


def table_lookup(table: Mapping[object, object]) -> Lookup:
    """A lookup over a mapping in one of the key shapes the module docstring lists."""

    def lookup(method: str, path: str, params: Mapping[str, str]) -> int | None:
        for key in ((method, path), f"{method} {path}", path):
            entry = table.get(key)
            if entry is not None:
                return entry(params) if callable(entry) else int(entry)  # type: ignore[arg-type]
        return None

    return lookup


def module_lookups(module: ModuleType, table_names: tuple[str, ...] = _TABLE_NAMES,
                   function_names: tuple[str, ...] = _FUNCTION_NAMES) -> list[Lookup]:
    lookups: list[Lookup] = []
    for name in function_names:
        function = getattr(module, name, None)
        if callable(function):
            lookups.append(function)
            break
    for name in table_names:
        table = getattr(module, name, None)
        if isinstance(table, Mapping):
            lookups.append(table_lookup(table))
    return lookups


def load_weigher(module_names: tuple[str, ...] = WEIGHT_MODULES) -> Weigher:
    """The weigher over every weight module that exists (absent ones are skipped)."""
    weigher = Weigher([], [], [])
    for name in module_names:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # the module exists but is broken: say so loudly
                raise
            log.debug("weights.module_absent module=%s", name)
            continue
        weigher.lookups += module_lookups(module)
        weigher.order_lookups += module_lookups(module, _ORDER_TABLE_NAMES, ())
        weigher.uid_lookups += module_lookups(module, _UID_TABLE_NAMES, ())
        log.debug("weights.module module=%s", name)
    return weigher
