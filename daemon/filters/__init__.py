"""Binance's order rules as pure functions over ``Decimal``.

Why a package of its own: the gateway must refuse an order *before* it costs
a request, a rate-limit unit and an exchange rejection, and the simulator
(which shares no rule code with the daemon) must agree with it for the tests
to mean anything.  So every rule is small, has no I/O, no trio and no
database, and returns ``Rejection | None``.  A rejection's ``reason`` names
the rule, the limit and the offending value; ``detail`` carries the same as
strings, so the persisted record explains itself.

Layout, one concept per module:

* ``base``: exact arithmetic, rendering, rejections, reading filter fields;
* ``inputs``: ``MarketInputs`` (average/last price, book top, open-order
  counts, position) and ``OpenCounts``: the live state rules compare with;
* ``order_rules``: symbol permissions, per-type parameters, stop direction,
  LIMIT_MAKER against the book;
* ``price``, ``quantity``, ``notional``, ``counts``: the nineteen filters of the
  seed and today's ``filters.md``;
* ``rules``: ``compile_rules`` (once per exchangeInfo update; unknown filter
  types fail closed) and ``validate`` / ``validate_all``;
* ``oco``: the OCO pair (``validate_oco``);
* ``helpers``: ``round_price``, ``floor_quantity``, ``min_quantity``, ``adjust``.

Typical use::

    rules = compile_rules(symbol_info, exchange_filters=info.exchange_filters)
    refused = validate(rules, request, MarketInputs(average_price=..., last_price=...))
"""

from daemon.filters.base import ALGO_TYPES, normalized, reject, show
from daemon.filters.helpers import adjust, floor_quantity, min_quantity, round_price, round_stop_price
from daemon.filters.inputs import (
    AVERAGE_PRICE,
    BOOK,
    EXCHANGE_OPEN,
    LAST_PRICE,
    NO_MARKET_DATA,
    NOTHING_ADDED,
    POSITION,
    SYMBOL_OPEN,
    MarketInputs,
    OpenCounts,
    additions,
)
from daemon.filters.oco import normalized_oco, oco_additions, oco_legs, validate_oco, validate_oco_all
from daemon.filters.order_rules import (
    check_limit_maker,
    check_parameters,
    check_stop_direction,
    check_symbol,
)
from daemon.filters.rules import (
    EVALUATION_ORDER,
    KNOWN_FILTERS,
    NOT_APPLICABLE,
    SymbolRules,
    compile_exchange,
    compile_rules,
    validate,
    validate_all,
)

__all__ = [
    "ALGO_TYPES", "AVERAGE_PRICE", "BOOK", "EVALUATION_ORDER", "EXCHANGE_OPEN", "KNOWN_FILTERS",
    "LAST_PRICE", "NOTHING_ADDED", "NOT_APPLICABLE", "NO_MARKET_DATA", "POSITION", "SYMBOL_OPEN",
    "MarketInputs", "OpenCounts", "SymbolRules", "additions", "adjust", "check_limit_maker",
    "check_parameters", "check_stop_direction", "check_symbol", "compile_exchange", "compile_rules",
    "floor_quantity", "min_quantity", "normalized", "normalized_oco", "oco_additions", "oco_legs", "reject",
    "round_price", "round_stop_price", "show", "validate", "validate_all", "validate_oco",
    "validate_oco_all",
]
