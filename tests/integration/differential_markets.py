"""Random markets and orders for the differential test of the gateway against the simulator.

Why one generator behind two sources of randomness: the same code draws from
hypothesis (``scenarios()``, ``orders(market)``: shrinkable, for the examples
hypothesis explores itself) and from a ``random.Random`` seeded by hypothesis
(``order_batch``: the bulk of the 100,000 orders, which hypothesis's own
per-draw bookkeeping would make twenty times slower).  Both are deterministic
under ``derandomize=True``.

A market (``Market``) is one symbol whose filters are a random subset of every
symbol filter, in a random order, with realistic values and some zeros (a
disabled part, or a limit nothing fits), its flags and precisions drawn too; a
second symbol; exchange filters and a MAX_ASSET filter; the account's resting
orders (plain, stop, iceberg, some on the other symbol) and base balance; and
the trades of the averaging window (so the average and the last price differ).
Count, position and asset limits are drawn next to the state they limit.

Orders (``OrderRequest``) are of every type, side and timeInForce, their values
on a filter's bound or grid, a step or tick either side, off the grid, too
precise, zero or negative; now and then a mandatory parameter is missing, a
parameter the type does not take is sent, or a side/type/timeInForce is one no
exchange knows.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import TypeVar

import msgspec
from hypothesis import strategies as st

from daemon.filters import ALGO_TYPES
from daemon.orders import OrderRequest, OrderType, Side, TimeInForce
from sim.config import SimConfig
from sim.filters import AveragePrice

T = TypeVar("T")
D = Decimal
ZERO, ONE = D(0), D(1)
T0 = 1_700_000_000_000  # the exchange's clock (ms): fixed, so the averaging window holds still
TYPES = tuple(kind.value for kind in OrderType)
ALGO = frozenset(kind.value for kind in ALGO_TYPES)
PRICED = frozenset({"LIMIT", "LIMIT_MAKER", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"})
WITH_TIF = frozenset({"LIMIT", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"})
SYMBOL, BASE, QUOTE = "ABCXYZ", "ABC", "XYZ"
OTHER, OTHER_BASE = "DEFXYZ", "DEF"
STATUSES = ("PRE_TRADING", "POST_TRADING", "END_OF_DAY", "HALT", "AUCTION_MATCH", "BREAK")
PARAMETERS = ("time_in_force", "quantity", "quote_order_qty", "price", "stop_price", "iceberg_qty",
              "trailing_delta")
UPS = (D("1.05"), D("1.1"), D("1.2"), D("1.3"), D("2"), D("5"), D("10"))
DOWNS = (D("0.95"), D("0.9"), D("0.8"), D("0.7"), D("0.5"), D("0.2"), D("0.1"))
OFF_GRID = (D("0.5"), D("0.1"), D("0.01"), D("0.000001"))
ROUNDINGS = (ROUND_FLOOR, ROUND_CEILING)


def weighted(*pairs: tuple[int, T]) -> tuple[T, ...]:
    """A pool for ``Choices.pick`` in which each value appears ``weight`` times."""
    return tuple(value for weight, value in pairs for _ in range(weight))


KINDS = weighted((4, "LIMIT"), (3, "MARKET"), (2, "STOP_LOSS"), (2, "STOP_LOSS_LIMIT"),
                 (2, "TAKE_PROFIT"), (2, "TAKE_PROFIT_LIMIT"), (2, "LIMIT_MAKER"))
TIFS = weighted((6, "GTC"), (2, "IOC"), (2, "FOK"))
TRIGGERS = weighted((7, "stop"), (2, "trailing"), (1, "both"))
NUDGES = weighted((10, 0), (2, 1), (2, -1), (1, 2), (1, -2))
ODD = weighted((4, "zero"), (2, "negative"), (2, "tiny"), (1, "tiny+"), (1, "huge"))
COUNT_MARGINS = weighted((1, -1), (2, 0), (3, 1), (2, 2), (4, 200))
UNKNOWN_ENUMS = (("side", "HOLD"), ("type", "OCO"), ("type", "STOP"), ("time_in_force", "GTX"))


# ------------------------------------------------------------------ randomness


class Choices:
    """The few kinds of decision the generators make."""

    def int(self, low: int, high: int) -> int:  # pragma: no cover - interface
        raise NotImplementedError

    def pick(self, pool: Sequence[T]) -> T:  # pragma: no cover - interface
        raise NotImplementedError

    def shuffled(self, items: list[T]) -> list[T]:  # pragma: no cover - interface
        raise NotImplementedError

    def chance(self, one_in: int) -> bool:
        """True once in ``one_in`` times."""
        return self.int(1, one_in) == 1


class Drawn(Choices):
    """Decisions drawn by hypothesis (shrinkable)."""

    def __init__(self, draw) -> None:
        self.draw = draw

    def int(self, low: int, high: int) -> int:
        return self.draw(st.integers(low, high))

    def pick(self, pool: Sequence[T]) -> T:
        return self.draw(st.sampled_from(pool))

    def shuffled(self, items: list[T]) -> list[T]:
        return self.draw(st.permutations(items))


class Seeded(Choices):
    """Decisions of a ``random.Random`` seeded by hypothesis (fast)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def int(self, low: int, high: int) -> int:
        return self.rng.randint(low, high)

    def pick(self, pool: Sequence[T]) -> T:
        return pool[self.rng.randrange(len(pool))]

    def shuffled(self, items: list[T]) -> list[T]:
        items = list(items)
        self.rng.shuffle(items)
        return items


