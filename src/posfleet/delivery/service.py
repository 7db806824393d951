"""Delivering codes to people, and keeping a record of every attempt.

Email goes over SMTP when ``smtp_host`` is set, SMS and WhatsApp through the HTTP gateway when
``sms_gateway_url`` is set.  Without a configured transport a message goes to the development
outbox (clear text) in development and test, and is refused (400 ``channel_not_configured``,
nothing stored) in production.  A request only records the delivery (QUEUED) and commits its
message to the outbox with it, the code sealed; the outbox worker sends it after commit, so a
slow mail server never holds a request or its transaction.  The delivery becomes SENT, or FAILED
once the outbox gives up on it (``delivery_max_attempts``); ``error`` keeps the last attempt's
reason.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

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
from posfleet.models import Delivery
from posfleet.models.enums import DeliveryChannel, DeliveryPurpose, DeliveryStatus
from posfleet.outbox.service import OutboxService, SealedMessage
from posfleet.runtime import Runtime
from posfleet.webhooks.service import WebhookService

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
        self.outbox = OutboxService(session, runtime)
        self.webhooks = WebhookService(session, runtime)
        self.settings = runtime.settings

    def _transport_name(self, channel: DeliveryChannel) -> str:
        if channel is DeliveryChannel.EMAIL and self.settings.smtp_host:
            return SmtpTransport.name
        if channel is not DeliveryChannel.EMAIL and self.settings.sms_gateway_url:
            return GatewayTransport.name
        if not self.settings.is_development:
            # The development outbox keeps messages, codes included, in clear text.
            raise BadRequest(
                f"This server has no transport for {channel.value} messages "
                "(POSFLEET_SMTP_HOST or POSFLEET_SMS_GATEWAY_URL); ask its operator",
                code="channel_not_configured",
            )
        return OutboxTransport.name

    def transport_named(self, name: str) -> Transport:
        """The transport a delivery was queued for; one that is no longer configured fails."""
        if name == SmtpTransport.name and self.settings.smtp_host:
            return SmtpTransport(self.settings)
        if name == GatewayTransport.name and self.settings.sms_gateway_url:
            return GatewayTransport(self.settings)
        if name == OutboxTransport.name and self.settings.is_development:
            return OutboxTransport(self.repository, log_body=True)
        return _Unconfigured(name)

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
        """Record a delivery and queue its message; the outbox worker sends it after commit."""
        destination = normalize_destination(channel, destination)
        delivery = await self.repository.add(
            Delivery(
                tenant_id=tenant_id,
                device_id=device_id,
                user_id=user_id,
                purpose=purpose,
                channel=channel,
                transport=self._transport_name(channel),
                destination=destination,
                destination_masked=mask(destination),
                status=DeliveryStatus.QUEUED,
                attempts=0,
            )
        )
        self.outbox.enqueue_delivery(tenant_id, delivery.id, SealedMessage(subject, body))
        await self.repository.flush()
        return delivery

    async def redeliver(self, delivery: Delivery, *, subject: str, body: str) -> Delivery:
        """Queue a failed delivery again (with a fresh message: codes are never kept in clear
        once their message is sent or dead)."""
        if delivery.status is not DeliveryStatus.FAILED:
            raise BadRequest("Only a failed delivery can be retried", code="delivery_not_failed")
        delivery.transport = self._transport_name(delivery.channel)
        delivery.status = DeliveryStatus.QUEUED
        self.outbox.enqueue_delivery(delivery.tenant_id, delivery.id, SealedMessage(subject, body))
        await self.repository.flush()
        return delivery

    async def record_attempt(
        self, delivery_id: int, *, ok: bool, error: str, dead: bool, at: datetime
    ) -> Delivery | None:
        """What the outbox worker saw on one attempt."""
        delivery = await self.repository.get_by_id(delivery_id)
        if delivery is None:
            return None
        delivery.attempts += 1
        delivery.error = error
        if ok:
            delivery.status = DeliveryStatus.SENT
            delivery.sent_at = at
            if delivery.purpose is DeliveryPurpose.PAIRING_CODE and delivery.device_id:
                await self.webhooks.publish(
                    delivery.tenant_id,
                    "pairing_code.sent",
                    {
                        "deliveryUid": delivery.uid,
                        "deviceUid": await self.repository.device_uid(delivery.device_id),
                        "channel": delivery.channel.value,
                        "destination": delivery.destination_masked,
                    },
                )
        elif dead:
            delivery.status = DeliveryStatus.FAILED
            log.warning(
                "delivery failed",
                delivery=delivery.uid,
                transport=delivery.transport,
                to=delivery.destination_masked,
                reason=error,
            )
        await self.repository.flush()
        return delivery

    async def of_device(self, tenant_id: int, device_id: int) -> Sequence[Delivery]:
        """The device's most recent deliveries, newest first."""
        return await self.repository.of_device(tenant_id, device_id)

    async def get(self, uid: str, tenant_id: int | None = None) -> Delivery:
        delivery = await self.repository.get_by_uid(uid, tenant_id)
        if delivery is None:
            raise NotFound("No such delivery")
        return delivery


class _Unconfigured:
    """A delivery queued for a transport this process has no settings for."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def send(self, message: OutgoingMessage) -> None:
        raise DeliveryFailed(f"the {self.name} transport is not configured on this server")
