"""The seed's SAPI error codes (3xxx-6xxx) that the wallet and savings endpoints answer.

Why a catalogue of its own: ``sim.errors`` holds the ``/api/v3`` codes the
matching engine and the request parser share; the wallet endpoints refuse with
the seed's "3xxx-5xxx SAPI-specific issues" and "6XXX - Savings Issues", in the
seed's own wording, because clients match on code and message.  Each one is a
``SimApiError`` so the one HTTP handler renders it as ``{"code": .., "msg": ..}``.
"""

from __future__ import annotations

from sim.errors import SimApiError

# --- 3xxx margin ------------------------------------------------------------------


def asset_unknown() -> SimApiError:
    """An asset the simulated exchange does not list."""
    return SimApiError(-3002, "We don't have this asset.")


def not_valid_margin_asset() -> SimApiError:
    """An isolated-margin transfer of an asset that is neither base nor quote of the pair."""
    return SimApiError(-3027, "Not a valid margin asset.")


def not_valid_margin_pair() -> SimApiError:
    return SimApiError(-3028, "Not a valid margin pair.")


# --- 5xxx asset / transfer / dust -------------------------------------------------


def insufficient_balance() -> SimApiError:
    return SimApiError(-5002, "You have insufficient balance.")


def no_such_asset_held() -> SimApiError:
    return SimApiError(-5003, "You don't have this asset.")


def dust_over_threshold(asset: str) -> SimApiError:
    return SimApiError(-5004, f"The residual balances of {asset} have exceeded 0.001BTC, Please re-choose.")


def dust_too_low(asset: str) -> SimApiError:
    return SimApiError(-5005, f"The residual balances of {asset} is too low, Please re-choose.")


def once_in_24_hours() -> SimApiError:
    return SimApiError(-5006, "Only transfer once in 24 hours.")


def amount_over_zero() -> SimApiError:
    return SimApiError(-5007, "Quantity must be greater than zero.")


# --- 6xxx savings -----------------------------------------------------------------


def product_not_exist() -> SimApiError:
    return SimApiError(-6001, "Daily product not exists.")


def product_not_purchasable() -> SimApiError:
    return SimApiError(-6004, "Product not in purchase status")


def below_min_purchase() -> SimApiError:
    return SimApiError(-6005, "Smaller than min purchase limit")


def redeem_amount_error() -> SimApiError:
    return SimApiError(-6006, "Redeem amount error")


def product_not_redeemable() -> SimApiError:
    return SimApiError(-6008, "Product not in redeem status")


def frequency_too_high() -> SimApiError:
    return SimApiError(-6009, "Request frequency too high")


def over_user_limit() -> SimApiError:
    return SimApiError(-6011, "Exceeding the maximum num allowed to purchase per user")


def savings_balance_not_enough() -> SimApiError:
    return SimApiError(-6012, "Balance not enough")


def over_product_limit() -> SimApiError:
    return SimApiError(-6014, "Exceed up-limit allowed to purchased")


# --- 1xxx used by the wallet endpoints beyond sim.errors ---------------------------


def interval_too_big(hours: int) -> SimApiError:
    return SimApiError(-1127, f"More than {hours} hours between startTime and endTime.")


def bad_combination() -> SimApiError:
    return SimApiError(-1128, "Combination of optional parameters invalid.")


def too_precise() -> SimApiError:
    return SimApiError(-1111, "Precision is over the maximum defined for this asset.")
