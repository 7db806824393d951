"""Queries behind device lists and searches, built to stay fast at a million devices a tenant.

* A page is one statement: the ids of the page (an index-only walk of a ``(tenant_id, <sort>, id)``
  index) joined to those devices, their stores and tills.  Deep pages past the middle walk the
  index from the other end.
* ``totalCount`` of a list filtered only by store, status and app code is a sum over
  ``device_counts`` (kept by triggers); a term search's is a sum over ``device_term_counts``
  (migration 0015): per tenant, field set and term, how many devices have that term, stored so
  that each device counts once however many of its terms start with the fragment.
* Substring search looks a fragment up as the start of a term (migration 0012): a device's terms
  are its lower-cased text cut at every position, so a fragment without spaces occurs exactly
  when a term starts with it.  Terms carry their tenant: SQLite's ``device_terms`` FTS5 table
  (``<tenant>`<term>`` tokens, rowid = device id); PostgreSQL's ``device_terms`` table, whose
  btree yields each match's device and creation time from a range scan.  The count comes first
  and picks the way to the page (:meth:`DeviceSearchRepository._term_page`): dense matches by
  walking the sort index and checking each device's text, bounded; fewer from the term table,
  without reading the wide rows of every match.  On SQLite, a tenant whose creation times grow
  with its device ids (not listed in ``devices_out_of_order``, migration 0013) has its matches
  sorted by creation in the term table's own rowid order: a page by creation is the first
  matches the table yields.  Fragments the terms cannot
  take (shorter than three or longer than 64 characters, spaces, quotes, backslash, backtick,
  not ASCII) use the trigram indexes of migration 0002 (``pg_trgm`` GIN, ``devices_fts``).
* Free text is a union of indexable arms: the device's own columns through the trigram index,
  and ``store_id``/``till_id`` among the stores and tills whose names match (resolved first: a
  tenant has few).  An ``OR`` with sub-selects would make PostgreSQL scan the tenant's devices.
* A page asked for after a position (a cursor) starts there: ``(sort, id) > (value, id)`` is a
  range of the same index, so page 10,000 costs what page 2 does; ``OFFSET`` walks every entry
  before it.
* A page is read in two steps: its ids (and the total) by the statement of its kind, then its
  devices with their store and till by one statement keyed by id, reading only the columns a
  list shows, as plain rows.
* The statements of lists and of term searches are built once per shape (sort, direction, which
  filters, cursor or not) and bound per request, as the link path's are: building a statement
  cost as much as running it.  Searches of other kinds build theirs per request.
* Printers and setting values of a page are loaded with one query each.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    DateTime,
    Integer,
    Select,
    String,
    any_,
    bindparam,
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
from sqlalchemy.dialects import postgresql
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
# How many of a tenant's devices have a term (migration 0015): a fragment's total is a sum over
# the terms starting with it.
_COUNTS = table(
    "device_term_counts",
    column("tenant_id"),
    column("field"),
    column("term", String),
    column("shared", Integer),
    column("devices", Integer),
)
# SQLite: the tenants with a device created before one with a lower id (migration 0013).
_OUT_OF_ORDER = table("devices_out_of_order", column("tenant_id"))
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
# A page of dense term matches is found by walking the sort index (``_walked_page``) when an even
# spread of the matches puts it within this many devices; the walk reads up to _WALK_MARGIN
# times (plus _WALK_SLACK) what the even spread needs.
_WALK_ROWS = 4_000
_WALK_MARGIN = 3
_WALK_SLACK = 200
# PostgreSQL: a page of term matches merges the first rows of each distinct term when that reads
# fewer than _MERGED_ROWS rows per match, else reads the term range whole.
_MERGED_ROWS = 1
# A search matching at most this many devices is answered by one statement that finds, counts
# and sorts them; beyond it, counting and walking a sort index separately is cheaper.
SMALL_MATCH = 5_000


class ListedDevice(NamedTuple):
    """The columns of a device that a list shows (and sorts and pages by)."""

    id: int
    uid: str
    name: str
    identifier: str | None
    system_information: str
    status: DeviceStatus
    app_code: AppCode
    created_at: datetime
    created_by: str
    last_modified_at: datetime
    last_modified_by: str
    last_activity_at: datetime | None
    last_tenant_user_uid: str
    last_order_uid: str
    store_id: int | None
    till_id: int | None


class ListedStore(NamedTuple):
    uid: str
    name: str
    organization_uid: str


class ListedTill(NamedTuple):
    uid: str
    name: str
    number: int


# A device of a page, its store and till, and whether it has printers.
PageRow = tuple[ListedDevice, ListedStore | None, ListedTill | None, bool]

_LISTED = len(ListedDevice._fields)


def _page_rows_statement(by_id: ColumnElement[bool]) -> Select[Any]:
    """The devices of a page by id (``by_id``), with the columns a list shows: plain rows, no
    ORM objects.  Whether a device has printers rides along, so a page without any skips that
    query; so does whether the tenant defines device settings (most do not, and the page then
    skips reading the definitions)."""
    return (
        select(
            *[Device.__table__.c[name] for name in ListedDevice._fields],
            Store.uid,
            Store.name,
            Store.organization_uid,
            Till.uid,
            Till.name,
            Till.number,
            exists().where(DevicePrinter.device_id == Device.id).label("printed"),
            exists().where(DeviceSettingDefinition.tenant_id == Device.tenant_id).label("defined"),
        )
        .outerjoin(Store, Store.id == Device.store_id)
        .outerjoin(Till, Till.id == Device.till_id)
        .where(by_id, Device.tenant_id == bindparam("tenant_id", type_=Integer))
    )


# SQLite: ``IN (?, ?, …)``, one placeholder per id.  PostgreSQL: ``= ANY($1)``, the ids as one
# array, so every page runs the same prepared statement and no placeholder list is rendered per
# request (rendering 50 cast placeholders cost ~0.4 ms).
_PAGE_ROWS = _page_rows_statement(Device.id.in_(bindparam("ids", expanding=True)))
_PG_PAGE_ROWS = _page_rows_statement(
    Device.id == any_(bindparam("ids", type_=postgresql.ARRAY(Integer)))
)

_T = TypeVar("_T")
# Statements built once per shape (the key names the shape and engine); values are bound.
_BUILT: dict[tuple[Any, ...], Any] = {}


def _built(key: tuple[Any, ...], build: Callable[[], _T]) -> _T:
    statement: _T | None = _BUILT.get(key)
    if statement is None:
        statement = _BUILT[key] = build()
    return statement


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


def _term_range(fragment: str) -> tuple[str, str]:
    """The range ``[low, high)`` of the terms starting with ``fragment`` (PostgreSQL)."""
    low = fragment.lower()
    return low, low[:-1] + chr(ord(low[-1]) + 1)


# SQLite: the two characters outside ASCII that the term table's tokenizer folds into ASCII
# letters, as migration 0015's counts fold them (LIKE folds ASCII only).
_SQLITE_FOLDED = (("\u212a", "k"), ("\u017f", "s"))


def _sqlite_folded(value: ColumnElement[Any]) -> ColumnElement[Any]:
    for char, ascii_letter in _SQLITE_FOLDED:
        value = func.replace(value, char, ascii_letter)
    return value


def _pg_fields(text: bool) -> list[ColumnElement[str]]:
    """PostgreSQL: the fields of ``device_terms`` a name (or free-text, ``text``) search reads:
    name, system information and identifier (migrations 0012 and 0016).  As "char" constants: a
    bound text value would compare as text, and the primary key could then not be searched by
    field."""
    codes = "nsi" if text else "n"
    return [literal_column(f"'{code}'::\"char\"") for code in codes]


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
        # Set by :meth:`page` when the query is one term search and nothing else.
        self._term: _TermSearch | None = None
        # Free text: the ids of the tenant's stores and tills whose names match (None: not
        # looked up yet, see :meth:`_prepare`).
        self._places: tuple[list[int], list[int]] | None = ([], [])
        # Whether the tenant of the last page loaded defines device settings.
        self.settings_defined = True
        # The tenant of the page being read.
        self._tenant_id = 0

    # Filters

    def _contains(self, col: QueryableAttribute[Any], frag: str) -> ColumnElement[bool]:
        """Case-insensitive substring match (SQLite folds ASCII letters only)."""
        if self.postgres:
            return col.ilike(_like(frag), escape="\\")
        return col.like(_like(frag), escape="\\")

    def _fts_ids(self, target: ColumnElement[str], frag: str) -> Select[int]:
        return select(_FTS.c.rowid).where(target.op("MATCH")(_phrase(frag)))

    @staticmethod
    def _sqlite_term_ids(match: ColumnElement[str]) -> Select[int]:
        """SQLite: the devices with a term matching ``match`` (:func:`_term_match`)."""
        return select(_TERMS.c.rowid).where(_TERMS.c.device_terms.op("MATCH")(match))

    @staticmethod
    def _pg_term_rows(text: bool) -> Select[Any]:
        """PostgreSQL: (device id, creation time) of the tenant's devices whose name (or name,
        system information and identifier, ``text``) has a term in ``[:low, :high)``, the range
        of the terms starting with a fragment (``_termed``): a range of the term table's primary
        key, read from the index alone."""
        t = _PG_TERMS.c
        return select(t.device_id.label("id"), t.created_at).where(
            t.tenant_id == bindparam("tenant_id", type_=Integer),
            t.field.in_(_pg_fields(text)) if text else t.field == _pg_fields(text)[0],
            t.term >= bindparam("low", type_=String),
            t.term < bindparam("high", type_=String),
        )

    @staticmethod
    def _long_text() -> ColumnElement[bool]:
        """Devices with text too long to be cut into terms everywhere: the condition of the
        partial index ix_devices_long_text, spelled out (not bound) so that it is used."""
        limit: ColumnElement[int] = literal_column(str(_TERM_POSITIONS))
        return or_(
            func.length(Device.name) > limit,
            func.length(Device.identifier) > limit,
            func.length(Device.system_information) > limit,
        )

    @classmethod
    def _overlong(cls, tenant: ColumnElement[int]) -> Select[int]:
        """How many of the tenant's devices have overlong text (normally none).  A count, not
        EXISTS: PostgreSQL cannot estimate the length condition, and for EXISTS it would scan
        the table expecting an early match instead of reading the (empty) partial index."""
        return select(func.count()).where(Device.tenant_id == tenant, cls._long_text())

    def _term_arms(self, tenant_id: int, frag: str, text: bool) -> list[Select[Any]]:
        """The devices containing ``frag`` (``_termed``) in their name or (``text``) in any of
        their own columns, as id sets: the term table and devices with overlong text."""
        if self.postgres:
            low, high = _term_range(frag)
            rows = self._pg_term_rows(text).params(tenant_id=tenant_id, low=low, high=high)
            arms: list[Select[Any]] = [select(rows.subquery().c.id)]
        else:
            arms = [self._sqlite_term_ids(literal(_term_match(tenant_id, frag, text)))]
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

    async def _find_places(self, tenant_id: int, frag: str) -> tuple[list[int], list[int]]:
        """The ids of the tenant's stores and of its tills whose names contain ``frag``."""
        statement = _built(("places", self.postgres), self._places_statement)
        store_ids: list[int] = []
        till_ids: list[int] = []
        params = {"tenant_id": tenant_id, "like": _like(frag)}
        for is_store, found in await self.session.execute(statement, params):
            (store_ids if is_store else till_ids).append(found)
        return store_ids, till_ids

    def _place_contains(self, col: QueryableAttribute[str]) -> ColumnElement[bool]:
        """A store's or till's name contains the bound ``:like``."""
        like = bindparam("like", type_=String)
        return col.ilike(like, escape="\\") if self.postgres else col.like(like, escape="\\")

    def _places_statement(self) -> Any:
        tenant = bindparam("tenant_id", type_=Integer)
        stores = select(literal(True), Store.id).where(
            Store.tenant_id == tenant, self._place_contains(Store.name)
        )
        tills = select(literal(False), Till.id).where(
            Till.tenant_id == tenant, self._place_contains(Till.name)
        )
        return union_all(stores, tills)

    def _place_named(self) -> ColumnElement[bool]:
        """Whether a name of the tenant's stores or tills contains ``:like``, as a column."""
        tenant = bindparam("tenant_id", type_=Integer)
        return or_(
            exists().where(Store.tenant_id == tenant, self._place_contains(Store.name)),
            exists().where(Till.tenant_id == tenant, self._place_contains(Till.name)),
        )

    def _text_matches(self, tenant_id: int, frag: str) -> ColumnElement[bool]:
        """Devices whose own columns, store name or till name contain ``frag`` (the stores and
        tills found by :meth:`_find_places`)."""
        assert self._places is not None  # looked up before any condition is built
        store_ids, till_ids = self._places
        if _termed(frag):
            termed = [
                *self._term_arms(tenant_id, frag, True),
                *_place_arms(tenant_id, store_ids, till_ids),
            ]
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

    async def _prepare(self, tenant_id: int, q: DeviceQuery, page: PageRequest | None) -> None:
        """What a query needs before its statements: the stores and tills of a free-text
        search, and whether the term table alone answers it.

        A free-text term search leaves the stores and tills for later (``_places`` None): the
        statement that counts its matches says whether any of their names matches
        (:meth:`_term_counts`), and only then are they looked up.  (PostgreSQL answers only
        searches sorted by creation from the term table.)
        """
        # One search of the term table and no other condition: answered from that table alone.
        only = not (q.store_id is not None or q.app_code or q.statuses or q.identifier)
        fragment = q.name or q.text
        termed = only and bool(q.name) != bool(q.text) and _termed(fragment)
        later = (
            termed
            and bool(q.text)
            and page is not None
            and (page.sort_by == "created_at" or not self.postgres)
        )
        if later:
            self._places = None
        else:
            self._places = await self._find_places(tenant_id, q.text) if q.text else ([], [])
        if termed and (self._places is None or not any(self._places)):
            self._term = _TermSearch(fragment, bool(q.text))
        else:
            self._term = None

    def _where(self, tenant_id: int, q: DeviceQuery) -> list[ColumnElement[bool]]:
        """The WHERE clause of a search, its values inline (built per request)."""
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
            conditions.append(self._name_matches(tenant_id, q.name))
        if q.text:
            conditions.append(self._text_matches(tenant_id, q.text))
        return conditions

    # Lists: filtered by store, status and app code only, their statements built once

    @staticmethod
    def _list_shape(q: DeviceQuery) -> tuple[bool, bool, bool]:
        return q.store_id is not None, q.app_code is not None, bool(q.statuses)

    @staticmethod
    def _list_where(shape: tuple[bool, bool, bool]) -> list[ColumnElement[bool]]:
        store, app, statuses = shape
        conditions = [Device.tenant_id == bindparam("tenant_id", type_=Integer)]
        if store:
            conditions.append(Device.store_id == bindparam("store_id", type_=Integer))
        if app:
            conditions.append(Device.app_code == bindparam("app_code"))
        if statuses:
            conditions.append(Device.status.in_(bindparam("statuses", expanding=True)))
        return conditions

    @staticmethod
    def _counted(shape: tuple[bool, bool, bool]) -> Select[Any]:
        """The trigger-kept total of a list."""
        store, app, statuses = shape
        counted = [DeviceCount.tenant_id == bindparam("tenant_id", type_=Integer)]
        if store:
            counted.append(DeviceCount.store_id == bindparam("store_id", type_=Integer))
        if app:
            counted.append(DeviceCount.app_code == bindparam("app_value", type_=String))
        if statuses:
            counted.append(DeviceCount.status.in_(bindparam("status_values", expanding=True)))
        return select(func.coalesce(func.sum(DeviceCount.count), 0)).where(*counted)

    @staticmethod
    def _list_params(tenant_id: int, q: DeviceQuery) -> dict[str, Any]:
        params: dict[str, Any] = {"tenant_id": tenant_id}
        if q.store_id is not None:
            params["store_id"] = q.store_id
        if q.app_code is not None:
            params["app_code"] = q.app_code
            params["app_value"] = q.app_code.value
        if q.statuses:
            params["statuses"] = list(q.statuses)
            params["status_values"] = [s.value for s in q.statuses]
        return params

    # Counting and paging

    async def count(self, tenant_id: int, q: DeviceQuery) -> int:
        """How many of the tenant's devices match ``q``."""
        if q.counted_by_triggers:
            shape = self._list_shape(q)
            statement = _built(("counted", shape), lambda: self._counted(shape))
            total = await self.session.scalar(statement, self._list_params(tenant_id, q))
        else:
            await self._prepare(tenant_id, q, None)
            where = self._where(tenant_id, q)
            total = await self.session.scalar(select(func.count()).where(*where))
        return int(total or 0)

    async def page(
        self, tenant_id: int, q: DeviceQuery, page: PageRequest
    ) -> tuple[list[PageRow], int]:
        """One page of devices with their store and till, in order, and the exact total.

        Most requests are one statement for the page's ids and one for its rows: the first page
        of a list carries the trigger-kept total along, and a search with at most
        :data:`SMALL_MATCH` matches finds them once, counts and sorts them.  Other pages count
        first, and a page past the middle is read from the far end of the index.
        """
        self._tenant_id = tenant_id
        if q.counted_by_triggers:
            return await self._list_page(tenant_id, q, page)
        await self._prepare(tenant_id, q, page)
        if self._term is not None:
            termed = await self._term_page(tenant_id, self._term, page)
            if termed is not None:
                return termed
        if self._places is None:
            self._places = await self._find_places(tenant_id, q.text)
        where = self._where(tenant_id, q)
        if page.after is None:
            small = await self._small_match_page(where, page)
            if small is not None:
                return small
        total = int(await self.session.scalar(select(func.count()).where(*where)) or 0)
        if page.after is not None:
            rows, _ = await self._fetch(self._ids(where, page, False, None), self._at(page, 0))
            return rows, total
        return await self._offset_page(
            total, page, lambda backwards: self._ids(where, page, backwards, None), {}
        )

    async def _list_page(
        self, tenant_id: int, q: DeviceQuery, page: PageRequest
    ) -> tuple[list[PageRow], int]:
        shape = self._list_shape(q)
        params = self._list_params(tenant_id, q)

        def ids(backwards: bool, counted: bool) -> Any:
            def build() -> Select[Any]:
                total = self._counted(shape).scalar_subquery() if counted else None
                return self._ids(self._list_where(shape), page, backwards, total)

            after = page.after is not None
            direction = page.sort_direction
            key = ("list", shape, page.sort_by, direction, backwards, counted, after)
            return _built(key, build)

        if page.after is not None or page.offset == 0:
            # The total rides along with the page.
            rows, total = await self._fetch(ids(False, True), {**params, **self._at(page, 0)})
            if rows or page.after is None:
                return rows, total
            return [], await self.count(tenant_id, q)
        total = await self.count(tenant_id, q)
        return await self._offset_page(total, page, lambda backwards: ids(backwards, False), params)

    async def _offset_page(
        self,
        total: int,
        page: PageRequest,
        ids: Callable[[bool], Any],
        params: dict[str, Any],
    ) -> tuple[list[PageRow], int]:
        """The page at ``page.offset`` of a list of ``total`` devices; past the middle, read
        from the far end of the index."""
        if page.offset >= total:
            return [], total
        offset, limit = page.offset, page.page_size
        backwards = offset > total // 2
        if backwards:
            limit = min(limit, total - offset)
            offset = total - offset - limit
        at = {**params, **self._at(page, offset), "limit": limit}
        rows, _ = await self._fetch(ids(backwards), at, reverse=backwards)
        return rows, total

    def _ids(
        self,
        where: list[ColumnElement[bool]],
        page: PageRequest,
        backwards: bool,
        total: ColumnElement[Any] | None,
    ) -> Select[Any]:
        """The ids of a page (index-only walk of a sort index), in walk order, and ``total``:
        ``:limit`` of them from ``:offset`` (or after the cursor)."""
        keys = self._keys(page)
        walk = (page.sort_direction is SortDirection.DESC) != backwards
        return (
            select(Device.id, (total if total is not None else literal(0)).label("total"))
            .where(*where, *self._beyond(keys, page))
            .order_by(*[k.desc() if walk else k.asc() for k in keys])
            .limit(bindparam("limit", type_=Integer))
            .offset(bindparam("offset", type_=Integer))
        )

    @staticmethod
    def _at(page: PageRequest, offset: int) -> dict[str, Any]:
        """Where a page starts: ``:limit``, ``:offset`` and the cursor's values."""
        at: dict[str, Any] = {"limit": page.page_size, "offset": offset}
        if page.after is not None:
            at["after_value"] = page.after.value
            at["after_id"] = page.after.id
        return at

    def _beyond(self, keys: Sequence[Any], page: PageRequest) -> list[Any]:
        """The condition "after the page's cursor" on ``keys`` (none without a cursor), its
        values bound as ``:after_value`` and ``:after_id``."""
        if page.after is None:
            return []
        types = [k.type for k in self._keys(page)]
        names = ["after_value", "after_id"][: len(keys)]
        bound = [bindparam(n, type_=t) for n, t in zip(names, types, strict=True)]
        if page.sort_direction is SortDirection.DESC:
            return [tuple_(*keys) < tuple_(*bound)]
        return [tuple_(*keys) > tuple_(*bound)]

    async def _term_page(
        self, tenant_id: int, term: _TermSearch, page: PageRequest
    ) -> tuple[list[PageRow], int] | None:
        """The page and exact total of a search answered by the term tables, reading no device
        row but the page's (and, for a page of many matches, the rows walked to find it).  None
        when the tenant has devices whose text is too long to be cut into terms everywhere (or,
        on PostgreSQL, when the sort is not by creation), and for a free-text search whose
        stores and tills were left for later (:meth:`_prepare`) when one of their names
        matches.

        The total is a sum over the few distinct terms starting with the fragment (migration
        0015), first; it says how the page is found: by walking the sort index when matches
        are dense (:meth:`_walked_page`), else from the term table.
        """
        if self.postgres and page.sort_by != "created_at":
            return None
        low, high = _term_range(term.fragment)
        params: dict[str, Any] = {
            "tenant_id": tenant_id,
            "low": low,
            "high": high,
            "length": len(term.fragment),
            "like": _like(term.fragment),
        }
        places = self._places is None  # free text whose stores and tills are not known
        counts = _built(
            ("term-counts", self.postgres, term.text, places),
            lambda: select(*self._term_counts(term.text, places)),
        )
        matched, terms, fleet, long_text, out_of_order, named = (
            await self.session.execute(counts, params)
        ).one()
        if long_text or named:
            return None  # overlong text, or a store or till name matches: not the terms alone
        total = int(matched)
        after = page.after is not None
        offset = 0 if after else page.offset
        if total == 0 or offset >= total:
            return [], total
        walked = await self._walked_page(term, page, params, offset, total, int(fleet))
        if walked is not None:
            return walked, total
        if self.postgres:
            return await self._pg_term_page(term, page, params, offset, total, int(terms)), total
        params["match"] = _term_match(tenant_id, term.fragment, term.text)
        descending = page.sort_direction is SortDirection.DESC
        build: Callable[[PageRequest], Any]
        if page.sort_by == "created_at" and not after and not out_of_order:
            # Most tenants' creation times grow with their ids: then the order by (creation, id)
            # is the term table's own rowid order, and the page is the matches it yields first.
            key: tuple[Any, ...] = ("term-rowid", descending)
            build = self._term_rowid_page
        # Two ways to the page: read every match's row and sort them, or walk the tenant's sort
        # index from the start (or the cursor) checking entries against the matches, which
        # finds a page about every fleet / total entries.
        elif (offset + page.page_size) * int(fleet) / total <= total * _ROW_READ_ENTRIES:
            key = ("term-walk", page.sort_by, descending, after)
            build = self._term_walk
        elif page.sort_by == "created_at":
            key = ("term-sorted", descending, after)
            build = self._sqlite_sorted_matches
        else:
            key = ("term-by-id", page.sort_by, descending, after)
            build = self._term_by_id
        statement = _built(key, lambda: build(page))
        rows, _ = await self._fetch(statement, {**params, **self._at(page, offset)}, total)
        return rows, total

    def _term_counts(self, text: bool, places: bool) -> list[Any]:
        """The matches of the term range ``[:low, :high)`` (migration 0015), how many distinct
        terms they have (at most; PostgreSQL only), the tenant's devices, how many of them have
        overlong text, whether they are out of creation order (SQLite only) and (``places``)
        whether a name of the tenant's stores or tills contains the fragment (``:like``), as
        columns."""
        tenant = bindparam("tenant_id", type_=Integer)
        # The distinct terms pick PostgreSQL's page statement; creation order, SQLite's.
        terms: Any = (
            select(func.count()).where(*self._counted_terms(text)).scalar_subquery()
            if self.postgres
            else literal(0)
        )
        ordered: Any = (
            literal(False) if self.postgres else exists().where(_OUT_OF_ORDER.c.tenant_id == tenant)
        )
        return [
            select(func.coalesce(func.sum(_COUNTS.c.devices), 0))
            .where(*self._counted_terms(text))
            .scalar_subquery(),
            terms,
            self._counted((False, False, False)).scalar_subquery(),
            self._overlong(tenant).scalar_subquery(),
            ordered,
            self._place_named() if places else literal(False),
        ]

    @staticmethod
    def _counted_terms(text: bool) -> list[ColumnElement[bool]]:
        """The rows of ``device_term_counts`` that count the matches of ``[:low, :high)``: one
        per distinct term (or a few, by shared prefix) that is the first of some device's run
        of terms starting with the fragment."""
        c = _COUNTS.c
        field: ColumnElement[str] = literal_column("'a'" if text else "'n'")
        return [
            c.tenant_id == bindparam("tenant_id", type_=Integer),
            c.field == field,
            c.term >= bindparam("low", type_=String),
            c.term < bindparam("high", type_=String),
            c.shared < bindparam("length", type_=Integer),
        ]

    async def _walked_page(
        self,
        term: _TermSearch,
        page: PageRequest,
        params: dict[str, Any],
        offset: int,
        total: int,
        fleet: int,
    ) -> list[PageRow] | None:
        """A page of dense matches, found by walking the tenant's sort index from the start (or
        the cursor) and checking each device's text: about ``fleet / total`` devices per match,
        so a page of a fragment in one device out of ten reads some 500 rows however many
        devices match.  The walk is bounded at :data:`_WALK_MARGIN` times what an even spread
        needs; None when that is over :data:`_WALK_ROWS` or the walk came short of a page (the
        matches bunch up, or the list ends), and the term table finds the page instead."""
        scan = int((offset + page.page_size) * fleet / total * _WALK_MARGIN) + _WALK_SLACK
        if scan > _WALK_ROWS:
            return None
        descending = page.sort_direction is SortDirection.DESC
        after = page.after is not None
        statement = _built(
            ("walk", self.postgres, term.text, page.sort_by, descending, after),
            lambda: self._walk_statement(term.text, page),
        )
        at = {**params, **self._at(page, offset), "scan": scan}
        found = [row[0] for row in await self.session.execute(statement, at)]
        if len(found) < min(page.page_size, total - offset):
            return None
        return await self._page_rows(found)

    def _walk_statement(self, text: bool, page: PageRequest) -> Select[Any]:
        """The ids of the page among the first ``:scan`` devices along the sort index (from the
        cursor) whose text contains ``:like``.  The walk is a subquery with its own order and
        limit: so bounded, PostgreSQL cannot trade it for a scan of the whole table."""
        keys = self._keys(page)
        descending = page.sort_direction is SortDirection.DESC
        columns = (
            [Device.name, Device.identifier, Device.system_information] if text else [Device.name]
        )
        walk = (
            select(Device.id, *[k for k in keys if k is not Device.id], *columns)
            .where(
                Device.tenant_id == bindparam("tenant_id", type_=Integer),
                *self._beyond(keys, page),
            )
            .order_by(*[k.desc() if descending else k.asc() for k in keys])
            .limit(bindparam("scan", type_=Integer))
            .subquery("walk")
        )
        like = bindparam("like", type_=String)
        contains = [
            walk.c[c.key].ilike(like, escape="\\")
            if self.postgres
            else _sqlite_folded(walk.c[c.key]).like(like, escape="\\")
            for c in columns
        ]
        order = [walk.c[k.key] for k in keys]
        return (
            select(walk.c.id)
            .where(or_(*contains))
            .order_by(*[k.desc() if descending else k.asc() for k in order])
            .limit(bindparam("limit", type_=Integer))
            .offset(bindparam("offset", type_=Integer))
        )

    @staticmethod
    def _term_rowid_page(page: PageRequest) -> Select[Any]:
        """SQLite: a page of term matches in rowid (device id) order."""
        rowid = _TERMS.c.rowid
        return (
            select(rowid.label("id"), literal(0))
            .where(_TERMS.c.device_terms.op("MATCH")(bindparam("match", type_=String)))
            .order_by(rowid.desc() if page.sort_direction is SortDirection.DESC else rowid.asc())
            .limit(bindparam("limit", type_=Integer))
            .offset(bindparam("offset", type_=Integer))
        )

    def _term_walk(self, page: PageRequest) -> Select[Any]:
        """SQLite: a page of term matches found by walking the tenant's sort index."""
        found = self._sqlite_term_ids(bindparam("match", type_=String))
        # ``id + 0`` cannot be looked up by id: SQLite walks the sort index instead.
        return self._ordered(
            select(Device.id).where(
                Device.tenant_id == bindparam("tenant_id", type_=Integer),
                (Device.id + 0).in_(found),
            ),
            page,
        )

    def _term_by_id(self, page: PageRequest) -> Select[Any]:
        """SQLite: a page of term matches found by reading each match's row."""
        found = self._sqlite_term_ids(bindparam("match", type_=String))
        # ``tenant_id + 0``: each match's row is read by id, not found along an index.
        return self._ordered(
            select(Device.id).where(
                Device.id.in_(found),
                Device.tenant_id + 0 == bindparam("tenant_id", type_=Integer),
            ),
            page,
        )

    def _ordered(self, ids: Select[Any], page: PageRequest) -> Select[Any]:
        keys = self._keys(page)
        descending = page.sort_direction is SortDirection.DESC
        return (
            ids.where(*self._beyond(keys, page))
            .order_by(*[k.desc() if descending else k.asc() for k in keys])
            .limit(bindparam("limit", type_=Integer))
            .offset(bindparam("offset", type_=Integer))
        )

    @staticmethod
    def _sqlite_sorted_matches(page: PageRequest) -> Any:
        """SQLite: the ids of a page of term matches sorted by creation, each match's creation
        time looked up in the narrow ix_devices_terms_sort (id, tenant, creation, migration
        0012) rather than in its wide row: SQLite's planner would read the table by rowid,
        hence INDEXED BY (which SQLAlchemy does not render for SQLite)."""
        direction = "DESC" if page.sort_direction is SortDirection.DESC else "ASC"
        beyond = ""
        params: list[BindParameter[Any]] = [
            bindparam("match", type_=String),
            bindparam("tenant_id", type_=Integer),
            bindparam("limit", type_=Integer),
            bindparam("offset", type_=Integer),
        ]
        if page.after is not None:
            beyond = "AND (d.created_at, d.id) " + ("<" if direction == "DESC" else ">")
            beyond += " (:after_value, :after_id)"
            params += [
                bindparam("after_value", type_=Device.created_at.type),
                bindparam("after_id", type_=Integer),
            ]
        # Each match as it comes out of the term table, joined to its index entry (CROSS JOIN:
        # in that order): no list of the matches is built first.
        statement = text(
            "SELECT d.id FROM device_terms CROSS JOIN "  # noqa: S608 (constants)
            "devices AS d INDEXED BY ix_devices_terms_sort ON d.id = device_terms.rowid "
            f"WHERE device_terms MATCH :match AND d.tenant_id = :tenant_id {beyond} "
            f"ORDER BY d.created_at {direction}, d.id {direction} LIMIT :limit OFFSET :offset"
        )
        return statement.bindparams(*params).columns(id=Integer)

    async def _pg_term_page(
        self,
        term: _TermSearch,
        page: PageRequest,
        params: dict[str, Any],
        offset: int,
        total: int,
        terms: int,
    ) -> list[PageRow]:
        """PostgreSQL: a page by creation of matches not dense enough to walk for.  The term
        table's primary key holds each term's devices in creation order, so the page is among
        the first ``offset + page size`` devices of each distinct term starting with the
        fragment (the terms listed by ``device_term_counts``): those few rows are merged when
        they are fewer than the matches, else the whole term range is read and sorted.  Either
        way no device row is read but the page's."""
        descending = page.sort_direction is SortDirection.DESC
        after = page.after is not None
        window = offset + page.page_size
        merged = terms * window * len(_pg_fields(term.text)) < total * _MERGED_ROWS
        statement = _built(
            ("pg-term", term.text, descending, after, merged),
            lambda: self._pg_term_statement(term, page, merged),
        )
        at = {**params, **self._at(page, offset), "window": window}
        found = await self.session.execute(statement, at)
        return await self._page_rows([row[0] for row in found])

    def _pg_matches(self, text: bool, page: PageRequest, merged: bool) -> Any:
        """PostgreSQL: (id, creation time) of the devices matching the bound term range; with
        ``merged``, only the first ``:window`` of each term and field (after the cursor)."""
        if not merged:
            # A device has a term row per matching term: DISTINCT keeps one per device.
            return self._pg_term_rows(text).distinct().cte("m")
        t = _PG_TERMS.c
        descending = page.sort_direction is SortDirection.DESC
        keys = [t.created_at, t.device_id]
        listed = (
            select(_COUNTS.c.term).where(*self._counted_terms(text)).distinct().subquery("terms")
        )
        arms: list[Select[Any]] = []
        for n, code in enumerate(_pg_fields(text)):
            first = (
                select(t.device_id.label("id"), t.created_at)
                .where(
                    t.tenant_id == bindparam("tenant_id", type_=Integer),
                    t.field == code,
                    t.term == listed.c.term,
                    *self._beyond(keys, page),
                )
                .order_by(*[k.desc() if descending else k.asc() for k in keys])
                .limit(bindparam("window", type_=Integer))
                .lateral(f"first_{n}")
            )
            arms.append(select(first.c.id, first.c.created_at).select_from(listed, first))
        # UNION keeps one row per device.
        return union(*arms).cte("m") if len(arms) > 1 else arms[0].distinct().cte("m")

    def _pg_term_statement(self, term: _TermSearch, page: PageRequest, merged: bool) -> Select[Any]:
        matches = self._pg_matches(term.text, page, merged)
        keys = [matches.c.created_at, matches.c.id]
        descending = page.sort_direction is SortDirection.DESC
        return (
            select(matches.c.id)
            .where(*self._beyond(keys, page))
            .order_by(*[k.desc() if descending else k.asc() for k in keys])
            .limit(bindparam("limit", type_=Integer))
            .offset(bindparam("offset", type_=Integer))
        )

    def _keys(self, page: PageRequest) -> list[QueryableAttribute[Any]]:
        sort = DEVICE_SORT_COLUMNS[page.sort_by]
        return [sort] if sort is Device.uid else [sort, Device.id]

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
        )
        rows, total = await self._fetch(ids, {})
        if not rows:
            return ([], 0) if page.offset == 0 else None
        return None if total > SMALL_MATCH else (rows, total)

    async def _fetch(
        self,
        ids: Any,
        params: dict[str, Any],
        total: int | None = None,
        *,
        reverse: bool = False,
    ) -> tuple[list[PageRow], int]:
        """The page whose ids (with the total beside each, unless ``total`` is given) ``ids``
        selects, in its order (``reverse``: the other way round), and the total."""
        found = (await self.session.execute(ids, params)).all()
        if not found:
            return [], 0
        page_ids = [row[0] for row in found]
        if reverse:
            page_ids.reverse()
        return await self._page_rows(page_ids), int(found[0][1] if total is None else total)

    async def _page_rows(self, ids: list[int]) -> list[PageRow]:
        by_id: dict[int, PageRow] = {}
        store = _LISTED
        till = store + len(ListedStore._fields)
        params = {"ids": ids, "tenant_id": self._tenant_id}
        statement = _PG_PAGE_ROWS if self.postgres else _PAGE_ROWS
        for row in await self.session.execute(statement, params):
            device = ListedDevice._make(row[:_LISTED])
            by_id[device.id] = (
                device,
                None if row[store] is None else ListedStore._make(row[store:till]),
                None if row[till] is None else ListedTill._make(row[till : till + 3]),
                bool(row[-2]),
            )
            self.settings_defined = bool(row[-1])
        # A device deleted between the two statements is left out.
        return [by_id[i] for i in ids if i in by_id]

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
