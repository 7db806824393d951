"""Queries about Flow device refresh tokens."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Engine, bindparam, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.models import Device, DeviceRefreshToken, Tenant
from posfleet.models.enums import DeviceStatus


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


# Columns, not entities, built once: loading three ORM rows cost more than the query.
_FIND = (
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
    )
    .join(Device, Device.id == DeviceRefreshToken.device_id)
    .join(Tenant, Tenant.id == Device.tenant_id)
    .where(DeviceRefreshToken.token_hash == bindparam("token_hash"))
)


class DeviceRefreshRepository:
    def __init__(self, session: AsyncSession, reader: Engine | None = None) -> None:
        self.session = session
        self.reader = reader

    def add(self, row: DeviceRefreshToken) -> None:
        self.session.add(row)

    async def find(self, token_hash: str) -> RefreshGrant | None:
        """The token with its device and tenant, in one round trip.

        With a ``reader`` (SQLite, db.create_reader) the query runs on the event loop, outside
        the unit of work: it is its first statement and needs no common snapshot with what
        follows, and a read of a WAL file by index takes microseconds and never waits.
        """
        params = {"token_hash": token_hash}
        row = None
        if self.reader is not None:
            try:
                with self.reader.connect() as connection:
                    row = connection.execute(_FIND, params).first()
            except OperationalError:  # busy past READER_BUSY_MILLISECONDS: through the pool
                row = (await self.session.execute(_FIND, params)).first()
        else:
            row = (await self.session.execute(_FIND, params)).first()
        return None if row is None else RefreshGrant._make(row)

    async def touch(self, token_id: int, now: datetime, older_than: datetime) -> None:
        """Stamp use, at most once per interval (concurrent refreshes do not all write)."""
        await self.session.execute(
            update(DeviceRefreshToken)
            .where(DeviceRefreshToken.id == token_id, DeviceRefreshToken.last_used_at < older_than)
            .values(last_used_at=now)
            .execution_options(synchronize_session=False)
        )

    async def revoke(self, token_id: int, now: datetime) -> None:
        await self.session.execute(
            update(DeviceRefreshToken)
            .where(DeviceRefreshToken.id == token_id, DeviceRefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
            .execution_options(synchronize_session=False)
        )