# ------------------------------------------------------------------ grids


def snap(value: Decimal, base: Decimal, step: Decimal, rounding: str) -> Decimal:
    """``value`` moved onto ``base + k * step`` (unchanged when step is 0)."""
    if step <= 0:
        return value
    steps = ((value - base) / step).to_integral_value(rounding=rounding)
    return base + steps * step


def q8(value: Decimal, rounding: str = ROUND_FLOOR) -> Decimal:
    return value.quantize(D("1e-8"), rounding=rounding)


def text(value: Decimal) -> str:
    """A filter value as exchangeInfo writes it (8 decimals)."""
    return format(q8(value), "f")


# ------------------------------------------------------------------ markets


@dataclass
class Resting:
    """One order the account has open before the drawn rules apply."""

    symbol: str
    side: str
    order_type: str
    quantity: Decimal
    price: Decimal | None = None
    stop_price: Decimal | None = None
    iceberg_qty: Decimal | None = None

    def params(self) -> dict[str, str]:
        params = {"symbol": self.symbol, "side": self.side, "type": self.order_type,
                  "quantity": format(self.quantity, "f"), "newOrderRespType": "ACK"}
        if self.price is not None:
            params.update(price=format(self.price, "f"), timeInForce="GTC")
        if self.stop_price is not None:
            params["stopPrice"] = format(self.stop_price, "f")
        if self.iceberg_qty is not None:
            params["icebergQty"] = format(self.iceberg_qty, "f")
        return params


@dataclass
class Market:
    """One drawn market: the symbol, the exchange around it and the account in it."""

    entry: dict = field(default_factory=dict)
    other: dict = field(default_factory=dict)
    exchange_filters: list[dict] = field(default_factory=list)
    asset_filters: list[dict] = field(default_factory=list)
    base_held: Decimal = ZERO
    trades: list[tuple[Decimal, Decimal]] = field(default_factory=list)
    resting: list[Resting] = field(default_factory=list)
    # What the orders are drawn around (0: the symbol has no such filter or part).
    average: Decimal = ZERO
    last: Decimal = ZERO
    tick: Decimal = ZERO
    min_price: Decimal = ZERO
    max_price: Decimal = ZERO
    step: Decimal = ZERO
    lot: Decimal = ZERO  # LOT_SIZE's step, or the market's typical step without one
    min_qty: Decimal = ZERO
    max_qty: Decimal = ZERO
    price_marks: tuple[Decimal, ...] = ()
    qty_marks: tuple[Decimal, ...] = ()
    quote_marks: tuple[Decimal, ...] = ()
    qty_center: Decimal = ZERO  # a quantity most filters accept (above the minimum notional)
    iceberg_parts: int = 0
    trailing: tuple[int, ...] = ()

    def sim_config(self) -> SimConfig:
        """The simulator's config for this market (the default account holds the quote asset)."""
        return SimConfig(symbols=[self.entry, self.other], exchange_filters=self.exchange_filters,
                         asset_filters=self.asset_filters, balances={QUOTE: "1000000000000000"},
                         participant_interval_ms=3_600_000)

    def describe(self) -> str:
        """Everything needed to rebuild this market, as one JSON line."""
        return json.dumps({"symbol": self.entry, "exchangeFilters": self.exchange_filters,
                           "assetFilters": self.asset_filters, "baseHeld": str(self.base_held),
                           "trades": [[str(p), str(q)] for p, q in self.trades],
                           "resting": [r.params() for r in self.resting]})


