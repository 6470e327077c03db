"""Request weights of the wallet and savings endpoints (``/sapi``), as the seed documents them.

Why a table apart from the routes: the rate limiter adds weights up without
knowing the endpoints (``sim.weighing`` finds ``WALLET_WEIGHTS`` through
``sim.wallet``).  Keys are ``(METHOD, path)``; values the "Weight(IP)" of the
seed (early 2022) and, for Simple Earn, of the swagger.  Dust conversion has a
UID weight only ("Weight(UID): 10"), kept apart in ``WALLET_UID_WEIGHTS``.
"""

from __future__ import annotations

LENDING = "/sapi/v1/lending/daily"
EARN = "/sapi/v1/simple-earn/flexible"

WALLET_WEIGHTS: dict[tuple[str, str], int] = {
    ("GET", "/sapi/v1/system/status"): 1,
    ("GET", "/sapi/v1/account/status"): 1,
    ("GET", "/sapi/v1/account/apiTradingStatus"): 1,
    ("GET", "/sapi/v1/account/apiRestrictions"): 1,
    ("GET", "/sapi/v1/capital/config/getall"): 10,
    ("GET", "/sapi/v1/asset/dribblet"): 1,
    ("POST", "/sapi/v1/asset/dust-btc"): 1,
    ("POST", "/sapi/v1/asset/transfer"): 1,
    ("GET", "/sapi/v1/asset/transfer"): 1,
    ("POST", "/sapi/v1/asset/get-funding-asset"): 1,
    ("GET", "/sapi/v1/asset/tradeFee"): 1,
    ("GET", "/sapi/v1/accountSnapshot"): 2400,
    ("GET", f"{LENDING}/product/list"): 1,
    ("GET", f"{LENDING}/userLeftQuota"): 1,
    ("POST", f"{LENDING}/purchase"): 1,
    ("GET", f"{LENDING}/userRedemptionQuota"): 1,
    ("POST", f"{LENDING}/redeem"): 1,
    ("GET", f"{LENDING}/token/position"): 1,
    ("GET", f"{EARN}/list"): 150,
    ("POST", f"{EARN}/subscribe"): 1,
    ("POST", f"{EARN}/redeem"): 1,
    ("GET", f"{EARN}/position"): 150,
}

WALLET_UID_WEIGHTS: dict[tuple[str, str], int] = {
    ("POST", "/sapi/v1/asset/dust"): 10,
}
