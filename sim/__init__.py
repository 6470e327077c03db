"""The Binance-compatible exchange simulator (REST, market and user-data websockets).

Imports nothing from daemon/, state/, plugins/ or strategies/: it stands in for
the exchange, and shares no rule code with the daemon.  Public API::

    handle: SimHandle = await nursery.start(run_simulator, SimConfig(...))
"""

from sim.app import SimHandle, run_simulator
from sim.config import SimConfig
from sim.exchange import Exchange

__all__ = ["Exchange", "SimConfig", "SimHandle", "run_simulator"]