def average_of(minutes: int, start: Decimal, trades: list[tuple[Decimal, Decimal]]) -> Decimal:
    """The simulator's average of ``trades`` (only to centre the drawn prices on it)."""
    average = AveragePrice(minutes, start)
    for price, qty in trades:
        average.add(T0, price, qty)
    return average.value(T0)


def draw_market(c: Choices) -> Market:
    """A symbol with random filters, and the account and market state around it."""
    m = Market()
    tick = c.pick((1, 1, 1, 5)) * ONE.scaleb(c.int(-8, 2))
    price = tick * c.int(20, 500_000)
    # A lot worth between a millionth and ten units of the quote asset, as on real symbols
    # (now and then a billionth: a price * quantity that rounds to nothing).
    magnitude = price.adjusted()
    lowest = -magnitude - (9 if c.chance(10) else 6)
    step = c.pick((1, 1, 1, 5)) * ONE.scaleb(c.int(max(-8, lowest), max(-8, min(3, 1 - magnitude))))
    avg_mins = c.pick((0, 1, 5, 5))  # one window for every filter of the symbol, as on Binance

    for _ in range(c.int(0, 3)):
        moved = snap(price * c.int(90, 110) / 100, ZERO, tick, ROUND_FLOOR)
        m.trades.append((max(moved, tick), step * c.int(1, 1000)))
    m.average = average_of(avg_mins, price, m.trades)
    m.last = m.trades[-1][0] if m.trades else price

    _draw_resting(c, m, price, tick, step)
    here = [r for r in m.resting if r.symbol == SYMBOL]
    m.base_held = step * c.int(0, 10_000)
    position = m.base_held + sum((r.quantity for r in here), ZERO)  # SELLs lock base, BUYs add

    filters: list[dict] = []
    qty_marks: list[Decimal] = []
    price_marks: list[Decimal] = []
    quote_marks: list[Decimal] = []
    if not c.chance(10):
        m.tick = c.pick(weighted((9, tick), (1, ZERO)))
        m.min_price = c.pick(weighted((5, tick), (2, ZERO), (2, snap(price / 2, ZERO, tick, ROUND_FLOOR)),
                                      (1, price - 3 * tick), (1, tick / 2)))
        m.max_price = c.pick(weighted((5, price * 10_000), (2, ZERO), (2, price * 2), (1, price + 3 * tick)))
        filters.append({"filterType": "PRICE_FILTER", "minPrice": text(m.min_price),
                        "maxPrice": text(m.max_price), "tickSize": text(m.tick)})
    percent = c.int(0, 9)
    if percent < 4:
        up, down = c.pick(UPS), c.pick(DOWNS)
        price_marks += [m.average * up, m.average * down, m.last * up, m.last * down]
        filters.append({"filterType": "PERCENT_PRICE", "multiplierUp": str(up),
                        "multiplierDown": str(down), "avgPriceMins": avg_mins})
    elif percent < 7:
        bands = [c.pick(UPS), c.pick(DOWNS), c.pick(UPS), c.pick(DOWNS)]
        price_marks += [m.average * band for band in bands] + [m.last * band for band in bands]
        filters.append({"filterType": "PERCENT_PRICE_BY_SIDE",
                        "bidMultiplierUp": str(bands[0]), "bidMultiplierDown": str(bands[1]),
                        "askMultiplierUp": str(bands[2]), "askMultiplierDown": str(bands[3]),
                        "avgPriceMins": avg_mins})
    m.lot = step
    if not c.chance(10):
        m.step = c.pick(weighted((9, step), (1, ZERO)))
        m.min_qty = step * c.pick((1, 1, 1, 2, 10, 0))
        m.max_qty = step * c.pick(weighted((5, 10**9), (3, 10**5), (1, 1000), (1, 0)))
        filters.append({"filterType": "LOT_SIZE", "minQty": text(m.min_qty),
                        "maxQty": text(m.max_qty), "stepSize": text(m.step)})
    if c.chance(2):
        market_step = c.pick(weighted((3, ZERO), (2, step), (1, step * 10)))
        market_min = c.pick(weighted((3, ZERO), (2, step), (1, step * 5)))
        market_max = step * c.pick(weighted((3, 10**6), (2, 1000), (1, 10)))
        qty_marks += [market_min, market_max]
        filters.append({"filterType": "MARKET_LOT_SIZE", "minQty": text(market_min),
                        "maxQty": text(market_max), "stepSize": text(market_step)})
    lot = m.min_qty if m.min_qty > 0 else step
    notional_kind = c.int(0, 9)
    if notional_kind < 7:
        low = q8(m.average * lot * c.pick((0, 1, 5, 10, 100, 1000)))
        quote_marks.append(low)
        if notional_kind < 3:
            filters.append({"filterType": "MIN_NOTIONAL", "minNotional": text(low),
                            "applyToMarket": c.pick((False, True)), "avgPriceMins": avg_mins})
        else:
            high = q8(max(low, m.average * lot) * c.pick(weighted((4, 10**6), (3, 1000), (2, 10), (1, 0))))
            quote_marks.append(high)
            filters.append({"filterType": "NOTIONAL", "minNotional": text(low),
                            "applyMinToMarket": c.pick((False, True)), "maxNotional": text(high),
                            "applyMaxToMarket": c.pick((False, True)), "avgPriceMins": avg_mins})
    if not c.chance(3):
        m.iceberg_parts = c.pick((1, 2, 5, 10, 10, 20, 100))
        filters.append({"filterType": "ICEBERG_PARTS", "limit": m.iceberg_parts})
    counts = (len(here), sum(1 for r in here if r.order_type in ALGO), sum(1 for r in here if r.iceberg_qty))
    for kind, key, now in (("MAX_NUM_ORDERS", "maxNumOrders", counts[0]),
                           ("MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders", counts[1]),
                           ("MAX_NUM_ICEBERG_ORDERS", "maxNumIcebergOrders", counts[2])):
        if not c.chance(3):
            filters.append({"filterType": kind, key: max(0, now + c.pick(COUNT_MARGINS))})
    if c.chance(4):
        max_position = max(ZERO, position + step * c.pick((-5, 0, 1, 10, 1000, 10**6)))
        qty_marks.append(max_position - position)
        filters.append({"filterType": "MAX_POSITION", "maxPosition": text(max_position)})
    if c.chance(2):
        m.trailing = (c.pick((1, 10, 100)), c.pick((500, 2000, 5000)), c.pick((1, 10, 100)),
                      c.pick((500, 2000, 5000)))
        filters.append({"filterType": "TRAILING_DELTA", "minTrailingAboveDelta": m.trailing[0],
                        "maxTrailingAboveDelta": m.trailing[1], "minTrailingBelowDelta": m.trailing[2],
                        "maxTrailingBelowDelta": m.trailing[3]})
    if c.chance(5):  # they limit order lists and amendments: nothing a new order adds
        filters.append({"filterType": "MAX_NUM_ORDER_LISTS", "maxNumOrderLists": c.int(0, 10)})
    if c.chance(5):
        filters.append({"filterType": "MAX_NUM_ORDER_AMENDS", "maxNumOrderAmends": 10})

    precision = c.pick(weighted((19, 8), (1, c.int(0, 7))))
    quote_precision = c.pick(weighted((19, 8), (1, c.int(0, 7))))
    order_types = list(TYPES) if not c.chance(8) else sorted(
        {c.pick(TYPES) for _ in range(c.int(1, 7))})
    m.entry = {
        "symbol": SYMBOL, "status": c.pick(weighted((39, "TRADING"), (1, c.pick(STATUSES)))),
        "baseAsset": BASE, "baseAssetPrecision": precision, "quoteAsset": QUOTE,
        "quotePrecision": quote_precision, "quoteAssetPrecision": quote_precision,
        "orderTypes": order_types, "icebergAllowed": c.pick(weighted((9, True), (1, False))),
        "ocoAllowed": c.pick((False, True)),
        "quoteOrderQtyMarketAllowed": c.pick(weighted((9, True), (1, False))),
        "allowTrailingStop": c.pick(weighted((6, True), (1, False))),
        "isSpotTradingAllowed": c.pick(weighted((39, True), (1, False))),
        "permissions": c.pick(weighted((30, ("SPOT",)), (6, ("SPOT", "MARGIN")), (1, ("MARGIN",)), (3, ()))),
        "filters": c.shuffled(filters), "simInitialPrice": text(price), "simLot": text(step),
    }
    m.entry["permissions"] = list(m.entry["permissions"])
    m.other = {"symbol": OTHER, "status": "TRADING", "baseAsset": OTHER_BASE, "quoteAsset": QUOTE,
               "filters": [], "simInitialPrice": "100", "simLot": "1"}

    every = (len(m.resting), sum(1 for r in m.resting if r.order_type in ALGO),
             sum(1 for r in m.resting if r.iceberg_qty))
    exchange_filters = []
    for kind, key, now in (("EXCHANGE_MAX_NUM_ORDERS", "maxNumOrders", every[0]),
                           ("EXCHANGE_MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders", every[1]),
                           ("EXCHANGE_MAX_NUM_ICEBERG_ORDERS", "maxNumIcebergOrders", every[2])):
        if c.chance(3):
            exchange_filters.append({"filterType": kind, key: max(0, now + c.pick(COUNT_MARGINS))})
    m.exchange_filters = c.shuffled(exchange_filters)
    if c.chance(5):
        asset = c.pick((BASE, QUOTE))
        limit = q8((lot if asset == BASE else m.average * lot) * c.pick((1, 10, 100, 10_000)))
        (qty_marks if asset == BASE else quote_marks).append(limit)
        m.asset_filters = [{"filterType": "MAX_ASSET", "asset": asset, "limit": text(limit)}]

    for quote in quote_marks:  # the quantities and prices where a notional limit is met
        if quote > 0:
            qty_marks.append(quote / m.average)
            price_marks.append(quote / lot)
    m.qty_marks = tuple(mark for mark in qty_marks if mark > 0)
    m.price_marks = tuple(mark for mark in price_marks + [m.min_price, m.max_price] if mark > 0)
    m.quote_marks = tuple(mark for mark in quote_marks if mark > 0) or (m.average * lot,)
    m.qty_center = max(lot, 2 * low / m.average) if notional_kind < 7 else lot * 10
    return m


