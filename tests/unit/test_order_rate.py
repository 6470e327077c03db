"""daemon.order_rate: the ORDERS limits of exchangeInfo, counted before sending."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.order_rate import BUCKETS, OrderRateBudget
from daemon.orders import RejectCode
from daemon.venues.binance.models import RateLimit

SIM_LIMITS = (
    RateLimit(rate_limit_type="REQUEST_WEIGHT", interval="MINUTE", interval_num=1, limit=1200),
    RateLimit(rate_limit_type="ORDERS", interval="SECOND", interval_num=10, limit=5),
    RateLimit(rate_limit_type="ORDERS", interval="DAY", interval_num=1, limit=8),
    RateLimit(rate_limit_type="RAW_REQUESTS", interval="MINUTE", interval_num=5, limit=6100),
)
T0 = 1_700_000_000.0


def test_only_orders_limits_are_taken_from_structs_and_dicts():
    budget = OrderRateBudget.from_rate_limits(SIM_LIMITS)
    assert [(w.label, w.limit, w.seconds) for w in budget.windows] == [("10S", 5, 10.0), ("1D", 8, 86400.0)]
    raw = OrderRateBudget.from_rate_limits([{"rateLimitType": "ORDERS", "interval": "MINUTE",
                                             "intervalNum": 1, "limit": 3},
                                            {"rateLimitType": "ORDERS", "interval": "FORTNIGHT",
                                             "intervalNum": 1, "limit": 1}])
    assert [w.label for w in raw.windows] == ["1M"]


def test_the_ten_second_window_refuses_the_sixth_order_and_says_when_to_retry():
    budget = OrderRateBudget.from_rate_limits(SIM_LIMITS)
    for i in range(5):
        assert budget.try_acquire(T0 + i) is None
    refused = budget.try_acquire(T0 + 5)
    assert refused.code is RejectCode.RATE_LIMIT
    assert refused.reason == ("RATE_LIMIT: 5 orders in the last 10S + 1 would exceed the exchange's "
                              "ORDERS limit of 5; retry in 5.2 s")
    assert refused.detail == {"limit": "5", "interval": "10S", "used": "5", "adding": "1",
                              "retry_after_s": "5.200"}
    assert budget.used(T0 + 5) == {"10S": 5, "1D": 5}  # a refusal counts nothing
    # The first order leaves the window (plus one bucket of 0.2 s) and room opens again.
    assert budget.try_acquire(T0 + 10.1) is not None
    assert budget.try_acquire(T0 + 10.2) is None


def test_the_day_window_and_an_oco_counting_two():
    budget = OrderRateBudget.from_rate_limits(SIM_LIMITS)
    for hour in range(7):
        assert budget.try_acquire(T0 + hour * 3600) is None
    refused = budget.try_acquire(T0 + 7 * 3600, count=2)
    assert refused.detail["interval"] == "1D" and refused.detail["adding"] == "2"
    assert budget.try_acquire(T0 + 7 * 3600, count=1) is None


def test_observed_exchange_counts_raise_but_never_lower_the_local_count():
    budget = OrderRateBudget.from_rate_limits(SIM_LIMITS)
    budget.try_acquire(T0)
    budget.observe(order_count_10s=4, order_count_1d=None, now_s=T0 + 0.5)  # another client's orders
    assert budget.used(T0 + 0.5) == {"10S": 4, "1D": 1}
    assert budget.try_acquire(T0 + 0.6) is None
    assert budget.try_acquire(T0 + 0.7).code is RejectCode.RATE_LIMIT
    budget.observe(order_count_10s=1, order_count_1d=2, now_s=T0 + 0.8)
    assert budget.used(T0 + 0.8) == {"10S": 5, "1D": 2}


def test_update_limits_keeps_counts_of_windows_of_the_same_length():
    budget = OrderRateBudget.from_rate_limits(SIM_LIMITS)
    for i in range(3):
        budget.try_acquire(T0 + i)
    budget.update_limits([RateLimit(rate_limit_type="ORDERS", interval="SECOND", interval_num=10, limit=3)])
    assert budget.try_acquire(T0 + 3).detail["used"] == "3"


@settings(max_examples=200, deadline=None)
@given(gaps=st.lists(st.floats(min_value=0.0, max_value=4.0), min_size=1, max_size=60),
       limit=st.integers(min_value=1, max_value=8))
def test_no_ten_second_span_ever_holds_more_than_the_limit(gaps, limit):
    """Whatever the exchange's window alignment, accepted orders never exceed the limit in any 10 s."""
    budget = OrderRateBudget.from_rate_limits(
        [RateLimit(rate_limit_type="ORDERS", interval="SECOND", interval_num=10, limit=limit)])
    now, accepted = T0, []
    for gap in gaps:
        now += gap
        if budget.try_acquire(now) is None:
            accepted.append(now)
    for start in accepted:
        assert sum(1 for t in accepted if start <= t < start + 10) <= limit


def test_bucket_resolution_is_a_fiftieth_of_the_window():
    assert BUCKETS == 50
    budget = OrderRateBudget.from_rate_limits(SIM_LIMITS)
    assert budget.try_acquire(T0) is None
    assert budget.windows[0].used(T0 + 10.19) == 1
    assert budget.windows[0].used(T0 + 10.2) == 0


@pytest.mark.parametrize("count_10s, count_1d", [(None, None), (0, 0)])
def test_observing_nothing_changes_nothing(count_10s, count_1d):
    budget = OrderRateBudget.from_rate_limits(SIM_LIMITS)
    budget.observe(count_10s, count_1d, T0)
    assert budget.used(T0) == {"10S": 0, "1D": 0}
