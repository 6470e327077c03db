"""Persistent account and order state (SQLite), the daemon's memory across restarts.

Persistence only: nothing here imports a venue, the simulator, a plugin or a
strategy; exchange events are read by attribute name (duck-typed), so the
venue models and any test double work alike.  See ``state.store`` for the
transaction and durability choices, ``state.orders`` / ``state.order_lists`` /
``state.balances`` for the merge rules that make every apply idempotent, and
``state.reads`` for the queries.
"""

from state.automation_runs import AutomationRunRecord
from state.balances import BalanceRecord
from state.fills import FillRecord
from state.intents import IntentRecord
from state.order_lists import ListMember, OrderListRecord
from state.orders import OrderRecord
from state.store import Applied, Store

__all__ = ["Applied", "AutomationRunRecord", "BalanceRecord", "FillRecord", "IntentRecord",
           "ListMember", "OrderListRecord", "OrderRecord", "Store"]
