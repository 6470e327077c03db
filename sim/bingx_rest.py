"""The BingX wallet API (seed 004) on the simulator's port, beside the Binance routes.

Why the same port: the BingX paths (``/openApi/...``) never collide with
Binance's, and one ``SimHandle`` then serves both venues.  Every route
authenticates with BingX's signing (``sim.bingx_auth``), is charged against its
per-UID limit (``BINGX_UID_LIMITS``), and answers ``{"code": 0, "msg": "",
"data": ...}`` or an error envelope with HTTP 200 (``sim.bingx_errors``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from decimal import Decimal

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sim.bingx import (
    INNER_WALLETS,
    NEW_TRANSFER_ACCOUNTS,
    OVERVIEW_TYPES,
    V3_CODES,
    V3_POST_TYPES,
    V3_QUERY_TYPES,
    WALLETS,
    BingxAccount,
    BingxVenue,
    holds,
    v3_type,
)
from sim.bingx_auth import API_KEY_HEADER, authenticate
from sim.bingx_errors import BingxError, internal_error, invalid, missing, ok
from sim.numbers import ZERO
from sim.sapi import raw_texts

log = logging.getLogger(__name__)

Handler = Callable[[BingxAccount, dict[str, str]], object]

SPOT_BALANCE = "/openApi/spot/v1/account/balance"
FUND_BALANCE = "/openApi/fund/v1/account/balance"
OVERVIEW = "/openApi/account/v1/allAccountBalance"
V3_TRANSFER = "/openApi/api/v3/post/asset/transfer"
V3_RECORDS = "/openApi/api/v3/asset/transfer"
NEW_TRANSFER = "/openApi/api/asset/v1/transfer"
SUPPORT_COINS = "/openApi/api/asset/v1/transfer/supportCoins"
NEW_RECORDS = "/openApi/api/v3/asset/transferRecord"
INNER_APPLY = "/openApi/wallets/v1/capital/innerTransfer/apply"
INNER_RECORDS = "/openApi/wallets/v1/capital/innerTransfer/records"

# "rate limitation by UID: N/s" of each endpoint, as the spec gives them.
BINGX_UID_LIMITS: dict[tuple[str, str], int] = {
    ("GET", SPOT_BALANCE): 5,
    ("GET", FUND_BALANCE): 2,
    ("GET", OVERVIEW): 5,
    ("POST", V3_TRANSFER): 2,
    ("GET", V3_RECORDS): 10,
    ("POST", NEW_TRANSFER): 2,
    ("GET", SUPPORT_COINS): 2,
    ("GET", NEW_RECORDS): 2,
    ("POST", INNER_APPLY): 2,
    ("GET", INNER_RECORDS): 10,
}
_DECIMAL_RE = re.compile(r"^\d+(\.\d+)?$")
_CLIENT_ID_RE = re.compile(r"^[0-9A-Za-z]{1,99}$")


def _plain(value: Decimal) -> str:
    return "0" if value == 0 else format(value.normalize(), "f")


def _required(params: dict[str, str], name: str) -> str:
    value = params.get(name)
    if not value:
        raise missing(name)
    return value


def _int(params: dict[str, str], name: str, default: int | None = None) -> int | None:
    raw = params.get(name)
    if not raw:
        return default
    if not raw.lstrip("-").isdigit():
        raise invalid(name)
    return int(raw)


def _amount(params: dict[str, str], name: str = "amount") -> Decimal:
    raw = _required(params, name)
    if not _DECIMAL_RE.match(raw):
        raise invalid(name)
    return Decimal(raw)


def _page(params: dict[str, str], index_name: str, size_name: str) -> tuple[int, int]:
    index, size = _int(params, index_name, 1), _int(params, size_name, 10)
    assert index is not None and size is not None
    if index < 1:
        raise invalid(index_name)
    if not 1 <= size <= 100:
        raise invalid(size_name)
    return (index - 1) * size, size


def _in_time(timestamp: int, params: dict[str, str]) -> bool:
    start, end = _int(params, "startTime"), _int(params, "endTime")
    return (start is None or timestamp >= start) and (end is None or timestamp <= end)


class BingxApi:
    def __init__(self, venue: BingxVenue) -> None:
        self.venue = venue
        self.limiter = venue.limiter

    def routes(self) -> list[Route]:
        handlers: dict[tuple[str, str], Handler] = {
            ("GET", SPOT_BALANCE): self.spot_balance,
            ("GET", FUND_BALANCE): self.fund_balance,
            ("GET", OVERVIEW): self.overview,
            ("POST", V3_TRANSFER): self.v3_transfer,
            ("GET", V3_RECORDS): self.v3_records,
            ("POST", NEW_TRANSFER): self.new_transfer,
            ("GET", SUPPORT_COINS): self.support_coins,
            ("GET", NEW_RECORDS): self.new_records,
            ("POST", INNER_APPLY): self.inner_apply,
            ("GET", INNER_RECORDS): self.inner_records,
        }
        return [Route(path, self._endpoint(handler, path, BINGX_UID_LIMITS[(method, path)]),
                      methods=[method])
                for (method, path), handler in handlers.items()]

    def _endpoint(self, handler: Handler, path: str, per_second: int):
        async def endpoint(request: Request) -> Response:
            account = None
            try:
                query, body = await raw_texts(request)
                host = request.client.host if request.client else None
                account, params = authenticate(self.venue, request.headers.get(API_KEY_HEADER),
                                               host, query, body, self.venue.book.now_ms())
                self.limiter.admit(account.uid, path, per_second)
                return ok(handler(account, params))
            except BingxError as error:
                if account is not None:
                    self.limiter.record(account.uid, path, error)
                log.info("bingx.error path=%s code=%d", path, error.code)
                return error.response()
            except Exception as exc:  # a simulator bug: answer like BingX's 5xx, log loudly
                log.error("bingx.internal_error path=%s error=%r", path, exc)
                return internal_error().response()

        return endpoint

    # ---------------------------------------------------------------- balances

    @staticmethod
    def _balances(account: BingxAccount, wallet: str, asset: str | None = None) -> dict[str, object]:
        held = account.wallets[wallet]
        return {"balances": [
            {"asset": name, "displayName": name, "free": _plain(amount), "locked": "0"}
            for name, amount in sorted(held.items())
            if amount > 0 and (asset is None or name == asset)
        ]}

    def spot_balance(self, account: BingxAccount, params: dict[str, str]) -> object:
        return self._balances(account, "spot")

    def fund_balance(self, account: BingxAccount, params: dict[str, str]) -> object:
        return self._balances(account, "fund", params.get("asset") or None)

    def overview(self, account: BingxAccount, params: dict[str, str]) -> object:
        wanted = params.get("accountType") or None
        if wanted is not None and wanted not in OVERVIEW_TYPES:
            raise invalid("accountType")
        rows = []
        for kind in OVERVIEW_TYPES:
            if wanted is not None and kind != wanted:
                continue
            wallets = ("spot", "fund") if kind == "spot" else (kind,)
            value = sum((self.venue.usdt_value(asset, amount)
                         for wallet in wallets for asset, amount in account.wallets[wallet].items()),
                        ZERO)
            rows.append({"accountType": kind, "usdtBalance": _plain(value)})
        return rows

    # --------------------------------------------------------------- transfers

    def v3_transfer(self, account: BingxAccount, params: dict[str, str]) -> object:
        kind = _required(params, "type")
        if kind not in V3_POST_TYPES:
            raise invalid("type")
        source, destination = (V3_CODES[code] for code in kind.split("_"))
        record = self.venue.transfer(account, source, destination, _required(params, "asset"),
                                     _amount(params))
        return {"tranId": record.transfer_id}

    def v3_records(self, account: BingxAccount, params: dict[str, str]) -> object:
        tran_id, kind = _int(params, "tranId"), params.get("type") or None
        if tran_id is None and kind is None:
            raise missing("type")
        if kind is not None and kind not in V3_QUERY_TYPES:
            raise invalid("type")
        first, size = _page(params, "current", "size")
        rows = [
            t for t in reversed(account.transfers)
            if v3_type(t.source, t.destination) is not None
            and (tran_id is None or t.transfer_id == tran_id)
            and (kind is None or v3_type(t.source, t.destination) == kind)
            and _in_time(t.timestamp, params)
        ]
        return {"total": len(rows), "rows": [
            {"asset": t.asset, "amount": _plain(t.amount), "type": v3_type(t.source, t.destination),
             "status": "CONFIRMED", "tranId": t.transfer_id, "timestamp": t.timestamp}
            for t in rows[first:first + size]
        ]}

    def new_transfer(self, account: BingxAccount, params: dict[str, str]) -> object:
        source, destination = self._accounts(params, need_from=True, need_to=True)
        assert source is not None and destination is not None
        record = self.venue.transfer(account, source, destination, _required(params, "asset"),
                                     _amount(params))
        return {"transferId": str(record.transfer_id)}

    def support_coins(self, account: BingxAccount, params: dict[str, str]) -> object:
        source, destination = self._accounts(params, need_from=True, need_to=True)
        assert source is not None and destination is not None
        return {"coins": [
            {"asset": asset, "amount": _plain(amount)}
            for asset, amount in sorted(account.wallets[source].items())
            if amount > 0 and holds(destination, asset)
        ]}

    def new_records(self, account: BingxAccount, params: dict[str, str]) -> object:
        transfer_id = params.get("transferId") or None
        # By transferId, or by toAccount (and optionally fromAccount); any wallet, since the
        # v3 transfers into grid and copy trading are in this history too.
        source, destination = self._accounts(params, need_from=False, need_to=transfer_id is None,
                                             allowed=WALLETS)
        first, size = _page(params, "pageIndex", "pageSize")
        rows = [
            t for t in reversed(account.transfers)
            if (transfer_id is None or str(t.transfer_id) == transfer_id)
            and (source is None or t.source == source)
            and (destination is None or t.destination == destination)
            and _in_time(t.timestamp, params)
        ]
        return {"total": len(rows), "rows": [
            {"transferId": str(t.transfer_id), "asset": t.asset, "amount": _plain(t.amount),
             "fromAccount": t.source, "toAccount": t.destination, "timestamp": t.timestamp}
            for t in rows[first:first + size]
        ]}

    @staticmethod
    def _accounts(params: dict[str, str], *, need_from: bool, need_to: bool,
                  allowed: tuple[str, ...] = NEW_TRANSFER_ACCOUNTS) -> tuple[str | None, str | None]:
        source, destination = params.get("fromAccount") or None, params.get("toAccount") or None
        if need_from and source is None:
            raise missing("fromAccount")
        if need_to and destination is None:
            raise missing("toAccount")
        for name, value in (("fromAccount", source), ("toAccount", destination)):
            if value is not None and value not in allowed:
                raise invalid(name)
        return source, destination

    # -------------------------------------------------------- internal transfers

    def inner_apply(self, account: BingxAccount, params: dict[str, str]) -> object:
        client_id = params.get("transferClientId") or ""
        if client_id and not _CLIENT_ID_RE.match(client_id):
            raise invalid("transferClientId")
        account_type, wallet_type = _int(params, "userAccountType"), _int(params, "walletType")
        if account_type is None:
            raise missing("userAccountType")
        if wallet_type is None:
            raise missing("walletType")
        if wallet_type not in INNER_WALLETS:
            raise invalid("walletType")
        record = self.venue.inner_transfer(
            account, coin=_required(params, "coin"), account_type=account_type,
            recipient=_required(params, "userAccount"), calling_code=params.get("callingCode") or None,
            amount=_amount(params), wallet_type=wallet_type, client_id=client_id,
        )
        return {"id": str(record.transfer_id), "transferClientId": record.client_id}

    def inner_records(self, account: BingxAccount, params: dict[str, str]) -> object:
        coin = _required(params, "coin")
        record_id, client_id = params.get("id") or None, params.get("transferClientId") or None
        offset, limit = _int(params, "offset", 0), _int(params, "limit", 100)
        assert offset is not None and limit is not None
        if offset < 0:
            raise invalid("offset")
        if not 1 <= limit <= 1000:
            raise invalid("limit")
        rows = [
            t for t in reversed(account.inner)
            if t.coin == coin
            and (record_id is None or str(t.transfer_id) == record_id)
            and (record_id is not None or client_id is None or t.client_id == client_id)
            and _in_time(t.time, params)
        ]
        return {"data": [
            {"id": t.transfer_id, "coin": t.coin, "receiver": t.receiver, "amount": _plain(t.amount),
             "time": t.time, "status": t.status, "transferClientId": t.client_id,
             "fromUid": t.from_uid, "recordType": t.record_type}
            for t in rows[offset:offset + limit]
        ], "total": len(rows)}
