"""Delivering codes to people, and keeping a record of every attempt.

Email goes over SMTP when ``smtp_host`` is set, SMS and WhatsApp through the HTTP gateway when
``sms_gateway_url`` is set.  Without a configured transport a message lands in the development
outbox (clear text) in development and test, and is refused (400 ``channel_not_configured``,
nothing stored) in production.  A delivery is recorded as QUEUED, then SENT or FAILED with the
transport's reason.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import structlog
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.delivery.gateway import GatewayTransport
from posfleet.delivery.masking import mask
from posfleet.delivery.outbox import OutboxTransport
from posfleet.delivery.repository import DeliveryRepository
from posfleet.delivery.smtp import SmtpTransport
from posfleet.delivery.transport import DeliveryFailed, OutgoingMessage, Transport
from posfleet.errors import BadRequest, NotFound, ValidationFailed
from posfleet.kit.clock import utcnow
from posfleet.models import Delivery
from posfleet.models.enums import DeliveryChannel, DeliveryPurpose, DeliveryStatus
from posfleet.runtime import Runtime

log = structlog.get_logger("posfleet.delivery")
_PHONE = re.compile(r"^\+[1-9][0-9]{5,14}$")


def normalize_destination(channel: DeliveryChannel, destination: str) -> str:
    """An email address, or a phone number in E.164 form (``+4791234567``)."""
    value = destination.strip()
    if channel is DeliveryChannel.EMAIL:
        try:
            return validate_email(value, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise ValidationFailed(
                "The destination is not a valid email address",
                errors={"destination": str(exc)},
            ) from None
    phone = re.sub(r"[\s().-]", "", value)
    if phone.startswith("00"):
        phone = "+" + phone[2:]
    if not _PHONE.match(phone):
        raise ValidationFailed(
            "The destination is not a phone number in international form (+4791234567)",
            errors={"destination": "must be + followed by 6 to 15 digits"},
        )
    return phone


class DeliveryService:
    def __init__(self, session: AsyncSession, runtime: Runtime) -> None:
        self.repository = DeliveryRepository(session)
        self.settings = runtime.settings

    def _transport(self, channel: DeliveryChannel) -> Transport:
        if channel is DeliveryChannel.EMAIL and self.settings.smtp_host:
            return SmtpTransport(self.settings)
        if channel is not DeliveryChannel.EMAIL and self.settings.sms_gateway_url:
            return GatewayTransport(self.settings)
        if not self.settings.is_development:
            # The development outbox keeps messages, codes included, in clear text.
            raise BadRequest(
                f"This server has no transport for {channel.value} messages "
                "(POSFLEET_SMTP_HOST or POSFLEET_SMS_GATEWAY_URL); ask its operator",
                code="channel_not_configured",
            )
        return OutboxTransport(self.repository, log_body=self.settings.is_development)

    async def deliver(
        self,
        *,
        tenant_id: int,
        purpose: DeliveryPurpose,
        channel: DeliveryChannel,
        destination: str,
        subject: str,
        body: str,
        device_id: int | None = None,
        user_id: int | None = None,
    ) -> Delivery:
        """Record a delivery and attempt it once; a failure is recorded, not raised."""
        destination = normalize_destination(channel, destination)
        transport = self._transport(channel)
        delivery = await self.repository.add(
            Delivery(
                tenant_id=tenant_id,
                device_id=device_id,
                user_id=user_id,
                purpose=purpose,
                channel=channel,
                transport=transport.name,
                destination=destination,
                destination_masked=mask(destination),
                status=DeliveryStatus.QUEUED,
                attempts=0,
            )
        )
        await self._attempt(delivery, transport, subject, body)
        return delivery

    async def redeliver(self, delivery: Delivery, *, subject: str, body: str) -> Delivery:
        """Try a failed delivery again (with a fresh message: codes are never kept in clear)."""
        if delivery.status is not DeliveryStatus.FAILED:
            raise BadRequest("Only a failed delivery can be retried", code="delivery_not_failed")
        transport = self._transport(delivery.channel)
        delivery.transport = transport.name
        await self._attempt(delivery, transport, subject, body)
        return delivery

    async def _attempt(
        self, delivery: Delivery, transport: Transport, subject: str, body: str
    ) -> None:
        delivery.attempts += 1
        message = OutgoingMessage(
            delivery_id=delivery.id,
            reference=delivery.uid,
            channel=delivery.channel,
            recipient=delivery.destination,
            subject=subject,
            body=body,
        )
        try:
            await transport.send(message)
        except DeliveryFailed as exc:
            delivery.status = DeliveryStatus.FAILED
            delivery.error = exc.reason
            log.warning(
                "delivery failed",
                delivery=delivery.uid,
                transport=transport.name,
                to=delivery.destination_masked,
                reason=exc.reason,
            )
        else:
            delivery.status = DeliveryStatus.SENT
            delivery.error = ""
            delivery.sent_at = utcnow()
        await self.repository.flush()

    async def of_device(self, tenant_id: int, device_id: int) -> Sequence[Delivery]:
        """The device's most recent deliveries, newest first."""
        return await self.repository.of_device(tenant_id, device_id)

    async def get(self, uid: str, tenant_id: int | None = None) -> Delivery:
        delivery = await self.repository.get_by_uid(uid, tenant_id)
        if delivery is None:
            raise NotFound("No such delivery")
        return delivery
