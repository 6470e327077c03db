"""daemon.gateway with live inputs: counts from the store plus in-flight orders, position,
unknown filters, adjust, risk checks, the ORDERS rate budget, close, explain."""

from __future__ import annotations

import logging
from decimal import Decimal as D

import trio

from daemon.gateway import Gateway
from daemon.orders import Accepted, OrderRequest, OrderType, RejectCode, Rejection, Side, TimeInForce
from daemon.venues.binance.models import ExchangeInfo, RateLimit, RestOrder, SymbolInfo
from gateway_fakes import FakeRest, FakeStore, Journal, open_order

PRICE = {"filterType": "PRICE_FILTER", "minPrice": "0.01", "maxPrice": "1000000", "tickSize": "0.01"}
LOT = {"filterType": "LOT_SIZE", "minQty": "0.00001", "maxQty": "9000", "stepSize": "0.00001"}
TYPES = tuple(t.value for t in OrderType)


def info(*filters, symbol="BTCUSDT", base="BTC", exchange=(), rate_limits=(), **kw) -> ExchangeInfo:
    spec = SymbolInfo(symbol=symbol, status="TRADING", base_asset=base, quote_asset="USDT",
                      order_types=TYPES, iceberg_allowed=True, filters=(PRICE, LOT) + filters, **kw)
    eth = SymbolInfo(symbol="ETHUSDT", status="TRADING", base_asset="ETH", quote_asset="USDT",
                     order_types=TYPES, filters=(PRICE, LOT))
    return ExchangeInfo(symbols=(spec, eth), exchange_filters=tuple(exchange), rate_limits=tuple(rate_limits))


def make(exchange_info, *, wallet=None, last=D("100"), book=(None, None), **kw):
    journal = Journal()
    rest, store = FakeRest(journal), FakeStore(journal)
    balances = wallet if wallet is not None else {"USDT": (D("100000"), D("0")), "BTC": (D("1"), D("0"))}
    gateway = Gateway(rest, store, exchange_info, balances=lambda: balances,
                      reference_price=lambda symbol: last, best_bid_ask=lambda symbol: book, **kw)
    return gateway, rest, store, journal


def buy(qty="0.01", price="100", cid=None, **kw) -> OrderRequest:
    return OrderRequest(symbol="BTCUSDT", side=Side.BUY, type=OrderType.LIMIT, time_in_force=TimeInForce.GTC,
                        quantity=D(qty), price=D(price), client_order_id=cid, **kw)


# ------------------------------------------------------------------ counts and position


