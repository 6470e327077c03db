"""The coin catalogue of ``GET /sapi/v1/capital/config/getall``: names and deposit networks.

Why real-looking networks: a client picks the default network and checks an
address against ``addressRegex`` before it withdraws; the values here are the
live exchange's for these coins (address patterns, minimum confirmations,
fees), so that such code is exercised against the same rules.  The simulator
performs no withdrawals; the catalogue only describes.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.accounts import Account
from sim.numbers import ZERO, fmt8

_EVM = "^(0x)[0-9A-Fa-f]{40}$"
_BTC = "^[13][a-km-zA-HJ-NP-Z1-9]{25,34}$|^(bc1)[0-9A-Za-z]{39,59}$"
_TRX = "^T[1-9A-HJ-NP-Za-km-z]{33}$"
_BEP2 = "^(bnb1)[0-9a-z]{38}$"
_MEMO = "^[0-9A-Za-z\\-_]{1,120}$"


@dataclass(frozen=True)
class Network:
    network: str
    name: str
    address_regex: str
    min_confirm: int
    unlock_confirm: int
    withdraw_fee: str
    withdraw_min: str
    is_default: bool = False
    memo_regex: str = ""

    def render(self, coin: str) -> dict[str, object]:
        return {
            "addressRegex": self.address_regex,
            "coin": coin,
            "depositDesc": "",  # the reason shown while deposits are off; they never are here
            "depositEnable": True,
            "isDefault": self.is_default,
            "memoRegex": self.memo_regex,
            "minConfirm": self.min_confirm,
            "name": self.name,
            "network": self.network,
            "resetAddressStatus": False,
            "specialTips": "",
            "unLockConfirm": self.unlock_confirm,
            "withdrawDesc": "",  # likewise for withdrawals
            "withdrawEnable": True,
            "withdrawFee": self.withdraw_fee,
            "withdrawIntegerMultiple": "0.00000001",
            "withdrawMax": "9999999999.99999999",
            "withdrawMin": self.withdraw_min,
            "sameAddress": bool(self.memo_regex),
        }


_BSC = ("BSC", "BNB Smart Chain (BEP20)", _EVM, 15, 0)

CATALOGUE: dict[str, tuple[str, tuple[Network, ...]]] = {
    "BNB": ("BNB", (
        Network("BNB", "BNB Beacon Chain (BEP2)", _BEP2, 1, 0, "0.00075000", "0.01000000",
                memo_regex=_MEMO),
        Network(*_BSC, "0.00050000", "0.01000000", is_default=True),
    )),
    "BTC": ("Bitcoin", (
        Network("BTC", "Bitcoin", _BTC, 1, 2, "0.00050000", "0.00100000", is_default=True),
        Network(*_BSC, "0.00000620", "0.00001240"),
    )),
    "ETH": ("Ethereum", (
        Network("ETH", "Ethereum (ERC20)", _EVM, 12, 64, "0.00160000", "0.01000000", is_default=True),
        Network(*_BSC, "0.00009000", "0.00018000"),
    )),
    "USDT": ("TetherUS", (
        Network("ETH", "Ethereum (ERC20)", _EVM, 12, 64, "4.50000000", "10.00000000"),
        Network("TRX", "Tron (TRC20)", _TRX, 1, 0, "1.00000000", "10.00000000", is_default=True),
        Network(*_BSC, "0.29000000", "10.00000000"),
    )),
}


def render_all(account: Account, assets: list[str]) -> list[dict[str, object]]:
    """One entry per simulated asset; balances are the account's SPOT balances."""
    coins = []
    for coin in assets:
        name, networks = CATALOGUE.get(coin, (coin, ()))
        held = account.balances.get(coin)
        coins.append({
            "coin": coin,
            "depositAllEnable": True,
            "free": fmt8(held.free if held else ZERO),
            "freeze": fmt8(ZERO),
            "ipoable": fmt8(ZERO),
            "ipoing": fmt8(ZERO),
            "isLegalMoney": False,
            "locked": fmt8(held.locked if held else ZERO),
            "name": name,
            "networkList": [network.render(coin) for network in networks],
            "storage": fmt8(ZERO),
            "trading": True,
            "withdrawAllEnable": True,
            "withdrawing": fmt8(ZERO),
        })
    return coins
