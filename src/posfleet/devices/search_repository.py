"""Queries behind device lists and searches, built to stay fast at a million devices a tenant.

* A page is two queries: the ids of the page (an index-only walk of a ``(tenant_id, <sort>, id)``
  index), then those rows.  Deep pages past the middle walk the index from the other end.
* ``totalCount`` of a list filtered only by store, status and app code is a sum over
  ``device_counts`` (kept by triggers); a text search counts its matches.
* Substring search uses trigram indexes: ``pg_trgm`` GIN on PostgreSQL, the ``devices_fts`` FTS5
  table on SQLite (both from migration 0002).
* What a page refers to (stores, tills, printers, setting values) is loaded in one query each.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, column, func, or_, select, table
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from posfleet.kit.pagination import PageRequest, SortDirection
from posfleet.models import (
    Device,
    DeviceCount,
    DevicePrinter,
    DeviceSettingValue,
    Printer,
    Store,
    Till,
)
from posfleet.models.enums import AppCode, DeviceStatus

# Sort keys by domain name; dialects map their own names onto these.
DEVICE_SORT_COLUMNS = {
    "created_at": Device.created_at,
    "last_modified_at": Device.last_modified_at,
    "name": Device.name,
    "status": Device.status,
    "uid": Device.uid,
}

_FTS = table(
    "devices_fts",
    column("rowid"),
    column("devices_fts"),
    column("name"),
)
# The trigram tokenizer indexes three characters at a time; shorter text cannot use it.
_TRIGRAM = 3


@dataclass(frozen=True, slots=True)
class DeviceQuery:
    """What a list or search asks for; empty fields do not filter."""

    store_id: int | None = None
    name: str = ""
    identifier: str = ""
    text: str = ""
    app_code: AppCode | None = None
    statuses: tuple[DeviceStatus, ...] = field(default=())

    @property
    def counted_by_triggers(self) -> bool:
        return not (self.name or self.identifier or self.text)


def _like(fragment: str) -> str:
    escaped = fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _phrase(fragment: str) -> str:
    return '"' + fragment.replace('"', '""') + '"'


class DeviceSearchRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.postgres = session.get_bind().dialect.name == "postgresql"

    # Filters

    def _contains(self, col: QueryableAttribute[Any], frag: str) -> ColumnElement[bool]:
        """Case-insensitive substring match (SQLite folds ASCII letters only)."""
        if self.postgres:
            return col.ilike(_like(frag), escape="\\")
        return col.like(_like(frag), escape="\\")

    def _fts_ids(self, target: ColumnElement[str], frag: str) -> Select[tuple[int]]:
        return select(_FTS.c.rowid).where(target.op("MATCH")(_phrase(frag)))

    def _name_matches(self, frag: str) -> ColumnElement[bool]:
        if not self.postgres and len(frag) >= _TRIGRAM:
            return Device.id.in_(self._fts_ids(_FTS.c.name, frag))
        return self._contains(Device.name, frag)

    def _text_matches(self, tenant_id: int, frag: str) -> ColumnElement[bool]:
        stores = select(Store.id).where(
            Store.tenant_id == tenant_id, self._contains(Store.name, frag)
        )
        tills = select(Till.id).where(Till.tenant_id == tenant_id, self._contains(Till.name, frag))
        if not self.postgres and len(frag) >= _TRIGRAM:
            own: ColumnElement[bool] = Device.id.in_(self._fts_ids(_FTS.c.devices_fts, frag))
        else:
            own = or_(
                self._contains(Device.name, frag),
                self._contains(Device.identifier, frag),
                self._contains(Device.system_information, frag),
            )
        return or_(own, Device.store_id.in_(stores), Device.till_id.in_(tills))

    def _conditions(self, tenant_id: int, q: DeviceQuery) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = [Device.tenant_id == tenant_id]
        if q.store_id is not None:
            conditions.append(Device.store_id == q.store_id)
        if q.app_code is not None:
            conditions.append(Device.app_code == q.app_code)
        if q.statuses:
            conditions.append(Device.status.in_(q.statuses))
        if q.identifier:
            conditions.append(Device.identifier == q.identifier)
        if q.name:
            conditions.append(self._name_matches(q.name))
        if q.text:
            conditions.append(self._text_matches(tenant_id, q.text))
        return conditions

    # Counting and paging

    async def count(self, tenant_id: int, q: DeviceQuery) -> int:
        if q.counted_by_triggers:
            where = [DeviceCount.tenant_id == tenant_id]
            if q.store_id is not None:
                where.append(DeviceCount.store_id == q.store_id)
            if q.app_code is not None:
                where.append(DeviceCount.app_code == q.app_code.value)
            if q.statuses:
                where.append(DeviceCount.status.in_([s.value for s in q.statuses]))
            total = await self.session.scalar(select(func.sum(DeviceCount.count)).where(*where))
        else:
            total = await self.session.scalar(
                select(func.count()).select_from(Device).where(*self._conditions(tenant_id, q))
            )
        return int(total or 0)

    async def page_ids(
        self, tenant_id: int, q: DeviceQuery, page: PageRequest, total: int
    ) -> list[int]:
        """The ids of one page in order; a page past the middle is read from the far end."""
        offset, limit = page.offset, page.page_size
        if offset >= total:
            return []
        descending = page.sort_direction is SortDirection.DESC
        backwards = offset > total // 2
        if backwards:
            limit = min(limit, total - offset)
            offset = total - offset - limit
            descending = not descending
        sort = DEVICE_SORT_COLUMNS[page.sort_by]
        keys = [sort] if sort is Device.uid else [sort, Device.id]
        order = [k.desc() if descending else k.asc() for k in keys]
        rows = await self.session.scalars(
            select(Device.id)
            .where(*self._conditions(tenant_id, q))
            .order_by(*order)
            .limit(limit)
            .offset(offset)
        )
        ids = list(rows)
        return ids[::-1] if backwards else ids

    # Loading a page

    async def devices(self, ids: Sequence[int]) -> list[Device]:
        if not ids:
            return []
        found = {
            d.id: d for d in await self.session.scalars(select(Device).where(Device.id.in_(ids)))
        }
        return [found[i] for i in ids if i in found]

    async def stores(self, ids: set[int]) -> dict[int, Store]:
        if not ids:
            return {}
        return {s.id: s for s in await self.session.scalars(select(Store).where(Store.id.in_(ids)))}

    async def tills(self, ids: set[int]) -> dict[int, Till]:
        if not ids:
            return {}
        return {t.id: t for t in await self.session.scalars(select(Till).where(Till.id.in_(ids)))}

    async def printers(self, device_ids: Sequence[int]) -> dict[int, list[Printer]]:
        by_device: dict[int, list[Printer]] = defaultdict(list)
        if not device_ids:
            return by_device
        rows = await self.session.execute(
            select(DevicePrinter.device_id, Printer)
            .join(Printer, Printer.id == DevicePrinter.printer_id)
            .where(DevicePrinter.device_id.in_(device_ids))
            .order_by(Printer.name, Printer.id)
        )
        for device_id, printer in rows:
            by_device[device_id].append(printer)
        return by_device

    async def setting_values(self, device_ids: Sequence[int]) -> dict[int, dict[int, str]]:
        by_device: dict[int, dict[int, str]] = defaultdict(dict)
        if not device_ids:
            return by_device
        rows = await self.session.execute(
            select(
                DeviceSettingValue.device_id,
                DeviceSettingValue.definition_id,
                DeviceSettingValue.value,
            ).where(DeviceSettingValue.device_id.in_(device_ids))
        )
        for device_id, definition_id, value in rows:
            by_device[device_id][definition_id] = value
        return by_device
