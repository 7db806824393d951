"""A device polling for its token with ``{clientId, deviceIdentifier}`` (RFC 8628 section 3.5).

- While the grant is pending: ``authorization_pending``; after its expiry ``expired_token``;
  after a denial ``access_denied``.
- Polls faster than the grant's interval get ``slow_down``, and each one raises that grant's
  interval by ``SLOW_DOWN_STEP`` seconds.  The interval and the last poll are columns of the
  grant, so every replica sees the same ones; a poll claims its slot with a conditional UPDATE,
  so of concurrent polls in one interval exactly one is answered.
- Once approved, ``deviceIdentifier`` is the device's long-lived credential, as a refresh token
  is for a linked device: each poll (at most one per interval) gets a fresh device token.  A
  blocked device is ``access_denied`` (until it is unblocked); a reset or deleted device is
  ``expired_token`` for good, since its grant belonged to the old credential generation.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.apps.service import AppRegistryService
from posfleet.deviceflow.repository import GrantRepository
from posfleet.devices.service import DeviceService
from posfleet.kit.clock import utcnow
from posfleet.models import DeviceGrant
from posfleet.models.enums import DeviceStatus, GrantState
from posfleet.runtime import Runtime
from posfleet.tenants.service import TenantService
from posfleet.tokens.device_refresh import DeviceToken, RefreshRefused
from posfleet.tokens.service import TokenService

SLOW_DOWN_STEP = 5
# Polls that arrive this much early still count as on time: a device that sleeps exactly
# ``interval`` seconds must not be punished for network jitter.
JITTER = timedelta(milliseconds=500)


class DevicePollService:
    def __init__(self, session: AsyncSession, runtime: Runtime) -> None:
        self.runtime = runtime
        self.repo = GrantRepository(session)
        self.devices = DeviceService(session, runtime)
        self.apps = AppRegistryService(session)
        self.tenants = TenantService(session)
        self.tokens = TokenService(session, runtime)

    async def poll(self, client_id: str, device_identifier: str) -> DeviceToken:
        grant = await self.repo.by_identifier_hash(self.runtime.hasher.hashes(device_identifier))
        client = await self.apps.device_flow_client_by_id(grant.client_id) if grant else None
        if grant is None or client is None or client.client_id != client_id:
            raise RefreshRefused(
                "The deviceIdentifier is not known for this client; register the device again",
                code="invalid_device_identifier",
            )
        now = utcnow()
        if grant.state is GrantState.DENIED:
            raise RefreshRefused("The device's authorization was denied", code="access_denied")
        if grant.state is GrantState.PENDING and grant.expires_at <= now:
            raise RefreshRefused(
                "The device code expired before anyone authorized it; register again",
                code="grant_expired",
                error="expired_token",
            )
        await self._take_slot(grant)
        if grant.state is GrantState.PENDING:
            raise RefreshRefused(
                "Nobody has authorized the device yet; keep polling at the interval",
                code="authorization_pending",
                error="authorization_pending",
                keeps_work=True,
            )
        return await self._token(grant)

    async def _take_slot(self, grant: DeviceGrant) -> None:
        now = utcnow()
        seen = grant.last_polled_at
        early = seen is not None and now - seen < timedelta(seconds=grant.interval_seconds) - JITTER
        if early or not await self.repo.take_poll_slot(grant.id, seen, now):
            await self.repo.slow_down(grant.id, grant.interval_seconds, SLOW_DOWN_STEP, now)
            raise RefreshRefused(
                f"Polled faster than every {grant.interval_seconds} s; wait "
                f"{grant.interval_seconds + SLOW_DOWN_STEP} s between polls from now on",
                code="slow_down",
                error="slow_down",
                keeps_work=True,
            )

    async def _token(self, grant: DeviceGrant) -> DeviceToken:
        device = await self.devices.find_by_id(grant.device_id) if grant.device_id else None
        if device is None or device.credential_generation != grant.device_generation:
            raise RefreshRefused(
                "The device was reset or deleted; register it again",
                code="device_reset",
                error="expired_token",
                keeps_work=True,
            )
        if device.status is not DeviceStatus.ACTIVE:
            raise RefreshRefused(
                f"The device is {device.status.lower().replace('_', ' ')}",
                code="device_blocked",
                keeps_work=True,
            )
        await self.repo.redeem(grant.id, utcnow())
        tenant = await self.tenants.get_tenant_by_id(device.tenant_id)
        token, expires = self.tokens.device_token(device, tenant)
        return DeviceToken(token, expires)
