"""The simulated exchange: order entry, settlement and the events they cause.

Why everything here is synchronous: one REST request or one participant action
is one atomic step of the exchange, applied between two awaits of the trio
loop.  No locks are needed, a matching plan stays exact while it is applied,
and the events of a step reach every subscriber queue in the order they happened.

Money rules (all exact ``Decimal``):

* a BUY LIMIT locks ``price * quantity`` of the quote asset (rounded up to 1e-8),
  a SELL locks ``quantity`` of the base asset; a MARKET order locks what its
  planned executions cost, a quote-budget MARKET BUY its ``quoteOrderQty``;
* an execution moves ``price * qty`` truncated to 1e-8 from buyer to seller;
* commission (maker or taker rate, rounded up to 1e-8) is charged in the
  asset received; what the lock no longer needs goes back to free at once.

Events per step: ``executionReport`` for every change of a user order as it
happens, then one ``outboundAccountPosition`` per account whose balances
changed, then ``bookTicker`` where the best bid or ask changed.
"""

from __future__ import annotations

import logging
import random
import string
import time
from collections.abc import Callable, Iterable
from decimal import Decimal

from sim import errors, render
from sim.accounts import Account, AccountRegistry, TradeRecord
from sim.commissions import commission
from sim.config import SimConfig
from sim.contingent import AT_MARKET, ContingentOrders
from sim.engine import Match, Order, OrderBook
from sim.filters import AveragePrice
from sim.hub import EventHub, market_topic, user_topic
from sim.market import SyntheticMarket
from sim.market_clock import MarketClock
from sim.numbers import ZERO, up8
from sim.order_checks import check_user_order
from sim.requests import NewOrder, OrderRef
from sim.symbols import SymbolSpec
from sim.tape import Tape
from sim.wallet import WalletBook

log = logging.getLogger(__name__)

