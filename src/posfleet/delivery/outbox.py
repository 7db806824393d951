"""The development outbox: with no transport configured, messages are stored and logged."""

from __future__ import annotations

import structlog

from posfleet.delivery.repository import DeliveryRepository
from posfleet.delivery.transport import OutgoingMessage
from posfleet.models import OutboxMessage

log = structlog.get_logger("posfleet.outbox")


class OutboxTransport:
    name = "outbox"

    def __init__(self, repository: DeliveryRepository, *, log_body: bool) -> None:
        self._repository = repository
        self._log_body = log_body

    async def send(self, message: OutgoingMessage) -> None:
        await self._repository.add_outbox(
            OutboxMessage(
                delivery_id=message.delivery_id,
                recipient=message.recipient,
                subject=message.subject,
                body=message.body,
            )
        )
        # Codes appear in the log only in development, where the outbox stands in for a phone.
        log.info(
            "message kept in the outbox",
            delivery=message.reference,
            channel=message.channel.value,
            to=message.recipient,
            body=message.body if self._log_body else "(hidden outside development)",
        )
