"""Queries about Flow device refresh tokens."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.kit.keyring import hash_is_any
from posfleet.models import Device, DeviceRefreshToken, Tenant


class DeviceRefreshRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, row: DeviceRefreshToken) -> None:
        self.session.add(row)

    async def find(
        self, token_hashes: Sequence[str]
    ) -> tuple[DeviceRefreshToken, Device, Tenant] | None:
        """The token with one of these hashes (one per live server secret), with its device
        and tenant, in one round trip."""
        row = (
            await self.session.execute(
                select(DeviceRefreshToken, Device, Tenant)
                .join(Device, Device.id == DeviceRefreshToken.device_id)
                .join(Tenant, Tenant.id == Device.tenant_id)
                .where(hash_is_any(DeviceRefreshToken.token_hash, token_hashes))
            )
        ).first()
        return None if row is None else (row[0], row[1], row[2])

    async def rehash(
        self, token_id: int, old_secret_key_id: str, token_hash: str, secret_key_id: str
    ) -> None:
        """Store the token's hash under the newest server secret (once: a concurrent refresh
        that did it first leaves nothing to do)."""
        await self.session.execute(
            update(DeviceRefreshToken)
            .where(
                DeviceRefreshToken.id == token_id,
                DeviceRefreshToken.secret_key_id == old_secret_key_id,
            )
            .values(token_hash=token_hash, secret_key_id=secret_key_id)
            .execution_options(synchronize_session=False)
        )

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
