"""The payment catalogue of each store, including its zero-amount method.

DeviceInfo refuses a store without a zero-amount method (the method a till uses to close a
sale of nothing), so the schema allows at most one per store and :meth:`add_defaults` gives a
new store one: a hidden CASH method, next to a listed CASH method for ordinary sales.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.errors import Conflict, NotFound
from posfleet.kit.pagination import Page, PageRequest
from posfleet.models import Store, StorePaymentMethod
from posfleet.models.enums import PaymentCode, PaymentVisibility
from posfleet.tenants.fields import Fields, Name, Uid
from posfleet.tenants.repository import TenantRepository
from posfleet.tenants.service import apply, check_new_uid, require

DEFAULT_CASH_NAME = "Cash"
DEFAULT_ZERO_AMOUNT_NAME = "Zero amount"


class PaymentMethodFields(Fields):
    code: PaymentCode = PaymentCode.CASH
    name: Name = ""
    description: str = Field(default="", max_length=500)
    settlement_code: str = Field(default="", max_length=64)
    visibility: PaymentVisibility = PaymentVisibility.LISTED
    position: int = Field(default=0, ge=0, le=1_000_000)
    allow_refund: bool = True
    allow_sale: bool = True
    allow_cashback: bool = False
    allow_amount: bool = True
    is_zero_amount: bool = False
    requirements: dict[str, Any] = Field(default_factory=dict)
    parameters: list[dict[str, Any]] = Field(default_factory=list)


class PaymentCatalogService:
    def __init__(self, session: AsyncSession) -> None:
        self.repository = TenantRepository(session)

    async def _store(self, tenant_id: int, store_uid: str) -> Store:
        store = await self.repository.store_by_uid(tenant_id, store_uid)
        if store is None:
            raise NotFound(f"No store {store_uid!r} in this tenant")
        return store

    async def create_payment_method(
        self, tenant_id: int, store_uid: str, fields: PaymentMethodFields, *, uid: Uid | None = None
    ) -> StorePaymentMethod:
        require(fields, "code", "name")
        check_new_uid("payment method", uid)
        store = await self._store(tenant_id, store_uid)
        if fields.is_zero_amount:
            await self._zero_amount_free(store)
        if uid is not None and await self.repository.payment_method_by_uid(tenant_id, uid):
            raise Conflict(f"Payment method {uid!r} already exists in this tenant")
        method = StorePaymentMethod(tenant_id=tenant_id, store_id=store.id)
        apply(method, fields.values())
        if uid is not None:
            method.uid = uid
        return await self.repository.add(method)

    async def add_defaults(self, tenant_id: int, store: Store) -> None:
        """A new store's listed CASH method and its zero-amount method."""
        for fields in (
            PaymentMethodFields(code=PaymentCode.CASH, name=DEFAULT_CASH_NAME, allow_cashback=True),
            PaymentMethodFields(
                code=PaymentCode.CASH,
                name=DEFAULT_ZERO_AMOUNT_NAME,
                visibility=PaymentVisibility.HIDDEN,
                position=1,
                allow_amount=False,
                allow_refund=False,
                is_zero_amount=True,
            ),
        ):
            method = StorePaymentMethod(tenant_id=tenant_id, store_id=store.id)
            apply(method, fields.values())
            await self.repository.add(method)

    async def _zero_amount_free(self, store: Store) -> None:
        if any(
            m.is_zero_amount
            for m in await self.repository.payment_methods(store.tenant_id, store.id)
        ):
            raise Conflict(f"Store {store.uid!r} already has a zero-amount payment method")

    async def find_payment_method(self, tenant_id: int, uid: str) -> StorePaymentMethod | None:
        return await self.repository.payment_method_by_uid(tenant_id, uid)

    async def get_payment_method(self, tenant_id: int, uid: str) -> StorePaymentMethod:
        method = await self.repository.payment_method_by_uid(tenant_id, uid)
        if method is None:
            raise NotFound(f"No payment method {uid!r} in this tenant")
        return method

    async def list_payment_methods(
        self, tenant_id: int, store_id: int
    ) -> Sequence[StorePaymentMethod]:
        """The store's methods in till order (by position)."""
        return await self.repository.payment_methods(tenant_id, store_id)

    async def page_payment_methods(
        self, tenant_id: int, store_uid: str, page: PageRequest
    ) -> Page[StorePaymentMethod]:
        store = await self._store(tenant_id, store_uid)
        return await self.repository.page(
            self.repository.payment_methods_query(tenant_id, store.id), page
        )

    async def update_payment_method(
        self, tenant_id: int, uid: str, changes: PaymentMethodFields
    ) -> StorePaymentMethod:
        method = await self.get_payment_method(tenant_id, uid)
        given = changes.given()
        if given.get("is_zero_amount") and not method.is_zero_amount:
            await self._zero_amount_free(await self._store_by_id(tenant_id, method.store_id))
        apply(method, given)
        await self.repository.flush()
        return method

    async def _store_by_id(self, tenant_id: int, store_id: int) -> Store:
        store = await self.repository.store_by_id(tenant_id, store_id)
        if store is None:
            raise NotFound("No such store in this tenant")
        return store

    async def delete_payment_method(self, tenant_id: int, uid: str) -> None:
        await self.repository.delete(await self.get_payment_method(tenant_id, uid))