_ID_ALPHABET = string.ascii_letters + string.digits


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class Exchange(ContingentOrders):
    """All symbols, books and accounts of one simulator; ``step()`` drives the market.

    ``clock`` returns exchange time in milliseconds (wall clock by default);
    ``seed_liquidity=False`` leaves the books empty until the first ``step()``.
    ``symbols`` defaults to the config's trading rules (``SimConfig.symbols``, else
    the built-in symbols).  Stop orders and OCO lists: ``sim.contingent``.
    """

    def __init__(
        self,
        config: SimConfig,
        *,
        symbols: Iterable[SymbolSpec] | None = None,
        clock: Callable[[], int] = wall_clock_ms,
        seed_liquidity: bool = True,
    ) -> None:
        self.config = config
        self.clock = clock
        self.hub = EventHub()
        # Symbols, exchange filters and MAX_ASSET limits (sim.rules), shown and enforced.
        self.rules = config.trading_rules()
        chosen = self.rules.symbols if symbols is None else tuple(symbols)
        self.specs: dict[str, SymbolSpec] = {spec.symbol: spec for spec in chosen}
        self.tape = Tape(config.trade_history)  # public trades (sim.tape)
        self._init_contingent()
        self.books = {name: OrderBook(name) for name in self.specs}
        self.avg_prices = {
            name: AveragePrice(spec.avg_price_mins, spec.initial_price)
            for name, spec in self.specs.items()
        }
        self.participant_rates = (Decimal(config.maker_commission), Decimal(config.taker_commission))
        self.accounts = AccountRegistry()
        assert config.api_key is not None and config.api_secret is not None
        self.default_account = self.accounts.add(
            config.api_key, config.api_secret, config.decimal_balances(),
            maker_rate=self.participant_rates[0], taker_rate=self.participant_rates[1],
        )
        self.default_account.bnb_burn = config.bnb_burn
        self._order_ids = dict.fromkeys(self.specs, 0)
        self._trade_ids = dict.fromkeys(self.specs, 0)
        self._ids = random.Random(f"tradingd-sim-client-ids:{config.seed}")
        self._tops: dict[str, object] = {}
        # Called with the symbols a step touched, once it is complete, and before a depth
        # snapshot is rendered (sim.market_feed: aggTrade groups, diff-depth levels).
        self.book_observers: list[Callable[[Iterable[str]], None]] = []
        self.market_paused = False
        # The one clock of klines and 24-hour statistics, streams and REST alike.
        self.market_clock = MarketClock(config.time_factor, self.now_ms())
        self.market = SyntheticMarket(self, config)
        if seed_liquidity:  # tests of the matching rules start from empty books
            self.market.seed_books()
        # Wallets beyond SPOT, transfers, savings, dust, snapshots (sim.wallet).
        self.wallet = WalletBook(self)

    # ------------------------------------------------------------------ basics

    def now_ms(self) -> int:
        return self.clock()

    def spec(self, symbol: str) -> SymbolSpec:
        found = self.specs.get(symbol)
        if found is None:
            raise errors.invalid_symbol()
        return found

    def step(self) -> None:
        """One round of the synthetic participants on every symbol (tests call it directly)."""
        self.market.step()

    def pause_market(self) -> None:
        """Stop the background participants (``step()`` still works): the book holds still."""
        self.market_paused = True

    def resume_market(self) -> None:
        self.market_paused = False

    # ---------------------------------------------------------------- REST API

    def place_order(self, account: Account, request: NewOrder) -> dict[str, object]:
        order, fills, now = self._place(account, request)
        self._publish_changes([order.symbol])
        if request.response_type == "ACK":
            return render.order_ack(order, now)
        if request.response_type == "RESULT":
            return render.order_result(order, now)
        return render.order_full(order, now, fills)

    def cancel_order(self, account: Account, ref: OrderRef) -> dict[str, object]:
        self.spec(ref.symbol)
        order = account.find_order(ref.symbol, ref.order_id, ref.orig_client_order_id)
        if order is None or not order.is_open:
            raise errors.cancel_rejected(errors.UNKNOWN_ORDER)
        cancel_id = ref.new_client_order_id or self._new_client_id()
        if order.order_list_id != -1:  # canceling a leg cancels the whole OCO
            self._cancel_list(account.order_lists[order.order_list_id], cancel_id)
        else:
            self._cancel(order, "CANCELED", client_order_id=cancel_id)
        self._publish_changes([order.symbol])
        return render.order_canceled(order, cancel_id)

    def query_order(self, account: Account, ref: OrderRef) -> dict[str, object]:
        self.spec(ref.symbol)
        order = account.find_order(ref.symbol, ref.order_id, ref.orig_client_order_id)
        if order is None:
            raise errors.no_such_order()
        return render.order_query(order)

    def open_orders(self, account: Account, symbol: str | None) -> list[dict[str, object]]:
        if symbol is not None:
            self.spec(symbol)
        return [render.order_query(order) for order in account.open_orders(symbol)]

    def my_trades(
        self, account: Account, symbol: str, *, order_id: int | None = None,
        start_time: int | None = None, end_time: int | None = None,
        from_id: int | None = None, limit: int = 500,
    ) -> list[dict[str, object]]:
        """``fromId`` or ``startTime``: the oldest ``limit`` from there; else the newest."""
        self.spec(symbol)
        records = [
            record
            for record in account.trades.get(symbol, [])
            if (order_id is None or record.order_id == order_id)
            and (start_time is None or record.time >= start_time)
            and (end_time is None or record.time <= end_time)
            and (from_id is None or record.trade_id >= from_id)
        ]
        oldest_first = from_id is not None or start_time is not None
        chosen = records[:limit] if oldest_first else records[-limit:]
        return [render.my_trade(record) for record in chosen]

    def account_info(self, account: Account) -> dict[str, object]:
        return render.account_info(account, self.wallet.book(account).uid)

    def depth(self, symbol: str, limit: int) -> dict[str, object]:
        book = self.books[self.spec(symbol).symbol]
        for observe in self.book_observers:
            observe((book.symbol,))
        return render.depth_snapshot(
            book.update_id, book.levels("BUY", limit), book.levels("SELL", limit)
        )

    def avg_price(self, symbol: str) -> Decimal:
        return self.avg_prices[symbol].value(self.now_ms())

    # ------------------------------------------------------ participant entry

    def participant_order(self, request: NewOrder) -> Order:
        """An order of a synthetic participant: no account, no filters, same matching."""
        order, _, _ = self._place(None, request)
        return order

    def participant_cancel(self, order: Order) -> None:
        if order.is_open:
            self._cancel(order, "CANCELED", client_order_id=order.client_order_id)

    def publish_changes(self, symbols: Iterable[str]) -> None:
        """Flush account positions and book tickers after a batch of participant actions."""
        self._publish_changes(symbols)

    # ---------------------------------------------------------------- internals

    def _place(self, owner: Account | None, req: NewOrder) -> tuple[Order, list[render.Fill], int]:
        spec = self.spec(req.symbol)
        book = self.books[spec.symbol]
        now = self.now_ms()
        if spec.status != "TRADING":
            raise errors.order_rejected(errors.MARKET_CLOSED)
        if owner is not None:
            self.check_user_order(owner, spec, req, now)
            if req.is_algo:
                return self._park(owner, spec, req, now), [], now
        if req.order_type == "LIMIT_MAKER":
            assert req.price is not None
            if book.would_cross(req.side, req.price):
                raise errors.order_rejected(errors.WOULD_TAKE)
        matches = book.plan(
            req.side,
            limit_price=None if req.order_type == "MARKET" else req.price,
            quantity=req.quantity,
            quote_budget=req.quote_order_qty,
            step=spec.step_size,
        )
        reserve = self._reservation(req, matches)
        if owner is not None:
            owner.lock(self._lock_asset(spec, req.side), reserve)  # may refuse: nothing changed yet
        order = self._new_order(owner, spec, req, matches, reserve, now)
        fills = self._match(spec, book, order, matches, now)
        self.run_triggers()
        return order, fills, now

    def check_user_order(self, owner: Account, spec: SymbolSpec, req: NewOrder,
                         now: int) -> None:
        """Everything but balance and the book (``sim.order_checks``); order/test uses it too."""
        check_user_order(owner, spec, req, avg_price=self.avg_prices[spec.symbol].value(now),
                         last_price=self.last_price(spec.symbol),
                         exchange_filters=self.rules.exchange_filters,
                         asset_limits=dict(self.rules.asset_limits))

    @staticmethod
    def _lock_asset(spec: SymbolSpec, side: str) -> str:
        return spec.quote if side == "BUY" else spec.base

    @staticmethod
    def _reservation(req: NewOrder, matches: list[Match]) -> Decimal:
        if req.order_type != "MARKET":
            assert req.price is not None and req.quantity is not None
            return up8(req.price * req.quantity) if req.side == "BUY" else req.quantity
        if req.side == "BUY":
            if req.quote_order_qty is not None:
                return req.quote_order_qty
            return sum((match.quote_qty for match in matches), ZERO)
        if req.quantity is not None:
            return req.quantity
        return sum((match.qty for match in matches), ZERO)

    def _new_order(
        self, owner: Account | None, spec: SymbolSpec, req: NewOrder,
        matches: list[Match], reserve: Decimal, now: int,
    ) -> Order:
        self._order_ids[spec.symbol] += 1
        order_id = self._order_ids[spec.symbol]
        if req.quantity is not None:
            quantity = req.quantity
        else:  # quoteOrderQty: the quantity is what the budget buys, as on Binance
            quantity = sum((match.qty for match in matches), ZERO)
        order = Order(
            symbol=spec.symbol,
            order_id=order_id,
            client_order_id=req.client_order_id
            or (self._new_client_id() if owner is not None else f"sim{order_id}"),
            side=req.side,
            order_type=req.order_type,
            time_in_force=req.time_in_force,
            price=req.price if req.price is not None else ZERO,
            orig_qty=quantity,
            quote_order_qty=req.quote_order_qty or ZERO,
            time=now,
            update_time=now,
            owner=owner,
            reserved=reserve if owner is not None else ZERO,
            stop_price=req.stop_price or ZERO,
            iceberg_qty=req.iceberg_qty or ZERO,
            trailing_delta=req.trailing_delta or 0,
            working_time=now,  # in the book (or traded) from now; a parked stop resets it
        )
        if owner is not None:
            owner.add_order(order)
            log.debug("order.new symbol=%s id=%d side=%s type=%s", spec.symbol, order_id,
                      order.side, order.order_type)
        return order

    def _execute(
        self, spec: SymbolSpec, book: OrderBook, taker: Order, match: Match, now: int
    ) -> render.Fill:
        self._trade_ids[spec.symbol] += 1
        trade_id = self._trade_ids[spec.symbol]
        maker = match.maker
        book.fill(match)
        taker.executed_qty += match.qty
        taker.cum_quote += match.quote_qty
        taker.status = "FILLED" if taker.remaining <= 0 else "PARTIALLY_FILLED"
        maker.update_time = taker.update_time = now
        maker_fill = self._settle(spec, maker, match, trade_id, is_maker=True, now=now)
        taker_fill = self._settle(spec, taker, match, trade_id, is_maker=False, now=now)
        self.avg_prices[spec.symbol].add(now, match.price, match.qty)
        self.tape[spec.symbol].record(trade_id, match.price, match.qty, now,
                                      buyer_is_maker=maker.side == "BUY",
                                      taker_order_id=taker.order_id)
        self._note_trade(spec.symbol, match.price)  # stop orders fire after this taker
        buyer, seller = (taker, maker) if taker.side == "BUY" else (maker, taker)
        self.hub.publish(
            market_topic(spec.symbol, "trade"),
            render.trade_event(spec.symbol, trade_id, match.price, match.qty, buyer.order_id,
                               seller.order_id, now, buyer_is_maker=maker.side == "BUY"),
        )
        if maker.status == "FILLED":
            self._release(spec, maker)
        self._report(maker, "TRADE", now, fill=maker_fill)
        self._report(taker, "TRADE", now, fill=taker_fill)
        if maker.order_list_id != -1:  # an OCO's limit leg traded: the other leg expires
            self._leg_touched(maker, now)
        return taker_fill

    def _settle(
        self, spec: SymbolSpec, order: Order, match: Match, trade_id: int, *, is_maker: bool,
        now: int,
    ) -> render.Fill:
        owner = order.owner
        rates = (owner.maker_rate, owner.taker_rate) if owner else self.participant_rates
        rate = rates[0] if is_maker else rates[1]
        quote = match.quote_qty
        charge = commission(
            side=order.side, base=spec.base, quote=spec.quote, price=match.price, qty=match.qty,
            quote_qty=quote, rate=rate, bnb_burn=owner is not None and owner.bnb_burn,
            free_bnb=owner.balance("BNB").free if owner is not None and owner.bnb_burn else ZERO,
            bnb_price=self._bnb_price)
        commission_paid, commission_asset = charge.amount, charge.asset
        fill = render.Fill(trade_id, match.price, match.qty, quote, commission_paid,
                           commission_asset, is_maker, now)
        if owner is None:
            return fill
        received_fee = ZERO if charge.in_bnb else commission_paid
        if charge.in_bnb:
            owner.debit("BNB", commission_paid)
        if order.side == "BUY":
            owner.spend_locked(spec.quote, quote)
            order.reserved -= quote
            owner.credit(spec.base, match.qty - received_fee)
            if order.order_type not in AT_MARKET:  # keep locked only what the rest still needs
                excess = order.reserved - up8(order.price * order.remaining)
                if excess > 0:
                    owner.unlock(spec.quote, excess)
                    order.reserved -= excess
        else:
            owner.spend_locked(spec.base, match.qty)
            order.reserved -= match.qty
            owner.credit(spec.quote, quote - received_fee)
        owner.update_time = now
        owner.record_trade(TradeRecord(
            symbol=spec.symbol, trade_id=trade_id, order_id=order.order_id, price=match.price,
            qty=match.qty, quote_qty=quote, commission=commission_paid,
            commission_asset=commission_asset, time=now, is_buyer=order.side == "BUY",
            is_maker=is_maker, order_list_id=order.order_list_id,
        ))
        return fill

    def _bnb_price(self, quote: str) -> Decimal | None:
        """The last price of BNB in ``quote`` (BNB burn), None without a BNB/quote symbol."""
        for spec in self.specs.values():
            if spec.base == "BNB" and spec.quote == quote:
                return self.last_price(spec.symbol)
        return None

    def _finish_taker(self, spec: SymbolSpec, book: OrderBook, order: Order, now: int) -> None:
        if order.order_type == "MARKET" and order.quote_order_qty > 0:
            exhausted = book.best("SELL" if order.side == "BUY" else "BUY") is None
            unspent = order.cum_quote < order.quote_order_qty
            expired = order.executed_qty == 0 or (exhausted and unspent)
        else:
            expired = order.remaining > 0 and (
                order.order_type in AT_MARKET or order.time_in_force in ("IOC", "FOK")
            )
        if expired:
            order.status = "EXPIRED"
            order.update_time = now
            self._release(spec, order)
            self._report(order, "EXPIRED", now)
        elif order.remaining > 0:
            if not order.on_book:
                book.add(order)  # GTC rests, NEW or PARTIALLY_FILLED
            elif order.executed_qty > 0:
                book.redisplay(order)  # an iceberg that took first shows a fresh part
        else:
            self._release(spec, order)

    def _cancel(self, order: Order, status: str, *, client_order_id: str) -> None:
        spec = self.specs[order.symbol]
        self.books[order.symbol].remove(order)
        self.stops[order.symbol].remove(order)
        order.status = status
        order.update_time = self.now_ms()
        self._release(spec, order)
        self._report(order, status, order.update_time, client_order_id=client_order_id,
                     orig_client_order_id=order.client_order_id)

    def _release(self, spec: SymbolSpec, order: Order) -> None:
        """Give back to free whatever the order still holds locked (it is done)."""
        if order.owner is not None and order.reserved > 0:
            order.owner.unlock(self._lock_asset(spec, order.side), order.reserved)
            order.reserved = ZERO

    def _report(self, order: Order, execution_type: str, now: int, *,
                fill: render.Fill | None = None, client_order_id: str | None = None,
                orig_client_order_id: str = "") -> None:
        if order.owner is None:
            return
        self.hub.publish(
            user_topic(order.owner.account_id),
            render.execution_report(order, execution_type, now, fill=fill,
                                    client_order_id=client_order_id,
                                    orig_client_order_id=orig_client_order_id),
        )

    def _publish_changes(self, symbols: Iterable[str]) -> None:
        symbols = tuple(dict.fromkeys(symbols))
        for observe in self.book_observers:
            observe(symbols)
        now = self.now_ms()
        for account in self.accounts:
            changed = account.take_changes()
            if changed:
                self.hub.publish(user_topic(account.account_id),
                                 render.account_position(account, changed, now))
        for symbol in dict.fromkeys(symbols):
            book = self.books[symbol]
            top = (book.best("BUY"), book.best("SELL"))
            if self._tops.get(symbol) == top:
                continue
            self._tops[symbol] = top
            payload = render.book_ticker(symbol, book.update_id, top[0], top[1])
            self.hub.publish(market_topic(symbol, "bookTicker"), payload)
            self.hub.publish("!bookTicker", payload)

    def _new_client_id(self) -> str:
        return "".join(self._ids.choice(_ID_ALPHABET) for _ in range(22))
