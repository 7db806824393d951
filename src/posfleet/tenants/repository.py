"""Every query about tenants and what they own: stores, tills, printers, payment methods,
reasons, denominations, device setting definitions; and the global app and client registries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.models import (
    Base,
    CurrencyDenomination,
    Device,
    DeviceFlowClient,
    DeviceSettingDefinition,
    Printer,
    Reason,
    RegisteredApp,
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

    async def stores(self, tenant_id: int) -> Sequence[Store]:
        return (
            await self.session.scalars(
                select(Store).where(Store.tenant_id == tenant_id).order_by(Store.name, Store.id)
            )
        ).all()

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

    async def tills(self, tenant_id: int, store_id: int | None = None) -> Sequence[Till]:
        query = select(Till).where(Till.tenant_id == tenant_id)
        if store_id is not None:
            query = query.where(Till.store_id == store_id)
        return (await self.session.scalars(query.order_by(Till.store_id, Till.number))).all()

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

    async def printers(self, tenant_id: int, store_id: int | None = None) -> Sequence[Printer]:
        query = select(Printer).where(Printer.tenant_id == tenant_id)
        if store_id is not None:
            query = query.where(Printer.store_id == store_id)
        return (await self.session.scalars(query.order_by(Printer.name, Printer.id))).all()

    # Payment methods, reasons, denominations, setting definitions ------------------------

    async def payment_method_by_uid(self, tenant_id: int, uid: str) -> StorePaymentMethod | None:
        return await self.session.scalar(
            select(StorePaymentMethod).where(
                StorePaymentMethod.tenant_id == tenant_id, StorePaymentMethod.uid == uid
            )
        )

    async def payment_methods(self, tenant_id: int, store_id: int) -> Sequence[StorePaymentMethod]:
        return (
            await self.session.scalars(
                select(StorePaymentMethod)
                .where(
                    StorePaymentMethod.tenant_id == tenant_id,
                    StorePaymentMethod.store_id == store_id,
                )
                .order_by(StorePaymentMethod.position, StorePaymentMethod.id)
            )
        ).all()

    async def reason(self, tenant_id: int, kind: ReasonKind, code: str) -> Reason | None:
        return await self.session.scalar(
            select(Reason).where(
                Reason.tenant_id == tenant_id, Reason.kind == kind, Reason.code == code
            )
        )

    async def reasons(self, tenant_id: int, kind: ReasonKind | None = None) -> Sequence[Reason]:
        query = select(Reason).where(Reason.tenant_id == tenant_id)
        if kind is not None:
            query = query.where(Reason.kind == kind)
        return (
            await self.session.scalars(query.order_by(Reason.kind, Reason.position, Reason.id))
        ).all()

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

    async def denominations(
        self, tenant_id: int, currency_code: str | None = None
    ) -> Sequence[CurrencyDenomination]:
        query = select(CurrencyDenomination).where(CurrencyDenomination.tenant_id == tenant_id)
        if currency_code is not None:
            query = query.where(CurrencyDenomination.currency_code == currency_code)
        return (
            await self.session.scalars(
                query.order_by(
                    CurrencyDenomination.currency_code, CurrencyDenomination.denomination
                )
            )
        ).all()

    async def setting_definition(self, tenant_id: int, key: str) -> DeviceSettingDefinition | None:
        return await self.session.scalar(
            select(DeviceSettingDefinition).where(
                DeviceSettingDefinition.tenant_id == tenant_id, DeviceSettingDefinition.key == key
            )
        )

    async def setting_definitions(self, tenant_id: int) -> Sequence[DeviceSettingDefinition]:
        return (
            await self.session.scalars(
                select(DeviceSettingDefinition)
                .where(DeviceSettingDefinition.tenant_id == tenant_id)
                .order_by(DeviceSettingDefinition.key)
            )
        ).all()

    # Registries shared by all tenants ----------------------------------------------------

    async def registered_app(self, app_id: str) -> RegisteredApp | None:
        return await self.session.scalar(
            select(RegisteredApp).where(RegisteredApp.app_id == app_id)
        )

    async def registered_apps(self) -> Sequence[RegisteredApp]:
        return (
            await self.session.scalars(select(RegisteredApp).order_by(RegisteredApp.app_id))
        ).all()

    async def device_flow_client(self, client_id: str) -> DeviceFlowClient | None:
        return await self.session.scalar(
            select(DeviceFlowClient).where(DeviceFlowClient.client_id == client_id)
        )

    async def device_flow_client_by_id(self, row_id: int) -> DeviceFlowClient | None:
        return await self.session.get(DeviceFlowClient, row_id)

    async def device_flow_clients(self) -> Sequence[DeviceFlowClient]:
        return (
            await self.session.scalars(
                select(DeviceFlowClient).order_by(DeviceFlowClient.client_id)
            )
        ).all()

    # The fleet at a glance ---------------------------------------------------------------

    async def device_overview(
        self, tenant_id: int, store_id: int | None = None
    ) -> Sequence[tuple[Device, str | None, int | None]]:
        """The tenant's devices with their store's name and till's number, for listings."""
        query = (
            select(Device, Store.name, Till.number)
            .outerjoin(Store, Store.id == Device.store_id)
            .outerjoin(Till, Till.id == Device.till_id)
            .where(Device.tenant_id == tenant_id)
        )
        if store_id is not None:
            query = query.where(Device.store_id == store_id)
        result = await self.session.execute(query.order_by(Store.name, Till.number, Device.name))
        return [(device, store, till) for device, store, till in result.all()]
