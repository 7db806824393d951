"""Device lists and searches: a page of devices with everything each one refers to."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.devices import settings as device_settings
from posfleet.devices.repository import DeviceRepository
from posfleet.devices.search_repository import (
    DEVICE_SORT_COLUMNS,
    DeviceQuery,
    DeviceSearchRepository,
)
from posfleet.devices.service import ListedDetails
from posfleet.kit.pagination import Keyset, Page, PageRequest
from posfleet.models import Device
from posfleet.tenants.stores import StoreService

DEVICE_SORT_FIELDS = frozenset(DEVICE_SORT_COLUMNS)


class DeviceSearchService:
    def __init__(self, session: AsyncSession) -> None:
        self.repo = DeviceSearchRepository(session)
        self.devices = DeviceRepository(session)
        self.stores = StoreService(session)

    async def page(
        self,
        tenant_id: int,
        query: DeviceQuery,
        page: PageRequest,
        *,
        store_uid: str | None = None,
    ) -> Page[ListedDetails]:
        """One page of the tenant's devices matching ``query``, with an exact total count.

        ``page.sort_by`` is one of :data:`DEVICE_SORT_FIELDS`; devices of an unknown
        ``store_uid`` are none.  ``page.after`` starts the page after a position; the answer's
        ``next`` is the position after its last device while the list goes on.
        """
        if store_uid:
            store = await self.stores.find_store(tenant_id, store_uid)
            if store is None:
                return Page([], page.page_number, page.page_size, 0)
            query = replace(query, store_id=store.id)
        rows, total = await self.repo.page(tenant_id, query, page)
        if not rows:
            return Page([], page.page_number, page.page_size, total)
        printed = [d.id for d, _, _, has_printers in rows if has_printers]
        printers = await self.repo.printers(printed) if printed else {}
        definitions = (
            await self.devices.setting_definitions(tenant_id) if self.repo.settings_defined else []
        )
        # Without definitions a device has no settings to show, whatever values are stored.
        values = await self.repo.setting_values([d.id for d, *_ in rows]) if definitions else {}
        items = [
            ListedDetails(
                device=d,
                store=store,
                till=till,
                printers=printers.get(d.id, []),
                settings=device_settings.views(definitions, values.get(d.id, {})),
            )
            for d, store, till, _ in rows
        ]
        more = len(rows) == page.page_size and page.page_number * page.page_size < total
        last = rows[-1][0]
        sort_key = DEVICE_SORT_COLUMNS[page.sort_by].key
        after = Keyset(getattr(last, sort_key), last.id) if more else None
        return Page(items, page.page_number, page.page_size, total, after)

    async def overview(
        self, tenant_id: int, store_uid: str | None = None
    ) -> Sequence[tuple[Device, str | None, int | None]]:
        """Every device of the tenant (or of one store) with its store name and till number."""
        store = await self.stores.get_store(tenant_id, store_uid) if store_uid else None
        return await self.devices.overview(tenant_id, store.id if store else None)


__all__ = ["DEVICE_SORT_FIELDS", "DeviceQuery", "DeviceSearchService"]
