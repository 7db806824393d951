"""Queries behind device lists and searches, built to stay fast at a million devices a tenant.

* A page is one statement: the ids of the page (an index-only walk of a ``(tenant_id, <sort>, id)``
  index) joined to those devices, their stores and tills.  Deep pages past the middle walk the
  index from the other end.
* ``totalCount`` of a list filtered only by store, status and app code is a sum over
  ``device_counts`` (kept by triggers); a text search counts its matches.
* Substring search uses trigram indexes: ``pg_trgm`` GIN on PostgreSQL, the ``devices_fts`` FTS5
  table on SQLite (both from migration 0002).
* Free text is a union of indexable arms: the device's own columns through the trigram index,
  and ``store_id``/``till_id`` among the stores and tills whose names match (resolved first: a
  tenant has few).  An ``OR`` with sub-selects would make PostgreSQL scan the tenant's devices.
* A page asked for after a position (a cursor) starts there: ``(sort, id) > (value, id)`` is a
  range of the same index, so page 10,000 costs what page 2 does; ``OFFSET`` walks every entry
  before it.
* Printers and setting values of a page are loaded with one query each.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Label,
    Select,
    Subquery,
    column,
    exists,
    func,
    literal,
    or_,
    select,
    table,
    tuple_,
    union,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from posfleet.kit.pagination import Keyset, PageRequest, SortDirection
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
# A search matching at most this many devices is answered by one statement that finds, counts
# and sorts them; beyond it, counting and walking a sort index separately is cheaper.
SMALL_MATCH = 5_000

# A device of a page, its store and till, and whether it has printers.
PageRow = tuple[Device, Store | None, Till | None, bool]


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

    def _fts_ids(self, target: ColumnElement[str], frag: str) -> Select[int]:
        return select(_FTS.c.rowid).where(target.op("MATCH")(_phrase(frag)))

    def _name_matches(self, frag: str) -> ColumnElement[bool]:
        if not self.postgres and len(frag) >= _TRIGRAM:
            return Device.id.in_(self._fts_ids(_FTS.c.name, frag))
        return self._contains(Device.name, frag)

    async def _text_matches(self, tenant_id: int, frag: str) -> ColumnElement[bool]:
        """Devices whose own columns, store name or till name contain ``frag``."""
        stores = select(literal(True), Store.id).where(
            Store.tenant_id == tenant_id, self._contains(Store.name, frag)
        )
        tills = select(literal(False), Till.id).where(
            Till.tenant_id == tenant_id, self._contains(Till.name, frag)
        )
        store_ids: list[int] = []
        till_ids: list[int] = []
        for is_store, found in await self.session.execute(union_all(stores, tills)):
            (store_ids if is_store else till_ids).append(found)
        if not self.postgres and len(frag) >= _TRIGRAM:
            # One id set per arm, united: each arm is an index lookup (FTS5, store, till).
            arms: list[Select[int]] = [self._fts_ids(_FTS.c.devices_fts, frag)]
            if store_ids:
                arms.append(
                    select(Device.id).where(
                        Device.tenant_id == tenant_id, Device.store_id.in_(store_ids)
                    )
                )
            if till_ids:
                arms.append(select(Device.id).where(Device.till_id.in_(till_ids)))
            return Device.id.in_(union(*arms) if len(arms) > 1 else arms[0])
        # PostgreSQL combines these arms with a BitmapOr over the trigram and store indexes.
        own: list[ColumnElement[bool]] = [
            self._contains(Device.name, frag),
            self._contains(Device.identifier, frag),
            self._contains(Device.system_information, frag),
        ]
        if store_ids:
            own.append(Device.store_id.in_(store_ids))
        if till_ids:
            own.append(Device.till_id.in_(till_ids))
        return or_(*own)

    async def _conditions(self, tenant_id: int, q: DeviceQuery) -> list[ColumnElement[bool]]:
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
            conditions.append(await self._text_matches(tenant_id, q.text))
        return conditions

    async def filter(self, tenant_id: int, q: DeviceQuery) -> list[ColumnElement[bool]]:
        """The WHERE clause of ``q``, for :meth:`count` and :meth:`page`; built once a request
        (free text resolves the matching stores and tills here)."""
        return await self._conditions(tenant_id, q)

    # Counting and paging

    def _counted(self, tenant_id: int, q: DeviceQuery) -> Select[Any]:
        """The trigger-kept total of a query that filters by store, status and app code only."""
        counted = [DeviceCount.tenant_id == tenant_id]
        if q.store_id is not None:
            counted.append(DeviceCount.store_id == q.store_id)
        if q.app_code is not None:
            counted.append(DeviceCount.app_code == q.app_code.value)
        if q.statuses:
            counted.append(DeviceCount.status.in_([s.value for s in q.statuses]))
        return select(func.coalesce(func.sum(DeviceCount.count), 0)).where(*counted)

    async def count(self, tenant_id: int, q: DeviceQuery, where: list[ColumnElement[bool]]) -> int:
        """How many devices match; ``where`` is :meth:`filter` of ``q``."""
        if q.counted_by_triggers:
            total = await self.session.scalar(self._counted(tenant_id, q))
        else:
            total = await self.session.scalar(
                select(func.count()).select_from(Device).where(*where)
            )
        return int(total or 0)

    async def page(
        self, tenant_id: int, q: DeviceQuery, where: list[ColumnElement[bool]], page: PageRequest
    ) -> tuple[list[PageRow], int]:
        """One page of devices with their store and till, in order, and the exact total.

        Most requests are one statement: the first page of a list carries the trigger-kept total
        along, and a search with at most :data:`SMALL_MATCH` matches finds them once, counts and
        sorts them.  Other pages count first, and a page past the middle is read from the far
        end of the index.
        """
        if page.after is not None:
            return await self._page_after(tenant_id, q, where, page, page.after)
        if not q.counted_by_triggers:
            small = await self._small_match_page(where, page)
            if small is not None:
                return small
        elif page.offset == 0:
            total_column = self._counted(tenant_id, q).scalar_subquery()
            rows, total = await self._rows(where, page, 0, page.page_size, False, total_column)
            return rows, total if rows else 0
        total = await self.count(tenant_id, q, where)
        if page.offset >= total:
            return [], total
        offset, limit = page.offset, page.page_size
        backwards = offset > total // 2
        if backwards:
            limit = min(limit, total - offset)
            offset = total - offset - limit
        rows, _ = await self._rows(where, page, offset, limit, backwards, None)
        return rows, total

    async def _page_after(
        self,
        tenant_id: int,
        q: DeviceQuery,
        where: list[ColumnElement[bool]],
        page: PageRequest,
        after: Keyset,
    ) -> tuple[list[PageRow], int]:
        """The page that starts after ``after``, and the exact total of the whole list."""
        keys = self._keys(page)
        values = [after.value] if len(keys) == 1 else [after.value, after.id]
        bound = [literal(v, type_=k.type) for k, v in zip(keys, values, strict=True)]
        if page.sort_direction is SortDirection.DESC:
            beyond = tuple_(*keys) < tuple_(*bound)
        else:
            beyond = tuple_(*keys) > tuple_(*bound)
        if q.counted_by_triggers:
            total_column = self._counted(tenant_id, q).scalar_subquery()
            rows, total = await self._rows(
                [*where, beyond], page, 0, page.page_size, False, total_column
            )
            if rows:
                return rows, total
        total = await self.count(tenant_id, q, where)
        rows, _ = await self._rows([*where, beyond], page, 0, page.page_size, False, None)
        return rows, total

    def _keys(self, page: PageRequest) -> list[QueryableAttribute[Any]]:
        sort = DEVICE_SORT_COLUMNS[page.sort_by]
        return [sort] if sort is Device.uid else [sort, Device.id]

    async def _rows(
        self,
        where: list[ColumnElement[bool]],
        page: PageRequest,
        offset: int,
        limit: int,
        backwards: bool,
        total: ColumnElement[Any] | None,
    ) -> tuple[list[PageRow], int]:
        keys = self._keys(page)
        descending = page.sort_direction is SortDirection.DESC
        walk = descending != backwards
        ids = (
            select(Device.id)
            .where(*where)
            .order_by(*[k.desc() if walk else k.asc() for k in keys])
            .limit(limit)
            .offset(offset)
            .subquery("page")
        )
        # The page's ids come from an index-only walk; only those rows are read and sorted again.
        return await self._load(
            ids, page, (total if total is not None else literal(0)).label("total")
        )

    async def _small_match_page(
        self, where: list[ColumnElement[bool]], page: PageRequest
    ) -> tuple[list[PageRow], int] | None:
        """The page and total of a search that matches at most :data:`SMALL_MATCH` devices,
        finding them once; None when it matches more (or the page lies past its end)."""
        keys = self._keys(page)
        matches = select(Device.id, *keys[:1]).where(*where).limit(SMALL_MATCH + 1).subquery("m")
        sort = [matches.c[k.key] for k in keys]
        descending = page.sort_direction is SortDirection.DESC
        ids = (
            select(matches.c.id, func.count().over().label("matched"))
            .order_by(*[k.desc() if descending else k.asc() for k in sort])
            .limit(page.page_size)
            .offset(page.offset)
            .subquery("page")
        )
        rows, total = await self._load(ids, page, ids.c.matched.label("total"))
        if not rows:
            return ([], 0) if page.offset == 0 else None
        return None if total > SMALL_MATCH else (rows, total)

    async def _load(
        self, ids: Subquery, page: PageRequest, total: Label[Any]
    ) -> tuple[list[PageRow], int]:
        keys = self._keys(page)
        descending = page.sort_direction is SortDirection.DESC
        # Whether a device has printers rides along, so a page without any skips that query.
        printed = exists().where(DevicePrinter.device_id == Device.id).label("printed")
        result = await self.session.execute(
            select(Device, Till, printed, total)
            .join(ids, ids.c.id == Device.id)
            .outerjoin(Till, Till.id == Device.till_id)
            .order_by(*[k.desc() if descending else k.asc() for k in keys])
        )
        rows = result.all()
        if not rows:
            return [], 0
        # A store row is wide (40 columns, four of them JSON) and a page's devices share a few
        # stores: read each once, not once per device.
        store_ids = {d.store_id for d, *_ in rows if d.store_id is not None}
        stores = (
            {
                s.id: s
                for s in await self.session.scalars(select(Store).where(Store.id.in_(store_ids)))
            }
            if store_ids
            else {}
        )
        page_rows = [
            (d, stores.get(d.store_id) if d.store_id is not None else None, t, bool(p))
            for d, t, p, _ in rows
        ]
        return page_rows, int(rows[0][3])

    # Loading what a page refers to

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
