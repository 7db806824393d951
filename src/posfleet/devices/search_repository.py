"""Queries behind device lists and searches, built to stay fast at a million devices a tenant.

* A page is one statement: the ids of the page (an index-only walk of a ``(tenant_id, <sort>, id)``
  index) joined to those devices, their stores and tills.  Deep pages past the middle walk the
  index from the other end.
* ``totalCount`` of a list filtered only by store, status and app code is a sum over
  ``device_counts`` (kept by triggers); a text search counts its matches.
* Substring search looks a fragment up as the start of a term (migration 0012): a device's terms
  are its lower-cased text cut at every position, so a fragment without spaces occurs exactly
  when a term starts with it.  Terms carry their tenant, so a search counts its matches without
  reading a device: SQLite's ``device_terms`` FTS5 table (``<tenant>`<term>`` tokens, rowid =
  device id); PostgreSQL's ``device_terms`` table, whose btree yields each match's device and
  creation time from a range scan.  A page of matches is then found without reading the wide
  rows of every match (:meth:`DeviceSearchRepository._term_page`).  Fragments the terms cannot
  take (shorter than three or longer than 64 characters, spaces, quotes, backslash, backtick,
  not ASCII) use the trigram indexes of migration 0002 (``pg_trgm`` GIN, ``devices_fts``).
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
    BindParameter,
    ColumnElement,
    DateTime,
    Integer,
    Label,
    Select,
    String,
    Subquery,
    bindparam,
    case,
    column,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    table,
    text,
    tuple_,
    union,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from posfleet.kit.pagination import PageRequest, SortDirection
from posfleet.models import (
    Device,
    DeviceCount,
    DevicePrinter,
    DeviceSettingDefinition,
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
# The term tables of migration 0012 (SQLite: FTS5; PostgreSQL: a btree-keyed table).
_TERMS = table("device_terms", column("rowid"), column("device_terms"))
_PG_TERMS = table(
    "device_terms",
    column("tenant_id"),
    column("field"),
    column("term", String),
    column("created_at", DateTime(timezone=True)),
    column("device_id"),
)
# The trigram tokenizer indexes three characters at a time; shorter text cannot use it.
_TRIGRAM = 3
# Fragments looked up as terms (migration 0012): ASCII letters, digits and the characters SQLite's
# terms keep, neither shorter nor longer than a term can be.
_TERM_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&()*+,-./:;<=>?@[]^_{|}~"
)
_TERM_MIN = 3
_TERM_LENGTH = 64
# Text past this many characters is not cut into terms; such devices are checked one by one.
_TERM_POSITIONS = 4096
# SQLite, a page of term matches: reading a match's row to sort it costs about this many walked
# entries of a sort index (measured at a million devices); the cheaper way is taken.
_ROW_READ_ENTRIES = 12
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


def _term_match(tenant_id: int, fragment: str, text: bool) -> str:
    """The FTS5 query of the tenant's terms starting with ``fragment``, in the name or (``text``)
    in any of the device's own columns (SQLite)."""
    columns = "{name other}" if text else "name"
    return f"{columns} : {_phrase(f'{tenant_id}`{fragment}')} *"


def _termed(fragment: str) -> bool:
    """Whether the term tables find exactly the devices containing ``fragment``."""
    return _TERM_MIN <= len(fragment) <= _TERM_LENGTH and _TERM_CHARS.issuperset(fragment)


@dataclass(frozen=True, slots=True)
class _TermSearch:
    """A search answered from the term table alone: ``fragment`` in the name, or (``text``) in
    the name, identifier or system information."""

    fragment: str
    text: bool


def _place_arms(tenant_id: int, store_ids: list[int], till_ids: list[int]) -> list[Select[int]]:
    """The devices in the stores and tills whose names matched a free-text search."""
    arms: list[Select[int]] = []
    if store_ids:
        arms.append(
            select(Device.id).where(Device.tenant_id == tenant_id, Device.store_id.in_(store_ids))
        )
    if till_ids:
        arms.append(
            select(Device.id).where(Device.tenant_id == tenant_id, Device.till_id.in_(till_ids))
        )
    return arms


class DeviceSearchRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.postgres = session.get_bind().dialect.name == "postgresql"
        # Set by :meth:`filter` when the query is one term search and nothing else.
        self._term: _TermSearch | None = None
        # Whether the tenant of the last page loaded defines device settings.
        self.settings_defined = True

    # Filters

    def _contains(self, col: QueryableAttribute[Any], frag: str) -> ColumnElement[bool]:
        """Case-insensitive substring match (SQLite folds ASCII letters only)."""
        if self.postgres:
            return col.ilike(_like(frag), escape="\\")
        return col.like(_like(frag), escape="\\")

    def _fts_ids(self, target: ColumnElement[str], frag: str) -> Select[int]:
        return select(_FTS.c.rowid).where(target.op("MATCH")(_phrase(frag)))

    def _sqlite_term_ids(self, tenant_id: int, frag: str, text: bool) -> Select[int]:
        """SQLite: the tenant's devices with a term starting with ``frag`` (``_termed``)."""
        match = _term_match(tenant_id, frag, text)
        return select(_TERMS.c.rowid).where(_TERMS.c.device_terms.op("MATCH")(match))

    def _pg_term_rows(self, tenant_id: int, frag: str, text: bool) -> Select[Any]:
        """PostgreSQL: (device id, creation time) of the tenant's devices whose name (or system
        information, ``text``) has a term starting with ``frag`` (``_termed``): a range of the
        term table's primary key, read from the index alone."""
        low = frag.lower()
        high = low[:-1] + chr(ord(low[-1]) + 1)
        t = _PG_TERMS.c
        # The fields as "char" constants: a bound text value would compare as text, and the
        # primary key could then not be searched by field.
        name: ColumnElement[str] = literal_column("'n'::\"char\"")
        system: ColumnElement[str] = literal_column("'s'::\"char\"")
        return select(t.device_id.label("id"), t.created_at).where(
            t.tenant_id == tenant_id,
            t.field.in_([name, system]) if text else t.field == name,
            t.term >= low,
            t.term < high,
        )

    def _long_text(self) -> ColumnElement[bool]:
        """Devices with text too long to be cut into terms everywhere: the condition of the
        partial index ix_devices_long_text, spelled out (not bound) so that it is used."""
        limit: ColumnElement[int] = literal_column(str(_TERM_POSITIONS))
        return or_(
            func.length(Device.name) > limit,
            func.length(Device.identifier) > limit,
            func.length(Device.system_information) > limit,
        )

    def _overlong(self, tenant_id: int) -> Select[int]:
        """How many of the tenant's devices have overlong text (normally none).  A count, not
        EXISTS: PostgreSQL cannot estimate the length condition, and for EXISTS it would scan
        the table expecting an early match instead of reading the (empty) partial index."""
        return select(func.count()).where(Device.tenant_id == tenant_id, self._long_text())

    def _term_arms(self, tenant_id: int, frag: str, text: bool) -> list[Select[Any]]:
        """The devices containing ``frag`` (``_termed``) in their name or (``text``) in any of
        their own columns, as id sets: the term table, the identifier on PostgreSQL (trigram
        index: identifiers are random, their trigrams rare) and devices with overlong text."""
        if self.postgres:
            arms: list[Select[Any]] = [
                select(self._pg_term_rows(tenant_id, frag, text).subquery().c.id)
            ]
            if text:
                arms.append(
                    select(Device.id).where(
                        Device.tenant_id == tenant_id, self._contains(Device.identifier, frag)
                    )
                )
        else:
            arms = [self._sqlite_term_ids(tenant_id, frag, text)]
        checked = [self._contains(Device.name, frag)]
        if text:
            checked += [
                self._contains(Device.identifier, frag),
                self._contains(Device.system_information, frag),
            ]
        arms.append(
            select(Device.id).where(Device.tenant_id == tenant_id, self._long_text(), or_(*checked))
        )
        return arms

    def _name_matches(self, tenant_id: int, frag: str) -> ColumnElement[bool]:
        if _termed(frag):
            return Device.id.in_(union(*self._term_arms(tenant_id, frag, False)))
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
        if _termed(frag):
            termed = [
                *self._term_arms(tenant_id, frag, True),
                *_place_arms(tenant_id, store_ids, till_ids),
            ]
            if store_ids or till_ids:
                # The term table alone does not answer this search.
                self._term = None
            return Device.id.in_(union(*termed))
        if not self.postgres and len(frag) >= _TRIGRAM:
            # One id set per arm, united: each arm is an index lookup (FTS5, store, till).
            arms: list[Select[int]] = [
                self._fts_ids(_FTS.c.devices_fts, frag),
                *_place_arms(tenant_id, store_ids, till_ids),
            ]
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
        # One search of the term table and no other condition: answered from that table alone.
        only = not (q.store_id is not None or q.app_code or q.statuses or q.identifier)
        if only and bool(q.name) != bool(q.text) and _termed(q.name or q.text):
            self._term = _TermSearch(q.name or q.text, bool(q.text))
        else:
            self._term = None
        if q.name:
            conditions.append(self._name_matches(tenant_id, q.name))
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
        if self._term is not None:
            termed = await self._term_page(tenant_id, self._term, page)
            if termed is not None:
                return termed
        if page.after is not None:
            return await self._page_after(tenant_id, q, where, page)
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
    ) -> tuple[list[PageRow], int]:
        """The page that starts after the page's cursor, and the exact total of the whole list."""
        beyond = self._beyond(self._keys(page), page)
        if q.counted_by_triggers:
            total_column = self._counted(tenant_id, q).scalar_subquery()
            rows, total = await self._rows(
                [*where, *beyond], page, 0, page.page_size, False, total_column
            )
            if rows:
                return rows, total
        total = await self.count(tenant_id, q, where)
        rows, _ = await self._rows([*where, *beyond], page, 0, page.page_size, False, None)
        return rows, total

    def _beyond(self, keys: Sequence[Any], page: PageRequest) -> list[Any]:
        """The condition "after the page's cursor" on ``keys`` (none without a cursor)."""
        if page.after is None:
            return []
        types = [k.type for k in self._keys(page)]
        values = [page.after.value] if len(keys) == 1 else [page.after.value, page.after.id]
        bound = [literal(v, type_=t) for t, v in zip(types, values, strict=True)]
        if page.sort_direction is SortDirection.DESC:
            return [tuple_(*keys) < tuple_(*bound)]
        return [tuple_(*keys) > tuple_(*bound)]

    async def _term_page(
        self, tenant_id: int, term: _TermSearch, page: PageRequest
    ) -> tuple[list[PageRow], int] | None:
        """The page and exact total of a search answered by the term table, reading no device
        row but the page's; None when the tenant has devices whose text is too long to be cut
        into terms everywhere (or, on PostgreSQL, when the sort is not by creation)."""
        if self.postgres:
            return await self._pg_term_page(tenant_id, term, page)
        found = self._sqlite_term_ids(tenant_id, term.fragment, term.text)
        counts = await self.session.execute(
            select(
                select(func.count()).select_from(found.subquery()).scalar_subquery(),
                self._counted(tenant_id, DeviceQuery()).scalar_subquery(),
                self._overlong(tenant_id).scalar_subquery(),
            )
        )
        matched, fleet, long_text = counts.one()
        if long_text:
            return None
        total = int(matched)
        if total == 0 or page.offset >= total:
            return [], total
        keys = self._keys(page)
        descending = page.sort_direction is SortDirection.DESC
        order = [k.desc() if descending else k.asc() for k in keys]
        offset = 0 if page.after is not None else page.offset
        # Two ways to the page: read every match's row and sort them, or walk the tenant's sort
        # index from the start (or the cursor) checking entries against the matches, which
        # finds a page about every fleet / total entries.
        walked = (offset + page.page_size) * int(fleet or 0) / total
        if walked <= total * _ROW_READ_ENTRIES:
            # ``id + 0`` cannot be looked up by id: SQLite walks the sort index instead.
            ids = select(Device.id).where(Device.tenant_id == tenant_id, (Device.id + 0).in_(found))
        elif page.sort_by == "created_at":
            # Each match's creation time from the narrow ix_devices_terms_sort (id, tenant,
            # creation), not from its wide row: SQLite's planner would read the table by rowid,
            # hence INDEXED BY (which SQLAlchemy does not render for SQLite).
            rows, _ = await self._load(
                self._sqlite_sorted_matches(tenant_id, term, page, offset),
                page,
                literal(total).label("total"),
            )
            return rows, total
        else:
            # ``tenant_id + 0``: each match's row is read by id, not found along an index.
            ids = select(Device.id).where(Device.id.in_(found), Device.tenant_id + 0 == tenant_id)
        ids = ids.where(*self._beyond(keys, page)).order_by(*order)
        rows, _ = await self._load(
            ids.limit(page.page_size).offset(offset).subquery("page"),
            page,
            literal(total).label("total"),
        )
        return rows, total

    def _sqlite_sorted_matches(
        self, tenant_id: int, term: _TermSearch, page: PageRequest, offset: int
    ) -> Subquery:
        """SQLite: the ids of a page of term matches sorted by creation, each match looked up in
        ix_devices_terms_sort (migration 0012)."""
        direction = "DESC" if page.sort_direction is SortDirection.DESC else "ASC"
        beyond = ""
        params: list[BindParameter[Any]] = [
            bindparam("match", _term_match(tenant_id, term.fragment, term.text)),
            bindparam("tenant", tenant_id),
            bindparam("limit", page.page_size),
            bindparam("offset", offset),
        ]
        if page.after is not None:
            beyond = "AND (created_at, id) " + ("<" if direction == "DESC" else ">")
            beyond += " (:after_value, :after_id)"
            params += [
                bindparam("after_value", page.after.value, type_=Device.created_at.type),
                bindparam("after_id", page.after.id),
            ]
        statement = text(
            "SELECT id FROM devices INDEXED BY ix_devices_terms_sort "  # noqa: S608 (constants)
            "WHERE id IN (SELECT rowid FROM device_terms WHERE device_terms MATCH :match) "
            f"AND tenant_id = :tenant {beyond} "
            f"ORDER BY created_at {direction}, id {direction} LIMIT :limit OFFSET :offset"
        )
        return statement.bindparams(*params).columns(id=Integer).subquery("page")

    async def _pg_term_page(
        self, tenant_id: int, term: _TermSearch, page: PageRequest
    ) -> tuple[list[PageRow], int] | None:
        """PostgreSQL: the matches' ids and creation times come from the term table's index
        (and, for free text, the few devices whose identifier matches), so a page sorted by
        creation is counted and sorted without reading a device row but the page's."""
        if page.sort_by != "created_at":
            return None
        arms: list[Select[Any]] = [self._pg_term_rows(tenant_id, term.fragment, term.text)]
        if term.text:
            arms.append(
                select(Device.id, Device.created_at).where(  # type: ignore[arg-type]
                    Device.tenant_id == tenant_id,
                    self._contains(Device.identifier, term.fragment),
                )
            )
        # A device has a term row per matching term: UNION (or DISTINCT) keeps one per device.
        # The page and its total come from one statement, so the index range is read once.
        matches = (union(*arms) if len(arms) > 1 else arms[0].distinct()).cte("m")
        # The total, or -1 when the tenant has devices with text too long for the term table
        # (normally none): checked in the same statement, not in a round trip of its own.
        matched = case(
            (self._overlong(tenant_id).scalar_subquery() > 0, literal(-1)),
            else_=select(func.count()).select_from(matches).scalar_subquery(),
        )
        keys = [matches.c.created_at, matches.c.id]
        descending = page.sort_direction is SortDirection.DESC
        ids = (
            select(matches.c.id, matched.label("matched"))
            .where(*self._beyond(keys, page))
            .order_by(*[k.desc() if descending else k.asc() for k in keys])
            .limit(page.page_size)
            .offset(0 if page.after is not None else page.offset)
            .subquery("page")
        )
        rows, total = await self._load(ids, page, ids.c.matched.label("total"))
        if not rows:
            # Past the end: the total alone.
            total = int(await self.session.scalar(select(matched)) or 0)
        return None if total < 0 else (rows, total)

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
        # So does whether the tenant defines device settings: most do not, and then the page
        # skips reading the definitions.
        defined = (
            exists().where(DeviceSettingDefinition.tenant_id == Device.tenant_id).label("defined")
        )
        result = await self.session.execute(
            select(Device, Till, printed, total, defined)
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
            for d, t, p, _, _ in rows
        ]
        self.settings_defined = bool(rows[0][4])
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
