"""Flow device refresh tokens: issued at link, redeemed for device tokens.

A refresh token is a 256-bit secret kept only as an HMAC.  It belongs to one link of one device
(the device's credential generation when it was issued): reset and delete start a new
generation, so it dies with them.  While the device is blocked it is refused, and it works again
once the device is unblocked.  The documented response carries no new refresh token, so it does
not rotate; it expires after ``device_refresh_idle_seconds`` without use.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.errors import BadRequest
from posfleet.kit.clock import utcnow
from posfleet.kit.codes import new_secret
from posfleet.models import Device
from posfleet.models.enums import DeviceStatus
from posfleet.runtime import Runtime
from posfleet.tokens.refresh_repository import DeviceRefreshRepository
from posfleet.tokens.service import device_token_for

REFRESH_PREFIX = "pfr_"


class RefreshRefused(BadRequest):
    """The token endpoint's 400; ``error`` is the RFC 8628 / Flow status it maps to."""

    def __init__(
        self, message: str, *, code: str, error: str = "access_denied", keeps_work: bool = False
    ) -> None:
        super().__init__(message, code=code, keeps_work=keeps_work)
        self.error = error


@dataclass(frozen=True, slots=True)
class DeviceToken:
    token: str
    expires: datetime


class DeviceRefreshService:
    def __init__(self, session: AsyncSession | None, runtime: Runtime) -> None:
        """Without a ``session`` (a SQLite file: the runtime has a reader and a writer) only
        :meth:`redeem` may be called."""
        self.runtime = runtime
        self.settings = runtime.settings
        self.repo = DeviceRefreshRepository(session, runtime.reader, runtime.writer)

    async def issue(self, device: Device, app_id: str) -> str:
        """A new refresh token for the device's current link; only its hash is kept."""
        secret = new_secret(REFRESH_PREFIX)
        await self.repo.add(
            tenant_id=device.tenant_id,
            device_id=device.id,
            token_hash=self.runtime.hasher.hash(secret),
            secret_key_id=self.runtime.hasher.key_id,
            app_id=app_id,
            credential_generation=device.credential_generation,
        )
        return secret

    async def redeem(self, app_id: str, refresh_token: str) -> DeviceToken:
        """A fresh device token for the holder of a live refresh token."""
        found = await self.repo.find(self.runtime.hasher.hashes(refresh_token))
        if found is None:
            raise RefreshRefused(
                "The refresh token is not valid: it is unknown or its device was deleted",
                code="invalid_refresh_token",
            )
        row = found
        if row.revoked_at is not None or row.credential_generation != row.device_generation:
            raise RefreshRefused(
                "The refresh token has been revoked: the device was reset or relinked",
                code="refresh_token_revoked",
            )
        if row.app_id != app_id:
            raise RefreshRefused("The refresh token was issued to another app", code="app_mismatch")
        now = utcnow()
        idle = timedelta(seconds=self.settings.device_refresh_idle_seconds)
        if now - row.last_used_at > idle:
            await self.repo.revoke(row.id, now)
            raise RefreshRefused(
                "The refresh token expired after a long time without use; link the device again",
                code="refresh_token_expired",
                error="expired_token",
                keeps_work=True,
            )
        status = row.device_status
        if status is not DeviceStatus.ACTIVE:
            raise RefreshRefused(
                f"The device is {status.lower().replace('_', ' ')}",
                code="device_blocked" if status is DeviceStatus.BLOCKED else "not_linked",
            )
        hasher = self.runtime.hasher
        if row.secret_key_id != hasher.key_id:
            # Hashed under an older server secret: refresh tokens live as long as they are used,
            # so the first use after a rotation hashes the token anew under the newest one.
            await self.repo.rehash(
                row.id, row.secret_key_id, hasher.hash(refresh_token), hasher.key_id
            )
        interval = timedelta(seconds=self.settings.activity_write_interval_seconds)
        if now - row.last_used_at >= interval:  # the UPDATE is conditional too (replicas)
            await self.repo.touch(row.id, now, now - interval)
        token, expires = device_token_for(
            self.runtime, row.device_uid, row.tenant_uid, row.device_generation, row.device_nonce
        )
        return DeviceToken(token, expires)