def _draw_resting(c: Choices, m: Market, price: Decimal, tick: Decimal, step: Decimal) -> None:
    """Resting orders that cannot trade: BUYs below every price drawn, SELLs and stops far off."""
    for _ in range(c.int(0, 4)):
        side = c.pick(("BUY", "SELL"))
        away = tick * c.int(1, 19)
        m.resting.append(Resting(SYMBOL, side, "LIMIT", step * c.int(1, 100),
                                 price=price - away if side == "BUY" else price * 2 + away))
    for _ in range(c.int(0, 2)):
        side = c.pick(("BUY", "SELL"))
        m.resting.append(Resting(SYMBOL, side, "STOP_LOSS", step * c.int(1, 100),
                                 stop_price=price * 20 if side == "BUY" else tick))
    for _ in range(c.int(0, 2)):
        qty = step * c.int(2, 100)
        m.resting.append(Resting(SYMBOL, "SELL", "LIMIT", qty, price=price * 3,
                                 iceberg_qty=snap(qty / 2, ZERO, step, ROUND_FLOOR)))
    for _ in range(c.int(0, 3)):
        if c.chance(2):
            m.resting.append(Resting(OTHER, "BUY", "LIMIT", ONE, price=ONE))
        else:
            m.resting.append(Resting(OTHER, "BUY", "STOP_LOSS", ONE, stop_price=D(1000)))


