"""The seed's Wallet Endpoints (``/sapi/v1/...``) as starlette routes over the wallet book.

Why thin, like ``sim.rest``: each route authenticates (``sim.sapi``), brings
the book's slow clocks up to now, parses its parameters and calls one
synchronous ``WalletBook`` method; refusals are ``SimApiError`` rendered by the
app's one handler.

Their request weights are in ``sim.wallet_weights``.
"""

from __future__ import annotations

from decimal import Decimal

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sim import coins, dust, snapshots
from sim.bingx_rest import BingxApi
from sim.exchange import Exchange
from sim.numbers import ZERO
from sim.sapi import Signed, amount, choice, opt_bool, opt_int, optional, page, required, signed
from sim.savings_rest import SavingsApi
from sim.wallet import WalletBook

TRANSFER_PAGE_MAX = 100
# GET /sapi/v1/account/apiTradingStatus: the seed's trigger thresholds.
TRIGGER_CONDITION = {"GCR": 150, "IFER": 150, "UFR": 300}


def _plain(value: Decimal) -> str:
    """``Decimal("1.00")`` -> ``"1"``: the Funding wallet and tradeFee answer without padding."""
    text = format(value.normalize(), "f")
    return "0" if value == 0 else text


class WalletApi:
    def __init__(self, exchange: Exchange, book: WalletBook) -> None:
        self.exchange = exchange
        self.book = book

    def routes(self) -> list[Route]:
        return [
            Route("/sapi/v1/system/status", self.system_status, methods=["GET"]),
            Route("/sapi/v1/account/status", self.account_status, methods=["GET"]),
            Route("/sapi/v1/account/apiTradingStatus", self.api_trading_status, methods=["GET"]),
            Route("/sapi/v1/account/apiRestrictions", self.api_restrictions, methods=["GET"]),
            Route("/sapi/v1/capital/config/getall", self.coins, methods=["GET"]),
            Route("/sapi/v1/asset/dribblet", self.dust_log, methods=["GET"]),
            Route("/sapi/v1/asset/dust-btc", self.dust_btc, methods=["POST"]),
            Route("/sapi/v1/asset/dust", self.dust, methods=["POST"]),
            Route("/sapi/v1/asset/transfer", self.transfer, methods=["GET", "POST"]),
            Route("/sapi/v1/asset/get-funding-asset", self.funding, methods=["POST"]),
            Route("/sapi/v1/asset/tradeFee", self.trade_fee, methods=["GET"]),
            Route("/sapi/v1/accountSnapshot", self.account_snapshot, methods=["GET"]),
        ]

    async def _signed(self, request: Request, repeatable: frozenset[str] = frozenset()) -> Signed:
        request_ok = await signed(self.exchange.accounts, request, self.exchange.now_ms(), repeatable)
        self.book.advance()
        return request_ok

    # ------------------------------------------------------------------ status

    async def system_status(self, request: Request) -> Response:
        if self.book.maintenance:
            return JSONResponse({"status": 1, "msg": "system_maintenance"})
        return JSONResponse({"status": 0, "msg": "normal"})

    async def account_status(self, request: Request) -> Response:
        await self._signed(request)
        return JSONResponse({"data": "Normal"})

    async def api_trading_status(self, request: Request) -> Response:
        req = await self._signed(request)
        return JSONResponse({"data": {
            "isLocked": False,
            "plannedRecoverTime": 0,
            "triggerCondition": dict(TRIGGER_CONDITION),
            # Per-symbol ratios (UFR, IFER, GCR) of the quantitative rules; the sim
            # computes none and never locks a key, so no symbol has indicators.
            "indicators": {},
            "updateTime": self.book.book(req.account).created_ms,
        }})

    async def api_restrictions(self, request: Request) -> Response:
        req = await self._signed(request)
        state = self.book.book(req.account)
        return JSONResponse({**state.permissions, "createTime": state.created_ms})

    async def coins(self, request: Request) -> Response:
        req = await self._signed(request)
        return JSONResponse(coins.render_all(req.account, self.book.valuation.assets()))

    # -------------------------------------------------------------------- dust

    async def dust_log(self, request: Request) -> Response:
        req = await self._signed(request)
        conversions = self.book.book(req.account).dust_log
        return JSONResponse(dust.render_log(conversions, opt_int(req.params, "startTime"),
                                            opt_int(req.params, "endTime")))

    async def dust_btc(self, request: Request) -> Response:
        req = await self._signed(request)
        return JSONResponse(dust.render_convertible(self.book.dust.convertible(req.account)))

    async def dust(self, request: Request) -> Response:
        req = await self._signed(request, repeatable=frozenset({"asset"}))
        assets = [a for a in req.repeated.get("asset", []) if a]
        conversion = self.book.dust.convert(req.account, assets)
        return JSONResponse(dust.render_conversion(conversion))

    # --------------------------------------------------------------- transfers

    async def transfer(self, request: Request) -> Response:
        req = await self._signed(request)
        params = req.params
        type_name = required(params, "type")
        from_symbol, to_symbol = optional(params, "fromSymbol"), optional(params, "toSymbol")
        if request.method == "POST":
            tran_id = self.book.transfer(req.account, type_name, required(params, "asset"),
                                         amount(params), from_symbol, to_symbol)
            return JSONResponse({"tranId": tran_id})
        current, size = page(params, default_size=10, max_size=TRANSFER_PAGE_MAX)
        total, rows = self.book.transfer_history(
            req.account, type_name, start_time=opt_int(params, "startTime"),
            end_time=opt_int(params, "endTime"), current=current, size=size,
            from_symbol=from_symbol, to_symbol=to_symbol,
        )
        return JSONResponse({"total": total, "rows": [
            {"asset": r.asset, "amount": _plain(r.amount), "type": r.type, "status": r.status,
             "tranId": r.tran_id, "timestamp": r.timestamp}
            for r in rows
        ]})

    async def funding(self, request: Request) -> Response:
        req = await self._signed(request)
        wanted = optional(req.params, "asset")
        with_btc = opt_bool(req.params, "needBtcValuation") or False
        held = self.book.book(req.account).wallets.wallet("FUNDING").nonzero()
        return JSONResponse([
            {
                "asset": asset,
                "free": _plain(free),
                "locked": "0",
                "freeze": "0",
                "withdrawing": "0",
                "btcValuation": _plain(self.book.btc_value(asset, free) if with_btc else ZERO),
            }
            for asset, free in held.items()
            if wanted is None or asset == wanted
        ])

    async def trade_fee(self, request: Request) -> Response:
        req = await self._signed(request)
        symbol = optional(req.params, "symbol")
        names = [self.exchange.spec(symbol).symbol] if symbol else sorted(self.exchange.specs)
        return JSONResponse([
            {"symbol": name, "makerCommission": _plain(req.account.maker_rate),
             "takerCommission": _plain(req.account.taker_rate)}
            for name in names
        ])

    async def account_snapshot(self, request: Request) -> Response:
        req = await self._signed(request)
        params = req.params
        kind = choice(params, "type", snapshots.TYPES)
        chosen = snapshots.select(
            self.book, self.book.book(req.account), kind,
            start_time=opt_int(params, "startTime"), end_time=opt_int(params, "endTime"),
            limit=opt_int(params, "limit"),
        )
        return JSONResponse(snapshots.render(kind, chosen))



def wallet_routes(exchange: Exchange) -> list[Route]:
    """Every ``/sapi`` wallet and savings route, and the BingX wallet API (``/openApi``)."""
    return [*WalletApi(exchange, exchange.wallet).routes(),
            *SavingsApi(exchange, exchange.wallet).routes(),
            *BingxApi(exchange.wallet.bingx).routes()]
