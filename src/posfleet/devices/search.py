"""Device lists and searches: a page of devices with everything each one refers to."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.devices import settings as device_settings
from posfleet.devices.repository import DeviceRepository
from posfleet.devices.search_repository import (
    DEVICE_SORT_COLUMNS,
    DeviceQuery,
    DeviceSearchRepository,
)
from posfleet.devices.service import DeviceDetails
from posfleet.kit.pagination import Page, PageRequest

DEVICE_SORT_FIELDS = frozenset(DEVICE_SORT_COLUMNS)


class DeviceSearchService:
    def __init__(self, session: AsyncSession) -> None:
        self.repo = DeviceSearchRepository(session)
        self.devices = DeviceRepository(session)

    async def page(
        self,
        tenant_id: int,
        query: DeviceQuery,
        page: PageRequest,
        *,
        store_uid: str | None = None,
    ) -> Page[DeviceDetails]:
        """One page of the tenant's devices matching ``query``, with an exact total count.

        ``page.sort_by`` is one of :data:`DEVICE_SORT_FIELDS`; devices of an unknown
        ``store_uid`` are none.
        """
        if store_uid:
            store = await self.devices.store(tenant_id, store_uid)
            if store is None:
                return Page([], page.page_number, page.page_size, 0)
            query = replace(query, store_id=store.id)
        total = await self.repo.count(tenant_id, query)
        ids = await self.repo.page_ids(tenant_id, query, page, total)
        devices = await self.repo.devices(ids)
        stores = await self.repo.stores({d.store_id for d in devices if d.store_id})
        tills = await self.repo.tills({d.till_id for d in devices if d.till_id})
        printers = await self.repo.printers(ids)
        values = await self.repo.setting_values(ids)
        definitions = await self.devices.setting_definitions(tenant_id) if devices else []
        items = [
            DeviceDetails(
                device=d,
                store=stores.get(d.store_id) if d.store_id else None,
                till=tills.get(d.till_id) if d.till_id else None,
                printers=printers.get(d.id, []),
                settings=device_settings.views(definitions, values.get(d.id, {})),
            )
            for d in devices
        ]
        return Page(items, page.page_number, page.page_size, total)


__all__ = ["DEVICE_SORT_FIELDS", "DeviceQuery", "DeviceSearchService"]
