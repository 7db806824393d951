"""One signed webhook request, per the Standard Webhooks specification.

Headers ``webhook-id`` (the message id, the same on every attempt), ``webhook-timestamp``
(unix seconds of this attempt) and ``webhook-signature`` (``v1,<base64 HMAC-SHA256>``), made
by the ``standardwebhooks`` library.  Any 2xx answer counts as delivered.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
from standardwebhooks.webhooks import Webhook

from posfleet.kit.clock import utcnow
from posfleet.webhooks.addresses import UnsafeAddress, check_destination


@dataclass(frozen=True, slots=True)
class WebhookResult:
    ok: bool
    status_code: int | None
    error: str


def body_of(payload: dict[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"), sort_keys=True)


async def send_webhook(
    client: httpx.AsyncClient,
    *,
    url: str,
    secret: str,
    message_id: str,
    payload: dict[str, Any],
    allow_private: bool,
) -> WebhookResult:
    try:
        await check_destination(url, allow_private=allow_private)
    except UnsafeAddress as exc:
        return WebhookResult(False, None, f"refused: {exc.reason}")
    body = body_of(payload)
    now = utcnow()  # the signing time is always the real one, whatever a test did to "now"
    headers = {
        "content-type": "application/json",
        "user-agent": "posfleet-webhooks",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, now, body),
    }
    try:
        response = await client.post(url, content=body.encode(), headers=headers)
    except httpx.HTTPError as exc:
        return WebhookResult(False, None, f"{type(exc).__name__}: {exc}".rstrip(": ")[:500])
    if response.is_success:
        return WebhookResult(True, response.status_code, "")
    return WebhookResult(
        False, response.status_code, f"answered {response.status_code}: {response.text[:200]}"
    )
