"""Every query about tenants and what they own: stores, tills, printers, payment methods,
reasons, denominations and device setting definitions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.kit.pagination import Page, PageRequest
from posfleet.models import (
    Base,
    CurrencyDenomination,
    DeviceSettingDefinition,
    Printer,
    Reason,
    Store,
    StorePaymentMethod,
    Tenant,
    Till,
)
from posfleet.models.enums import ReasonKind

RowT = TypeVar("RowT", bound=Base)


class TenantRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, row: RowT) -> RowT:
        self.session.add(row)
        await self.session.flush()
        return row

    async def delete(self, row: Base) -> None:
        await self.session.delete(row)
        await self.session.flush()

    async def flush(self) -> None:
        await self.session.flush()

    async def page(self, query: Select[RowT], page: PageRequest) -> Page[RowT]:
        """One page of ``query`` (already ordered) with the exact total count."""
        total = await self.session.scalar(
            select(func.count()).select_from(query.order_by(None).subquery())
        )
        rows = (await self.session.scalars(query.offset(page.offset).limit(page.page_size))).all()
        return Page(list(rows), page.page_number, page.page_size, total or 0)

    # Tenants -----------------------------------------------------------------------------

    async def tenant_by_uid(self, uid: str) -> Tenant | None:
        return await self.session.scalar(select(Tenant).where(Tenant.uid == uid))

    async def tenant_by_id(self, tenant_id: int) -> Tenant | None:
        return await self.session.get(Tenant, tenant_id)

    async def tenants(self) -> Sequence[Tenant]:
        return (await self.session.scalars(select(Tenant).order_by(Tenant.name, Tenant.id))).all()

    # Stores and tills --------------------------------------------------------------------

    async def store_by_uid(self, tenant_id: int, uid: str) -> Store | None:
        return await self.session.scalar(
            select(Store).where(Store.tenant_id == tenant_id, Store.uid == uid)
        )

    async def store_by_id(self, tenant_id: int, store_id: int) -> Store | None:
        return await self.session.scalar(
            select(Store).where(Store.tenant_id == tenant_id, Store.id == store_id)
        )

    def stores_query(self, tenant_id: int) -> Select[Store]:
        return select(Store).where(Store.tenant_id == tenant_id).order_by(Store.name, Store.id)

    async def stores(self, tenant_id: int) -> Sequence[Store]:
        return (await self.session.scalars(self.stores_query(tenant_id))).all()

    async def till_by_uid(self, tenant_id: int, uid: str) -> Till | None:
        return await self.session.scalar(
            select(Till).where(Till.tenant_id == tenant_id, Till.uid == uid)
        )

    async def till_by_id(self, tenant_id: int, till_id: int) -> Till | None:
        return await self.session.scalar(
            select(Till).where(Till.tenant_id == tenant_id, Till.id == till_id)
        )

    async def till_by_number(self, store_id: int, number: int) -> Till | None:
        return await self.session.scalar(
            select(Till).where(Till.store_id == store_id, Till.number == number)
        )

    def tills_query(self, tenant_id: int, store_id: int | None = None) -> Select[Till]:
        query = select(Till).where(Till.tenant_id == tenant_id)
        if store_id is not None:
            query = query.where(Till.store_id == store_id)
        return query.order_by(Till.store_id, Till.number)

    async def tills(self, tenant_id: int, store_id: int | None = None) -> Sequence[Till]:
        return (await self.session.scalars(self.tills_query(tenant_id, store_id))).all()

    # Printers ----------------------------------------------------------------------------

    async def printer_by_uid(self, tenant_id: int, uid: str) -> Printer | None:
        return await self.session.scalar(
            select(Printer).where(Printer.tenant_id == tenant_id, Printer.uid == uid)
        )

    async def printers_by_uids(self, tenant_id: int, uids: Sequence[str]) -> Sequence[Printer]:
        if not uids:
            return []
        return (
            await self.session.scalars(
                select(Printer).where(Printer.tenant_id == tenant_id, Printer.uid.in_(list(uids)))
            )
        ).all()

    def printers_query(self, tenant_id: int, store_id: int | None = None) -> Select[Printer]:
        query = select(Printer).where(Printer.tenant_id == tenant_id)
        if store_id is not None:
            query = query.where(Printer.store_id == store_id)
        return query.order_by(Printer.name, Printer.id)

    async def printers(self, tenant_id: int, store_id: int | None = None) -> Sequence[Printer]:
        return (await self.session.scalars(self.printers_query(tenant_id, store_id))).all()

    # Payment methods, reasons, denominations, setting definitions ------------------------

    async def payment_method_by_uid(self, tenant_id: int, uid: str) -> StorePaymentMethod | None:
        return await self.session.scalar(
            select(StorePaymentMethod).where(
                StorePaymentMethod.tenant_id == tenant_id, StorePaymentMethod.uid == uid
            )
        )

    def payment_methods_query(self, tenant_id: int, store_id: int) -> Select[StorePaymentMethod]:
        return (
            select(StorePaymentMethod)
            .where(
                StorePaymentMethod.tenant_id == tenant_id,
                StorePaymentMethod.store_id == store_id,
            )
            .order_by(StorePaymentMethod.position, StorePaymentMethod.id)
        )

    async def payment_methods(self, tenant_id: int, store_id: int) -> Sequence[StorePaymentMethod]:
        return (await self.session.scalars(self.payment_methods_query(tenant_id, store_id))).all()

    async def reason(self, tenant_id: int, kind: ReasonKind, code: str) -> Reason | None:
        return await self.session.scalar(
            select(Reason).where(
                Reason.tenant_id == tenant_id, Reason.kind == kind, Reason.code == code
            )
        )

    def reasons_query(self, tenant_id: int, kind: ReasonKind | None = None) -> Select[Reason]:
        query = select(Reason).where(Reason.tenant_id == tenant_id)
        if kind is not None:
            query = query.where(Reason.kind == kind)
        return query.order_by(Reason.kind, Reason.position, Reason.id)

    async def reasons(self, tenant_id: int, kind: ReasonKind | None = None) -> Sequence[Reason]:
        return (await self.session.scalars(self.reasons_query(tenant_id, kind))).all()

    async def denomination(
        self, tenant_id: int, currency_code: str, denomination: int, material: str
    ) -> CurrencyDenomination | None:
        return await self.session.scalar(
            select(CurrencyDenomination).where(
                CurrencyDenomination.tenant_id == tenant_id,
                CurrencyDenomination.currency_code == currency_code,
                CurrencyDenomination.denomination == denomination,
                CurrencyDenomination.material == material,
            )
        )

    def denominations_query(self, tenant_id: int) -> Select[CurrencyDenomination]:
        return (
            select(CurrencyDenomination)
            .where(CurrencyDenomination.tenant_id == tenant_id)
            .order_by(
                CurrencyDenomination.currency_code,
                CurrencyDenomination.denomination,
                CurrencyDenomination.material,
            )
        )

    async def denominations(self, tenant_id: int) -> Sequence[CurrencyDenomination]:
        return (await self.session.scalars(self.denominations_query(tenant_id))).all()

    async def setting_definition(self, tenant_id: int, key: str) -> DeviceSettingDefinition | None:
        return await self.session.scalar(
            select(DeviceSettingDefinition).where(
                DeviceSettingDefinition.tenant_id == tenant_id, DeviceSettingDefinition.key == key
            )
        )

    def setting_definitions_query(self, tenant_id: int) -> Select[DeviceSettingDefinition]:
        return (
            select(DeviceSettingDefinition)
            .where(DeviceSettingDefinition.tenant_id == tenant_id)
            .order_by(DeviceSettingDefinition.key)
        )

    async def setting_definitions(self, tenant_id: int) -> Sequence[DeviceSettingDefinition]:
        return (await self.session.scalars(self.setting_definitions_query(tenant_id))).all()
