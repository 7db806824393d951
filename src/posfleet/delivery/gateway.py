"""SMS and WhatsApp through an HTTP gateway: a JSON POST signed with HMAC-SHA256.

The gateway receives ``{"channel": "sms" | "whatsapp", "to": "+47…", "message": "…",
"reference": "<delivery uid>"}`` with two headers: ``X-Posfleet-Timestamp`` (unix seconds) and
``X-Posfleet-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<body>" keyed with the secret>``.
Any 2xx answer counts as accepted.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import httpx

from posfleet.config import Settings
from posfleet.delivery.transport import DeliveryFailed, OutgoingMessage

SIGNATURE_HEADER = "X-Posfleet-Signature"
TIMESTAMP_HEADER = "X-Posfleet-Timestamp"


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"v1={digest}"


class GatewayTransport:
    name = "gateway"

    def __init__(self, settings: Settings) -> None:
        assert settings.sms_gateway_url is not None
        self._url = settings.sms_gateway_url
        secret = settings.sms_gateway_secret
        self._secret = secret.get_secret_value().encode() if secret else b""
        self._timeout = settings.sms_gateway_timeout_seconds

    async def send(self, message: OutgoingMessage) -> None:
        body = json.dumps(
            {
                "channel": message.channel.value.lower(),
                "to": message.recipient,
                "message": message.body,
                "reference": message.reference,
            }
        ).encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(self._secret, timestamp, body),
        }
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as client:
                response = await client.post(self._url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryFailed(
                f"gateway unreachable: {type(exc).__name__}: {exc}".rstrip(": ")
            ) from exc
        if not response.is_success:
            raise DeliveryFailed(
                f"gateway answered {response.status_code}: {response.text[:200].strip()}"
            )
