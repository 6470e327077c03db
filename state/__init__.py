"""Persistent account and order state (SQLite), the daemon's memory across restarts.

Persistence only: nothing here imports a venue, the simulator, a plugin or a
strategy; exchange events are read by attribute name (duck-typed), so the
venue models and any test double work alike.  See ``state.store`` for the
transaction and durability choices, ``state.orders`` / ``state.balances`` for
the merge rules that make every apply idempotent.
"""

from state.fills import FillRecord
from state.intents import IntentRecord
from state.orders import OrderRecord
from state.store import Applied, Store

__all__ = ["Applied", "FillRecord", "IntentRecord", "OrderRecord", "Store"]