@st.composite
def scenarios(draw) -> Market:
    """A hypothesis strategy of markets (``draw_market``)."""
    return draw_market(Drawn(draw))


# ------------------------------------------------------------------ orders


def _value(c: Choices, center: Decimal, base: Decimal, step: Decimal, marks: Sequence[Decimal]) -> Decimal:
    """A value on, next to or across the grid ``base + k * step`` and the marks (bounds, limits)."""
    unit = step if step > 0 else center / 1000
    choice = c.int(0, 19)
    if choice < 7 and marks:
        anchor = c.pick(marks)
    elif choice == 7:
        odd = c.pick(ODD)
        if odd == "zero":
            return ZERO
        if odd == "negative":
            return -unit
        if odd == "huge":
            return D(10) ** 15
        return D("0.000000001") + (unit if odd == "tiny+" else ZERO)
    else:
        anchor = center * (c.int(1, 1000) if c.chance(4) else c.int(80, 150)) / 100
    if step > 0:
        anchor = snap(anchor, base, step, c.pick(ROUNDINGS))
    value = anchor + unit * c.pick(NUDGES)
    if c.chance(10):
        value += unit * c.pick(OFF_GRID)
    if value > 0 and not c.chance(15):
        value = q8(value)
    return value


def draw_order(c: Choices, m: Market) -> OrderRequest:
    """One order on ``m``'s symbol, drawn around its filters' boundaries."""
    kind = c.pick(KINDS)
    params: dict[str, object] = {}

    def quantity() -> Decimal:
        return _value(c, m.qty_center, m.min_qty, m.step, m.qty_marks)

    def price() -> Decimal:
        return _value(c, m.average, m.min_price, m.tick, m.price_marks)

    if kind != "MARKET":
        params["quantity"] = quantity()
    elif c.chance(4):
        params["quote_order_qty"] = _value(c, m.quote_marks[0], ZERO, D("0.00000001"), m.quote_marks)
    else:
        params["quantity"] = quantity()
    if kind in PRICED:
        params["price"] = price()
    if kind in WITH_TIF:
        params["time_in_force"] = c.pick(TIFS)
    if kind in ALGO:
        trigger = c.pick(TRIGGERS)
        if trigger != "trailing":
            choice = c.int(0, 9)
            if choice < 6:  # around the last price: the "would trigger immediately" boundary
                params["stop_price"] = m.last + (m.tick or m.last / 1000) * c.int(-5, 5)
            elif choice < 9:
                params["stop_price"] = price()
            else:
                params["stop_price"] = m.last * c.pick((D("0.5"), D(2)))
        if trigger != "stop":
            marks = m.trailing or (10, 2000)
            params["trailing_delta"] = (max(1, c.pick(marks) + c.int(-1, 1)) if not c.chance(10)
                                        else c.int(-1, 20_000))
    if kind in PRICED and c.chance(4):
        qty = params["quantity"]
        if qty > 0 and not c.chance(5):
            parts = max(1, (m.iceberg_parts or 10) + c.int(-1, 1))
            iceberg = qty / parts
            params["iceberg_qty"] = (snap(iceberg, m.min_qty, m.step, c.pick(ROUNDINGS))
                                     if not c.chance(6) else q8(iceberg))
        else:
            params["iceberg_qty"] = quantity()

    if c.chance(25):  # a mandatory parameter missing
        params.pop(c.pick(sorted(params)), None)
    if c.chance(25):  # a parameter the type may not take
        extra = c.pick(PARAMETERS)
        if extra not in params:
            params[extra] = {"time_in_force": "GTC", "trailing_delta": 100}.get(extra) or price()
    request = OrderRequest(symbol=SYMBOL, side=Side(c.pick(("BUY", "SELL"))), type=OrderType(kind),
                           **{name: TimeInForce(value) if name == "time_in_force" else value
                              for name, value in params.items()})
    if c.chance(200):  # a side, type or timeInForce no exchange knows
        name, value = c.pick(UNKNOWN_ENUMS)
        request = msgspec.structs.replace(request, **{name: value})
    return request


def orders(m: Market) -> st.SearchStrategy[OrderRequest]:
    """A hypothesis strategy of orders on ``m`` (``draw_order``)."""
    return st.composite(lambda draw: draw_order(Drawn(draw), m))()


def order_batch(m: Market, seed: int, size: int) -> list[OrderRequest]:
    """``size`` orders on ``m`` from a ``random.Random(seed)``: what ``orders(m)`` draws, fast."""
    c = Seeded(seed)
    return [draw_order(c, m) for _ in range(size)]
