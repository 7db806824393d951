"""Queries about Flow device refresh tokens."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import partial
from typing import Any, NamedTuple, cast

from sqlalchemy import Connection, Engine, Executable, Row, Table, bindparam, insert, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.db import SqliteWriter
from posfleet.models import Device, DeviceRefreshToken, Tenant
from posfleet.models.enums import DeviceStatus

_INSERT = insert(cast(Table, DeviceRefreshToken.__table__))


class RefreshGrant(NamedTuple):
    """What redeeming a refresh token needs of it, its device and its tenant."""

    id: int
    app_id: str
    credential_generation: int
    last_used_at: datetime
    revoked_at: datetime | None
    device_uid: str
    device_status: DeviceStatus
    device_generation: int
    device_nonce: str
    tenant_uid: str
    secret_key_id: str


# Columns, not entities, built once: loading three ORM rows cost more than the query.
_COLUMNS = (
    select(
        DeviceRefreshToken.id,
        DeviceRefreshToken.app_id,
        DeviceRefreshToken.credential_generation,
        DeviceRefreshToken.last_used_at,
        DeviceRefreshToken.revoked_at,
        Device.uid,
        Device.status,
        Device.credential_generation,
        Device.credential_nonce,
        Tenant.uid,
        DeviceRefreshToken.secret_key_id,
    )
    .join(Device, Device.id == DeviceRefreshToken.device_id)
    .join(Tenant, Tenant.id == Device.tenant_id)
)
_FIND = _COLUMNS.where(DeviceRefreshToken.token_hash == bindparam("token_hash"))
# While an older server secret is still listed: the token's hash under each live secret.
_FIND_ANY = _COLUMNS.where(
    DeviceRefreshToken.token_hash.in_(bindparam("token_hashes", expanding=True))
)


# The writes, built once (each a conditional UPDATE that stands alone).
_REHASH = (
    update(DeviceRefreshToken)
    .where(
        DeviceRefreshToken.id == bindparam("token_id"),
        DeviceRefreshToken.secret_key_id == bindparam("old_secret_key_id"),
    )
    .values(token_hash=bindparam("new_hash"), secret_key_id=bindparam("new_secret_key_id"))
    .execution_options(synchronize_session=False)
)
_TOUCH = (
    update(DeviceRefreshToken)
    .where(
        DeviceRefreshToken.id == bindparam("token_id"),
        DeviceRefreshToken.last_used_at < bindparam("older_than"),
    )
    .values(last_used_at=bindparam("used_at"))
    .execution_options(synchronize_session=False)
)
_REVOKE = (
    update(DeviceRefreshToken)
    .where(DeviceRefreshToken.id == bindparam("token_id"), DeviceRefreshToken.revoked_at.is_(None))
    .values(revoked_at=bindparam("at"))
    .execution_options(synchronize_session=False)
)


def _execute(statement: Executable, params: dict[str, Any], connection: Connection) -> None:
    connection.execute(statement, params)


def _first(query: Executable, params: dict[str, Any], connection: Connection) -> Row[Any] | None:
    return connection.execute(query, params).first()


class DeviceRefreshRepository:
    def __init__(
        self,
        session: AsyncSession | None,
        reader: Engine | None = None,
        writer: SqliteWriter | None = None,
    ) -> None:
        self.session = session
        self.reader = reader
        self.writer = writer

    async def _write(self, statement: Executable, params: dict[str, Any]) -> None:
        """One statement that stands alone.  With a ``writer`` (SQLite, db.SqliteWriter) it is
        committed in a group on the writer's thread before this returns; else it runs in the
        session (per statement on PostgreSQL: committed as it runs)."""
        if self.writer is not None:
            await self.writer.run(partial(_execute, statement, params))
        else:
            await self._session().execute(statement, params)

    def _session(self) -> AsyncSession:
        if self.session is None:
            raise RuntimeError("this repository has no session (no reader and writer either)")
        return self.session

    async def add(self, **values: Any) -> None:
        """A new token row, written at once by a statement built once (nothing reads it back
        in the unit of work that makes it, so no ORM object is made for it)."""
        await self._session().execute(_INSERT, values)

    async def find(self, token_hashes: Sequence[str]) -> RefreshGrant | None:
        """The token with one of these hashes (one per live server secret), with its device
        and tenant, in one round trip.

        With a ``writer`` (a SQLite file, db.SqliteWriter) or a ``reader`` (db.create_reader) the
        query runs on the event loop, outside the unit of work: it is its first statement and
        needs no common snapshot with what follows, and a read of a WAL file by index takes
        microseconds and never waits.
        """
        params: dict[str, Any] = {"token_hash": token_hashes[0]}
        query = _FIND
        if len(token_hashes) > 1:
            query, params = _FIND_ANY, {"token_hashes": list(token_hashes)}
        row: Any = None
        if self.writer is not None:
            try:
                row = self.writer.read(query, params)
            except OperationalError:  # busy past READER_BUSY_MILLISECONDS
                row = await self._read_elsewhere(query, params)
        elif self.reader is not None:
            try:
                with self.reader.connect() as connection:
                    row = connection.execute(query, params).first()
            except OperationalError:  # busy past READER_BUSY_MILLISECONDS
                row = await self._read_elsewhere(query, params)
        else:
            row = (await self._session().execute(query, params)).first()
        return None if row is None else RefreshGrant._make(row)

    async def _read_elsewhere(self, query: Executable, params: dict[str, Any]) -> Row[Any] | None:
        """The read of :meth:`find` off the event loop, where it may wait for SQLite's busy
        timeout: through the session, or without one on the writer's thread."""
        if self.session is not None:
            first: Row[Any] | None = (await self.session.execute(query, params)).first()
            return first
        if self.writer is None:
            raise RuntimeError("this repository has no session (no reader and writer either)")
        found: Row[Any] | None = await self.writer.run(partial(_first, query, params))
        return found

    async def rehash(
        self, token_id: int, old_secret_key_id: str, token_hash: str, secret_key_id: str
    ) -> None:
        """Store the token's hash under the newest server secret (once: a concurrent refresh
        that did it first leaves nothing to do)."""
        await self._write(
            _REHASH,
            {
                "token_id": token_id,
                "old_secret_key_id": old_secret_key_id,
                "new_hash": token_hash,
                "new_secret_key_id": secret_key_id,
            },
        )

    async def touch(self, token_id: int, now: datetime, older_than: datetime) -> None:
        """Stamp use, at most once per interval (concurrent refreshes do not all write)."""
        await self._write(_TOUCH, {"token_id": token_id, "used_at": now, "older_than": older_than})

    async def revoke(self, token_id: int, now: datetime) -> None:
        await self._write(_REVOKE, {"token_id": token_id, "at": now})
