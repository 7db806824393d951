"""Pairing codes: an admin has one delivered to a person, whose POS redeems it to activate a device.

Codes are short (``link_code_length`` symbols of an unambiguous alphabet), single use, live for
``pairing_code_ttl_seconds``, unique among live codes of a tenant and stored only as a keyed
hash.  A device has at most one live code: a new one (or a retried delivery) retires the old.

Guessing is bounded twice, by budgets of ``kit/ratelimit``: per client address (``POS_PAIR``),
and per tenant (``PAIRING_GUESSES``) — a wrong code names no code, so wrong codes are counted
per tenant, and past ``pairing_guesses_per_tenant`` in a window every pairing attempt of the
tenant waits for the window to move on.  Guessers are slowed; no live code is locked by them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.delivery.service import DeliveryService
from posfleet.devices.service import DeviceService
from posfleet.errors import BadRequest, NotFound, TooManyRequests
from posfleet.kit import ratelimit
from posfleet.kit.clock import utcnow
from posfleet.kit.codes import format_code, new_code, normalize_code
from posfleet.models import Delivery, Device, PairingCode, Store, Tenant
from posfleet.models.enums import CodeState, DeliveryChannel, DeliveryPurpose, DeviceStatus
from posfleet.pairing.repository import PairingRepository
from posfleet.runtime import Runtime
from posfleet.tenants.service import TenantService
from posfleet.tenants.stores import StoreService
from posfleet.webhooks.service import WebhookService


@dataclass(frozen=True, slots=True)
class PairingSent:
    code: PairingCode
    delivery: Delivery
    device: Device


class PairingService:
    def __init__(self, session: AsyncSession, runtime: Runtime) -> None:
        self.repository = PairingRepository(session)
        self.devices = DeviceService(session, runtime)
        self.deliveries = DeliveryService(session, runtime)
        self.stores = StoreService(session)
        self.tenants = TenantService(session)
        self.webhooks = WebhookService(session, runtime)
        self.session = session
        self.limiter = runtime.limiter
        self.hasher = runtime.hasher
        self.settings = runtime.settings

    # Sending -----------------------------------------------------------------------------

    async def _pairable(self, tenant: Tenant, device: Device) -> Store:
        if device.status is not DeviceStatus.READY_TO_LINK:
            raise BadRequest(
                "Only a device waiting to be linked (READY_TO_LINK) can be paired",
                code="not_ready_to_link",
            )
        if device.store_id is None:
            raise BadRequest(
                "The device has no store; a POS pairs only at a location",
                code="device_has_no_location",
            )
        return await self.stores.get_store_by_id(tenant.id, device.store_id)

    async def _issue(self, tenant: Tenant, device: Device, actor: str) -> tuple[PairingCode, str]:
        now = utcnow()
        await self.repository.revoke_live_of_device(device.id, now)
        expires = now + timedelta(seconds=self.settings.pairing_code_ttl_seconds)
        return await self.repository.draw(
            lambda: new_code(self.settings.link_code_length),
            lambda code: PairingCode(
                tenant_id=tenant.id,
                device_id=device.id,
                code_hash=self.hasher.hash(code),
                secret_key_id=self.hasher.key_id,
                state=CodeState.LIVE,
                failed_attempts=0,
                created_by=actor[:100],
                created_at=now,
                expires_at=expires,
            ),
        )

    def _message(self, device: Device, store: Store, code: str) -> tuple[str, str]:
        minutes = max(1, self.settings.pairing_code_ttl_seconds // 60)
        subject = f"Pairing code for {device.name}"
        body = (
            f"Your pairing code for {device.name} at {store.name} is {format_code(code)}. "
            f"Enter it on the POS within {minutes} minutes; it works once."
        )
        return subject, body

    async def send(
        self,
        tenant: Tenant,
        device_uid: str,
        channel: DeliveryChannel,
        destination: str,
        actor: str,
    ) -> PairingSent:
        """Issue a new code for the device and deliver it; a failed delivery is recorded."""
        device = await self.devices.get(tenant.id, device_uid)
        store = await self._pairable(tenant, device)
        latest = await self.repository.latest_of_device(device.id)
        interval = timedelta(seconds=self.settings.pairing_resend_interval_seconds)
        if latest is not None and utcnow() - latest.created_at < interval:
            wait = interval - (utcnow() - latest.created_at)
            raise TooManyRequests(
                "A pairing code was sent for this device moments ago; wait before resending",
                retry_after=int(wait.total_seconds()) + 1,
                code="resend_throttled",
            )
        code_row, code = await self._issue(tenant, device, actor)
        subject, body = self._message(device, store, code)
        delivery = await self.deliveries.deliver(
            tenant_id=tenant.id,
            purpose=DeliveryPurpose.PAIRING_CODE,
            channel=channel,
            destination=destination,
            subject=subject,
            body=body,
            device_id=device.id,
        )
        return PairingSent(code_row, delivery, device)

    async def issue(self, tenant: Tenant, device_uid: str, actor: str) -> str:
        """Issue a new code for the device and answer it instead of delivering it, for an
        operator who hands it over in person (the demo's manifest, the CLI)."""
        device = await self.devices.get(tenant.id, device_uid)
        await self._pairable(tenant, device)
        _row, code = await self._issue(tenant, device, actor)
        return code

    async def retry(
        self, delivery_uid: str, actor: str, tenant: Tenant | None = None
    ) -> PairingSent:
        """Deliver a failed pairing delivery again, with a fresh code (codes are never kept in
        clear, and the failed one reached nobody)."""
        delivery = await self.deliveries.get(delivery_uid, tenant.id if tenant else None)
        if delivery.purpose is not DeliveryPurpose.PAIRING_CODE or delivery.device_id is None:
            raise NotFound("No such pairing delivery")
        owner = tenant or await self.tenants.get_tenant_by_id(delivery.tenant_id)
        device = await self.repository.device(owner.id, delivery.device_id)
        if device is None:
            raise NotFound("The device of this delivery no longer exists")
        store = await self._pairable(owner, device)
        if delivery.status.value != "FAILED":
            raise BadRequest("Only a failed delivery can be retried", code="delivery_not_failed")
        code_row, code = await self._issue(owner, device, actor)
        subject, body = self._message(device, store, code)
        await self.deliveries.redeliver(delivery, subject=subject, body=body)
        return PairingSent(code_row, delivery, device)

    # Redeeming ---------------------------------------------------------------------------

    async def redeem(self, tenant: Tenant, presented: str, address: str) -> Device:
        """Spend the code and activate its device; exactly one of any concurrent redeemers wins."""
        await self.limiter.hit(
            ratelimit.POS_PAIR,
            self.settings,
            session=self.session,
            tenant=tenant.uid,
            address=address,
        )
        # Wrong codes name no code: they are counted per tenant, and past the budget every
        # attempt of the tenant waits, so guessers are slowed and no live code is locked.
        await self.limiter.check(
            ratelimit.PAIRING_GUESSES, self.settings, session=self.session, tenant=tenant.uid
        )
        now = utcnow()
        code = normalize_code(presented)
        row = await self.repository.by_hash(tenant.id, self.hasher.hashes(code)) if code else None
        if row is None:
            await self.limiter.charge(
                ratelimit.PAIRING_GUESSES, self.settings, session=self.session, tenant=tenant.uid
            )
            raise BadRequest(
                "The pairing code is not valid", code="pairing_code_invalid", keeps_work=True
            )
        if row.state is CodeState.SPENT:
            raise BadRequest("The pairing code has already been used", code="pairing_code_used")
        if row.state is CodeState.LOCKED:
            raise BadRequest(
                "The pairing code is locked after too many wrong attempts; ask for a new one",
                code="pairing_code_locked",
            )
        if row.state is CodeState.REVOKED:
            raise BadRequest(
                "The pairing code was replaced by a newer one", code="pairing_code_revoked"
            )
        if row.expires_at <= now:
            raise BadRequest("The pairing code has expired", code="pairing_code_expired")
        if not await self.repository.spend(row.id, now):
            raise BadRequest("The pairing code has already been used", code="pairing_code_used")
        device = await self.repository.device(tenant.id, row.device_id)
        if device is None:  # pragma: no cover - codes go with their device (cascade)
            raise BadRequest("The pairing code is not valid", code="pairing_code_invalid")
        await self.devices.activate(device, "pairing code", how="pairing code")
        await self.webhooks.publish(
            tenant.id, "pairing_code.used", {"deviceUid": device.uid, "name": device.name}
        )
        return device
