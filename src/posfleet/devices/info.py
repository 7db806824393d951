"""What a linked device is told about itself: its store, till, tenant, payment methods, reasons,
denominations, settings and printers — assembled with one query per kind.

The rendered answer is kept per process, keyed by the tenant's ``config_version`` (moved by
database triggers on every row DeviceInfo reads, migration 0003) and the device's own columns
that it shows; both come with the token check, so a cached body is served only while rendering
again would give the same one, on every replica.

A device must be placed in a store whose payment methods include a zero-amount method before it
can be served; a device without a till is normal (a handheld) and is served without one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.devices.service import DeviceService
from posfleet.devices.settings import SettingView
from posfleet.errors import Conflict
from posfleet.kit.clock import utcnow
from posfleet.models import (
    CurrencyDenomination,
    Device,
    Printer,
    Reason,
    Store,
    StorePaymentMethod,
    Tenant,
    Till,
)
from posfleet.models.enums import ReasonKind
from posfleet.runtime import Runtime
from posfleet.tenants.payments import PaymentCatalogService
from posfleet.tenants.reasons import ReasonService

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    device: Device
    tenant: Tenant
    store: Store
    till: Till | None
    payment_methods: list[StorePaymentMethod]
    zero_amount_method: StorePaymentMethod
    discount_reasons: list[Reason]
    return_reasons: list[Reason]
    denominations: list[CurrencyDenomination]
    settings: list[SettingView]
    printers: list[Printer]


class DeviceInfoService:
    def __init__(self, session: AsyncSession, runtime: Runtime) -> None:
        self.session = session
        self.runtime = runtime
        self.devices = DeviceService(session, runtime)
        self.payments = PaymentCatalogService(session)
        self.reasons = ReasonService(session)

    async def info(self, device: Device, tenant: Tenant) -> DeviceInfo:
        """Everything the device needs to run; 409 when its configuration is incomplete."""
        details = await self.devices.details(device)
        store = details.store
        if store is None:
            raise Conflict(
                "The device must be placed in a store before it can be used: "
                "ask an administrator to set the device's store",
                code="device_not_in_store",
            )
        methods = list(await self.payments.list_payment_methods(store.tenant_id, store.id))
        zero = next((m for m in methods if m.is_zero_amount), None)
        if zero is None:
            raise Conflict(
                f"Store {store.uid} has no zero-amount payment method; an administrator must "
                "mark one of the store's payment methods as the zero-amount method",
                code="store_without_zero_amount_method",
            )
        reasons = await self.reasons.list_reasons(tenant.id)
        return DeviceInfo(
            device=device,
            tenant=tenant,
            store=store,
            till=details.till,
            payment_methods=[m for m in methods if not m.is_zero_amount],
            zero_amount_method=zero,
            discount_reasons=[r for r in reasons if r.kind is ReasonKind.DISCOUNT],
            return_reasons=[r for r in reasons if r.kind is ReasonKind.RETURN],
            denominations=list(await self.reasons.list_denominations(tenant.id)),
            settings=details.settings,
            printers=details.printers,
        )

    async def rendered(
        self, device: Device, tenant: Tenant, render: Callable[[DeviceInfo], T]
    ) -> T:
        """``render(info(...))``, from the cache while nothing it shows has changed."""
        hit = self.kept_rendering(self.runtime, device, tenant, render)
        if hit is not None:
            return hit
        value = render(await self.info(device, tenant))
        self.runtime.device_info_cache.put(_cache_key(device, tenant, render), value)
        return value

    @staticmethod
    def kept_rendering(
        runtime: Runtime, device: Device, tenant: Tenant, render: Callable[[DeviceInfo], T]
    ) -> T | None:
        """The cached ``render(info(...))`` while nothing it shows has changed, else None."""
        return cast(T | None, runtime.device_info_cache.get(_cache_key(device, tenant, render)))

    def report_system_information(self, device: Device, system_information: str) -> None:
        """The device's own account of itself (``uname -a`` and the like)."""
        device.system_information = system_information

    @staticmethod
    def note_activity(runtime: Runtime, device: Device) -> None:
        """Note that the device was seen; written off the request path (devices/activity.py)."""
        runtime.activity.note(device.id, device.last_activity_at, utcnow())


def _cache_key(device: Device, tenant: Tenant, render: Callable[..., Any]) -> tuple[Any, ...]:
    # Every device column DeviceInfo shows or selects by; everything else it shows is covered by
    # the tenant's config_version.
    return (
        render,
        tenant.id,
        tenant.config_version,
        device.id,
        device.uid,
        device.name,
        device.identifier,
        device.store_id,
        device.till_id,
        device.created_at,
        device.credential_generation,
    )
