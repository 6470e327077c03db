"""Savings routes: the seed's ``/sapi/v1/lending/daily/*`` and today's Simple Earn flexible API.

Both sets of routes read and write the one savings ledger (``sim.savings``), so
a position bought through either API shows in both.  The shapes are the seed's
("Savings Endpoints") and the swagger's (``/sapi/v1/simple-earn/flexible/*``).
Their request weights are in ``sim.wallet_weights``.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sim.exchange import Exchange
from sim.numbers import ZERO, down8, fmt8
from sim.sapi import Signed, amount, choice, opt_bool, optional, page, required, signed
from sim.savings import SOURCES, Position, Product
from sim.wallet import WalletBook
from sim.wallet_weights import EARN, LENDING

REDEEM_TYPES = ("FAST", "NORMAL")
PRODUCT_STATUS = ("ALL", "SUBSCRIBABLE", "UNSUBSCRIBABLE")
DAYS_PER_YEAR = 365


class SavingsApi:
    def __init__(self, exchange: Exchange, book: WalletBook) -> None:
        self.exchange = exchange
        self.book = book
        self.savings = book.savings

    def routes(self) -> list[Route]:
        return [
            Route(f"{LENDING}/product/list", self.product_list, methods=["GET"]),
            Route(f"{LENDING}/userLeftQuota", self.left_quota, methods=["GET"]),
            Route(f"{LENDING}/purchase", self.purchase, methods=["POST"]),
            Route(f"{LENDING}/userRedemptionQuota", self.redemption_quota, methods=["GET"]),
            Route(f"{LENDING}/redeem", self.lending_redeem, methods=["POST"]),
            Route(f"{LENDING}/token/position", self.lending_position, methods=["GET"]),
            Route(f"{EARN}/list", self.earn_list, methods=["GET"]),
            Route(f"{EARN}/subscribe", self.earn_subscribe, methods=["POST"]),
            Route(f"{EARN}/redeem", self.earn_redeem, methods=["POST"]),
            Route(f"{EARN}/position", self.earn_position, methods=["GET"]),
        ]

    async def _signed(self, request: Request) -> Signed:
        req = await signed(self.exchange.accounts, request, self.exchange.now_ms())
        self.book.advance()
        return req

    # ---------------------------------------------------------- lending (seed)

    async def product_list(self, request: Request) -> Response:
        req = await self._signed(request)
        status = choice(req.params, "status", PRODUCT_STATUS, "ALL")
        featured = choice(req.params, "featured", ("ALL", "TRUE"), "ALL")
        current, size = page(req.params, default_size=50, max_size=100)
        products = [
            p for p in self.savings.products.values()
            if (status == "ALL" or (status == "SUBSCRIBABLE") == self._can_purchase(p))
            and (featured == "ALL" or p.featured)
        ]
        first = (current - 1) * size
        return JSONResponse([self._lending_product(p) for p in products[first:first + size]])

    async def left_quota(self, request: Request) -> Response:
        req = await self._signed(request)
        product = self.savings.product(required(req.params, "productId"))
        left = self.savings.left_quota(req.account, product)
        return JSONResponse({"asset": product.asset, "leftQuota": fmt8(left)})

    async def purchase(self, request: Request) -> Response:
        req = await self._signed(request)
        purchase_id = self.savings.subscribe(req.account, required(req.params, "productId"),
                                             amount(req.params))
        return JSONResponse({"purchaseId": purchase_id})

    async def redemption_quota(self, request: Request) -> Response:
        req = await self._signed(request)
        product = self.savings.product(required(req.params, "productId"))
        kind = choice(req.params, "type", REDEEM_TYPES)
        position = self.savings.position(req.account, product)
        held = ZERO if position is None else position.amount
        if kind == "FAST":
            used = ZERO if position is None else position.fast_redeemed_today
            daily, left = product.fast_daily_quota, min(held, product.fast_daily_quota - used)
        else:
            daily, left = product.up_limit_per_user, held
        return JSONResponse({"asset": product.asset, "dailyQuota": fmt8(daily),
                             "leftQuota": fmt8(left), "minRedemptionAmount": fmt8(product.min_redemption)})

    async def lending_redeem(self, request: Request) -> Response:
        req = await self._signed(request)
        kind = choice(req.params, "type", REDEEM_TYPES)
        self.savings.redeem(req.account, required(req.params, "productId"), amount(req.params),
                            kind=kind)
        return JSONResponse({})

    async def lending_position(self, request: Request) -> Response:
        req = await self._signed(request)
        asset = required(req.params, "asset")
        return JSONResponse([
            self._lending_position(p) for p in self.savings.positions(req.account)
            if p.product.asset == asset and (p.amount > 0 or p.redeeming > 0)
        ])

    # ------------------------------------------------------ simple earn (today)

    async def earn_list(self, request: Request) -> Response:
        req = await self._signed(request)
        asset = optional(req.params, "asset")
        current, size = page(req.params, default_size=10, max_size=100)
        products = [p for p in self.savings.products.values() if asset is None or p.asset == asset]
        first = (current - 1) * size
        return JSONResponse({"rows": [self._earn_product(p) for p in products[first:first + size]],
                             "total": len(products)})

    async def earn_subscribe(self, request: Request) -> Response:
        req = await self._signed(request)
        product_id, value = required(req.params, "productId"), amount(req.params)
        source = choice(req.params, "sourceAccount", tuple(SOURCES), "SPOT")
        auto = opt_bool(req.params, "autoSubscribe")
        self.savings.throttle(req.account, "subscribe")
        purchase_id = self.savings.subscribe(req.account, product_id, value, source=source,
                                             auto_subscribe=auto)
        return JSONResponse({"purchaseId": purchase_id, "success": True})

    async def earn_redeem(self, request: Request) -> Response:
        req = await self._signed(request)
        product_id = required(req.params, "productId")
        redeem_all = opt_bool(req.params, "redeemAll") or False
        value = None if redeem_all else amount(req.params)
        destination = choice(req.params, "destAccount", tuple(SOURCES), "SPOT")
        if destination == "ALL":
            destination = "SPOT"
        self.savings.throttle(req.account, "redeem")
        redeem_id = self.savings.redeem(req.account, product_id, value, kind="EARN",
                                        destination=destination)
        return JSONResponse({"redeemId": redeem_id, "success": True})

    async def earn_position(self, request: Request) -> Response:
        req = await self._signed(request)
        asset, product_id = optional(req.params, "asset"), optional(req.params, "productId")
        current, size = page(req.params, default_size=10, max_size=100)
        rows = [
            p for p in self.savings.positions(req.account)
            if p.amount > 0 and (asset is None or p.product.asset == asset)
            and (product_id is None or p.product.product_id == product_id)
        ]
        first = (current - 1) * size
        return JSONResponse({"rows": [self._earn_position(p) for p in rows[first:first + size]],
                             "total": len(rows)})

    # --------------------------------------------------------------- renderers

    def _can_purchase(self, product: Product) -> bool:
        return self.savings.purchased(product) < product.up_limit

    def _lending_product(self, p: Product) -> dict[str, object]:
        return {
            "asset": p.asset,
            "avgAnnualInterestRate": fmt8(p.apr),
            "canPurchase": self._can_purchase(p),
            "canRedeem": True,
            "dailyInterestPerThousand": fmt8(down8(p.apr * 1000 / DAYS_PER_YEAR)),
            "featured": p.featured,
            "minPurchaseAmount": fmt8(p.min_purchase),
            "productId": p.product_id,
            "purchasedAmount": fmt8(self.savings.purchased(p)),
            "status": "PURCHASING",
            "upLimit": fmt8(p.up_limit),
            "upLimitPerUser": fmt8(p.up_limit_per_user),
        }

    @staticmethod
    def _lending_position(position: Position) -> dict[str, object]:
        p = position.product
        return {
            "annualInterestRate": fmt8(p.apr),
            "asset": p.asset,
            "avgAnnualInterestRate": fmt8(p.apr),
            "canRedeem": True,
            "dailyInterestRate": fmt8(down8(p.apr / DAYS_PER_YEAR)),
            "freeAmount": fmt8(position.amount),
            "freezeAmount": fmt8(ZERO),
            "lockedAmount": fmt8(ZERO),
            "productId": p.product_id,
            "productName": p.asset,
            "redeemingAmount": fmt8(position.redeeming),
            "todayPurchasedAmount": fmt8(position.today_purchased),
            "totalAmount": fmt8(position.amount + position.redeeming),
            "totalInterest": fmt8(position.total_interest),
        }

    @staticmethod
    def _tiers(p: Product) -> dict[str, float]:
        """One tier up to the per-user limit; the swagger gives rates as JSON numbers."""
        return {f"0-{format(p.up_limit_per_user.normalize(), 'f')}{p.asset}": float(p.apr)}

    def _earn_product(self, p: Product) -> dict[str, object]:
        can_purchase = self._can_purchase(p)
        return {
            "asset": p.asset,
            "latestAnnualPercentageRate": fmt8(p.apr),
            "tierAnnualPercentageRate": self._tiers(p),
            "airDropPercentageRate": fmt8(ZERO),
            "canPurchase": can_purchase,
            "canRedeem": True,
            "isSoldOut": not can_purchase,
            "hot": p.featured,
            "minPurchaseAmount": fmt8(p.min_purchase),
            "productId": p.product_id,
            "subscriptionStartTime": str(self.book.started_ms),
            "status": "PURCHASING",
        }

    def _earn_position(self, position: Position) -> dict[str, object]:
        p = position.product
        return {
            "totalAmount": fmt8(position.amount),
            "tierAnnualPercentageRate": self._tiers(p),
            "latestAnnualPercentageRate": fmt8(p.apr),
            "yesterdayAirdropPercentageRate": fmt8(ZERO),
            "asset": p.asset,
            "airDropAsset": p.asset,
            "canRedeem": True,
            "collateralAmount": fmt8(ZERO),
            "productId": p.product_id,
            "yesterdayRealTimeRewards": fmt8(position.yesterday_interest),
            "cumulativeBonusRewards": fmt8(ZERO),
            "cumulativeRealTimeRewards": fmt8(position.total_interest),
            "cumulativeTotalRewards": fmt8(position.total_interest),
            "autoSubscribe": position.auto_subscribe,
        }
