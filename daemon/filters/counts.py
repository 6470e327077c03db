"""Open-order limits: the MAX_NUM_* symbol filters and the EXCHANGE_MAX_NUM_* exchange filters.

Eight filters, one rule: the open orders of one kind (all, algo, iceberg,
order lists), on the symbol or on the whole account, plus what the request
adds, must not exceed the limit.  "Algo" orders are the four stop types; an
iceberg is any order with ``icebergQty > 0``; an OCO adds two orders (one of
them algo) and one order list (the spec: "OCO orders count as 2 open orders").

Open counts include orders sent but not yet acknowledged (the gateway adds
its in-flight intents), because two orders racing for the last slot must not
both pass.  A request that adds nothing of a kind is never refused by that
kind's limit: a plain LIMIT order is fine at the algo-order ceiling.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from daemon.filters.base import Filter, integer, reject
from daemon.filters.inputs import EXCHANGE_OPEN, SYMBOL_OPEN, MarketInputs, OpenCounts
from daemon.orders import OrderRequest, RejectCode, Rejection

__all__ = ["COUNT_FILTERS", "OpenOrderLimit"]

# filterType -> (limit field, kind = OpenCounts field, exchange-wide?, words for people)
COUNT_FILTERS: dict[str, tuple[str, str, bool, str]] = {
    "MAX_NUM_ORDERS": ("maxNumOrders", "orders", False, "open orders"),
    "MAX_NUM_ALGO_ORDERS": ("maxNumAlgoOrders", "algo", False, "open algo (stop) orders"),
    "MAX_NUM_ICEBERG_ORDERS": ("maxNumIcebergOrders", "iceberg", False, "open iceberg orders"),
    "MAX_NUM_ORDER_LISTS": ("maxNumOrderLists", "lists", False, "open order lists"),
    "EXCHANGE_MAX_NUM_ORDERS": ("maxNumOrders", "orders", True, "open orders"),
    "EXCHANGE_MAX_NUM_ALGO_ORDERS": ("maxNumAlgoOrders", "algo", True, "open algo (stop) orders"),
    "EXCHANGE_MAX_NUM_ICEBERG_ORDERS": ("maxNumIcebergOrders", "iceberg", True, "open iceberg orders"),
    "EXCHANGE_MAX_NUM_ORDER_LISTS": ("maxNumOrderLists", "lists", True, "open order lists"),
}

_KIND_INDEX = {name: index for index, name in enumerate(OpenCounts._fields)}


@dataclass(frozen=True, slots=True)
class OpenOrderLimit(Filter):
    """One of the eight count filters; ``name`` says which (it is also the RejectCode)."""

    name: str
    limit_key: str
    kind: int  # index into OpenCounts
    exchange_wide: bool
    words: str
    limit: int
    needs: frozenset[str]

    @classmethod
    def parse(cls, filter_type: str, spec: Mapping) -> OpenOrderLimit:
        key, kind, exchange_wide, words = COUNT_FILTERS[filter_type]
        return cls(filter_type, key, _KIND_INDEX[kind], exchange_wide, words, integer(spec, key),
                   frozenset({EXCHANGE_OPEN if exchange_wide else SYMBOL_OPEN}))

    def relevant(self, kind, side, iceberg: bool, trailing: bool, adding: OpenCounts) -> bool:
        return adding[self.kind] > 0

    def check(self, request: OrderRequest, market: MarketInputs, adding: OpenCounts) -> Rejection | None:
        added = adding[self.kind]
        if added == 0:
            return None
        counts = market.exchange_open if self.exchange_wide else market.symbol_open
        where = "on the account" if self.exchange_wide else f"on {request.symbol}"
        if counts is None:
            return reject(RejectCode(self.name), request,
                          f"{self.name}: cannot check: the number of {self.words} {where} is not known",
                          {"filter": self.name, self.limit_key: self.limit})
        current = counts[self.kind]
        if current + added <= self.limit:
            return None
        return reject(RejectCode(self.name), request,
                      f"{self.name}: {current} {self.words} {where} + {added} new would exceed "
                      f"{self.limit_key} {self.limit}",
                      {"filter": self.name, self.limit_key: self.limit, "open": current, "adding": added})