async def test_open_orders_in_store_and_in_flight_count_against_max_num_orders():
    gateway, rest, store, journal = make(info({"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 2}))
    store.open_orders = [open_order(cid="old-1"), open_order("ETHUSDT", cid="eth-1")]
    with trio.fail_after(5):  # a regression would send the order and wait on the gate
        async with trio.open_nursery() as nursery:
            rest.gate = trio.Event()
            nursery.start_soon(lambda: gateway.submit(buy(cid="first"), strategy="a"))
            await rest.entered.wait()
            refused = await gateway.submit(buy(cid="second"), strategy="b")
            assert refused.code is RejectCode.MAX_NUM_ORDERS
            assert refused.reason == "MAX_NUM_ORDERS: 2 open orders on BTCUSDT + 1 new would exceed maxNumOrders 2"
            rest.gate.set()
    assert gateway.stats().rejected == {"MAX_NUM_ORDERS": 1} and gateway.stats().accepted == 1


async def test_exchange_wide_counts_include_every_symbol_and_lists_are_distinct_ids():
    exchange = [{"filterType": "EXCHANGE_MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": 1}]
    gateway, rest, store, journal = make(info(exchange=exchange))
    store.open_orders = [open_order("ETHUSDT", type="STOP_LOSS_LIMIT", side="SELL", cid="eth-stop")]
    stop = OrderRequest(symbol="BTCUSDT", side=Side.SELL, type=OrderType.STOP_LOSS, quantity=D("0.1"),
                        stop_price=D("90"))
    refused = await gateway.submit(stop, strategy="s")
    assert refused.reason == ("EXCHANGE_MAX_NUM_ALGO_ORDERS: 1 open algo (stop) orders on the account + 1 new "
                              "would exceed maxNumAlgoOrders 1")
    assert (await gateway.submit(buy(), strategy="s")).accepted  # not an algo order


async def test_max_position_adds_balance_open_buys_and_in_flight_buys():
    gateway, rest, store, journal = make(info({"filterType": "MAX_POSITION", "maxPosition": "2"}),
                                         wallet={"USDT": (D("100000"), D("0")), "BTC": (D("0.5"), D("0.25"))})
    store.open_orders = [open_order(quantity="1", executed="0.5"), open_order(side="SELL", quantity="5")]
    # position = 0.75 balance + 0.5 still to buy = 1.25; 0.75 more reaches exactly 2
    assert (await gateway.submit(buy(qty="0.75"), strategy="s")).accepted
    refused = await gateway.submit(buy(qty="0.75001"), strategy="s")
    assert refused.reason == ("MAX_POSITION: position 1.25 + quantity 0.75001 = 2.00001 would exceed "
                              "maxPosition 2")
    with trio.fail_after(5):  # a regression would send the order and wait on the gate
        async with trio.open_nursery() as nursery:
            rest.gate, rest.entered = trio.Event(), trio.Event()
            nursery.start_soon(lambda: gateway.submit(buy(qty="0.5", cid="inflight"), strategy="a"))
            await rest.entered.wait()
            in_flight = await gateway.submit(buy(qty="0.25001"), strategy="b")
            assert in_flight.detail["position"] == "1.75"
            rest.gate.set()


async def test_icebergs_sent_by_this_daemon_are_counted_once_open():
    gateway, rest, store, journal = make(info({"filterType": "MAX_NUM_ICEBERG_ORDERS", "maxNumIcebergOrders": 1}))
    iceberg = buy(qty="1", iceberg_qty=D("0.1"), cid="ice-1")
    assert (await gateway.submit(iceberg, strategy="s")).accepted
    store.open_orders = [open_order(cid="ice-1"), open_order(cid="plain")]
    refused = await gateway.submit(buy(qty="1", iceberg_qty=D("0.1"), cid="ice-2"), strategy="s")
    assert refused.code is RejectCode.MAX_NUM_ICEBERG_ORDERS and refused.detail["open"] == "1"


async def test_without_an_open_order_source_count_filters_fail_closed():
    journal = Journal()
    gateway = Gateway(FakeRest(journal), object.__new__(_StoreWithoutOrders), info(
        {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200}), balances=dict,
        reference_price=lambda symbol: D("100"))
    refused = gateway.explain(buy())
    assert [r.reason for r in refused] == [
        "MAX_NUM_ORDERS: cannot check: the number of open orders on BTCUSDT is not known"]


class _StoreWithoutOrders:
    """A store that cannot list open orders."""


# ------------------------------------------------------------------ unknown filters


async def test_unknown_filter_fails_closed_and_is_logged_once(caplog):
    unknown = {"filterType": "MAX_NEW_THING", "limit": 1}
    with caplog.at_level(logging.INFO, logger="daemon.gateway"):
        gateway, rest, store, journal = make(info(unknown))
        for _ in range(2):
            refused = await gateway.submit(buy(), strategy="s")
            assert refused.code is RejectCode.UNKNOWN_FILTER
        gateway.update_exchange_info(info(unknown))  # recompiled on the next order, not logged again
        assert (await gateway.submit(buy(), strategy="s")).code is RejectCode.UNKNOWN_FILTER
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("filter.")]
    assert lines == ["filter.unknown symbol=BTCUSDT type=MAX_NEW_THING action=refuse"]
    assert "new_order" not in [entry[0] for entry in journal]


async def test_allowed_unknown_filter_passes_and_says_so(caplog):
    gateway, rest, store, journal = make(info({"filterType": "MAX_NEW_THING"}),
                                         allow_unknown_filters=["MAX_NEW_THING"])
    with caplog.at_level(logging.INFO, logger="daemon.gateway"):
        assert (await gateway.submit(buy(), strategy="s")).accepted  # rules compile on first use
    assert "filter.unknown symbol=BTCUSDT type=MAX_NEW_THING action=allowed" in caplog.messages


# ------------------------------------------------------------------ adjust


async def test_adjust_moves_the_order_onto_the_grids_and_reports_it(caplog):
    gateway, rest, store, journal = make(info())
    request = buy(qty="0.0123456", price="100.019", cid="adj-1")
    assert (await gateway.submit(request, strategy="s")).code is RejectCode.PRICE_FILTER
    with caplog.at_level(logging.INFO, logger="daemon.gateway"):
        accepted = await gateway.submit(request, strategy="s", adjust=True)
    assert isinstance(accepted, Accepted)
    assert accepted.adjustments == {"price": "100.019 -> 100.01", "quantity": "0.0123456 -> 0.01234"}
    sent = [entry[2] for entry in journal if entry[0] == "new_order"][-1]
    assert (sent["price"], sent["quantity"]) == ("100.01", "0.01234")
    assert ("order.adjusted symbol=BTCUSDT client_order_id=adj-1 strategy=s "
            "changes=price:100.019 -> 100.01,quantity:0.0123456 -> 0.01234") in caplog.messages
    exact = await gateway.submit(buy(qty="0.01", price="100"), strategy="s", adjust=True)
    assert exact.adjustments == {}
    too_small = await gateway.submit(buy(qty="0.000001"), strategy="s", adjust=True)
    assert too_small.code is RejectCode.LOT_SIZE


# ------------------------------------------------------------------ market rules through the gateway


async def test_stop_direction_and_limit_maker_read_the_live_providers():
    gateway, rest, store, journal = make(info(), last=D("100"), book=(D("99"), D("101")))
    stop = OrderRequest(symbol="BTCUSDT", side=Side.SELL, type=OrderType.STOP_LOSS, quantity=D("0.1"),
                        stop_price=D("100.5"))
    assert (await gateway.submit(stop, strategy="s")).code is RejectCode.STOP_PRICE_DIRECTION
    maker = OrderRequest(symbol="BTCUSDT", side=Side.BUY, type=OrderType.LIMIT_MAKER, quantity=D("0.1"),
                         price=D("101"))
    assert (await gateway.submit(maker, strategy="s")).code is RejectCode.LIMIT_MAKER_WOULD_TAKE


# ------------------------------------------------------------------ risk checks


async def test_risk_refusals_are_reported_as_one_with_the_others_named():
    seen = []

    def risk_check(strategy, request):
        seen.append((strategy, request.client_order_id))
        return [Rejection(code=RejectCode.PRICE_BAND, reason="PRICE_BAND: too far", detail={"limit": "band"}),
                Rejection(code=RejectCode.MAX_OPEN_ORDERS, reason="MAX_OPEN_ORDERS: too many")]

    gateway, rest, store, journal = make(info(), risk_check=risk_check)
    refused = await gateway.submit(buy(cid="r-1"), strategy="grid")
    assert seen == [("grid", "r-1")]
    assert (refused.code, refused.client_order_id, refused.symbol) == (RejectCode.PRICE_BAND, "r-1", "BTCUSDT")
    assert refused.reason == "PRICE_BAND: too far (also refused by: MAX_OPEN_ORDERS)"
    assert refused.detail == {"limit": "band", "also": "MAX_OPEN_ORDERS"}
    assert [entry[0] for entry in journal] == ["record_rejection"]
    assert gateway.stats().rejected == {"PRICE_BAND": 1}


async def test_a_failing_risk_check_refuses_the_order():
    def risk_check(strategy, request):
        raise RuntimeError("store locked")

    gateway, rest, store, journal = make(info(), risk_check=risk_check)
    refused = await gateway.submit(buy(), strategy="grid")
    assert refused.code is RejectCode.RISK_CHECK_FAILED
    assert refused.reason == "RISK_CHECK_FAILED: the risk check raised RuntimeError: store locked"


async def test_risk_checks_run_after_the_filters_and_the_balance():
    calls = []
    gateway, rest, store, journal = make(info(), wallet={}, risk_check=lambda s, r: calls.append(r) or [])
    assert (await gateway.submit(buy(qty="0.000001"), strategy="s")).code is RejectCode.LOT_SIZE
    assert (await gateway.submit(buy(), strategy="s")).code is RejectCode.INSUFFICIENT_BALANCE
    assert calls == []


# ------------------------------------------------------------------ rate budget, close, explain


async def test_orders_rate_limit_from_exchange_info_and_observed_headers():
    now = [1_700_000_000.0]
    limits = [RateLimit(rate_limit_type="ORDERS", interval="SECOND", interval_num=10, limit=2)]
    gateway, rest, store, journal = make(info(rate_limits=limits), clock=lambda: now[0])
    assert (await gateway.submit(buy(), strategy="s")).accepted
    assert (await gateway.submit(buy(), strategy="s")).accepted
    refused = await gateway.submit(buy(cid="third"), strategy="s")
    assert (refused.code, refused.client_order_id, refused.symbol) == (RejectCode.RATE_LIMIT, "third", "BTCUSDT")
    assert refused.detail["interval"] == "10S"
    now[0] += 11
    gateway.observe_order_counts(2, None)  # another client of the account used the window
    assert (await gateway.submit(buy(), strategy="s")).code is RejectCode.RATE_LIMIT
    assert gateway.order_rate.used(now[0]) == {"10S": 2}


async def test_closed_gateway_refuses_new_orders_but_still_cancels():
    gateway, rest, store, journal = make(info())
    gateway.close("daemon stopping")
    refused = await gateway.submit(buy(), strategy="s")
    assert (refused.code, refused.reason) == (RejectCode.GATEWAY_CLOSED,
                                              "GATEWAY_CLOSED: no new orders are accepted (daemon stopping)")
    rest.cancel_script = [RestOrder(symbol="BTCUSDT", order_id=1, client_order_id="cancel-1", status="CANCELED")]
    assert await gateway.cancel("BTCUSDT", "x", strategy="s") is True


async def test_explain_lists_every_rule_broken_now():
    gateway, rest, store, journal = make(info({"filterType": "PERCENT_PRICE", "multiplierUp": "1.1",
                                               "multiplierDown": "0.9", "avgPriceMins": 5}))
    reasons = [r.code for r in gateway.explain(buy(qty="0.000015", price="200.005"))]
    assert reasons == [RejectCode.PRICE_FILTER, RejectCode.PERCENT_PRICE, RejectCode.LOT_SIZE]
    assert gateway.explain(OrderRequest(symbol="NOPE", side=Side.BUY))[0].code is RejectCode.UNKNOWN_SYMBOL
    assert gateway.symbol_rules("BTCUSDT").symbol == "BTCUSDT" and gateway.symbol_rules("NOPE") is None
