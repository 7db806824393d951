"""Webhook endpoints of a tenant: register, change, remove, test, read the delivery log, redeliver.

Payloads, headers, the retry schedule and signature checking are described in
``docs/webhooks.md``; every rule lives in :mod:`posfleet.webhooks.service`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import Field
from pydantic.config import JsonDict

from posfleet.flow.auth import AdminPrincipal
from posfleet.flow.schemas import UID_REGEX, FlowModel
from posfleet.http import DbSession, RuntimeDep
from posfleet.models import OutboxAttempt, OutboxEntry, WebhookEndpoint
from posfleet.outbox.service import OutboxService
from posfleet.webhooks.events import EVENT_TYPES
from posfleet.webhooks.schemas import EVENT_MODELS
from posfleet.webhooks.service import EndpointChanges, WebhookService

router = APIRouter(prefix="/v2", tags=["Webhooks"])

EndpointUid = Annotated[str, Path(alias="endpointUid", pattern=UID_REGEX, max_length=64)]
MessageUid = Annotated[str, Path(alias="messageId", pattern=UID_REGEX, max_length=64)]
# Checked by the service (400 with the unknown names); listed here for the OpenAPI.
_EVENTS_SCHEMA: JsonDict = {"items": {"type": "string", "enum": list(EVENT_TYPES)}}

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Invalid URL (or one leading to a private address), secret or events"},
    401: {"description": "Missing, malformed, expired or revoked token"},
    403: {"description": "The token lacks TENANT.ADMIN or DEVICE, or belongs to another tenant"},
    404: {"description": "No such endpoint or message in this tenant"},
}


class EndpointCreate(FlowModel):
    url: str = Field(max_length=2000, description="http(s) URL that receives the events")
    events: list[str] = Field(
        min_length=1, max_length=len(EVENT_TYPES), json_schema_extra=_EVENTS_SCHEMA
    )
    description: str = Field(default="", max_length=200)
    secret: str | None = Field(
        default=None,
        max_length=100,
        description="whsec_ followed by 24 to 64 random bytes in base64; made for you if absent",
    )
    enabled: bool = True


class EndpointUpdate(FlowModel):
    url: str | None = Field(default=None, max_length=2000)
    events: list[str] | None = Field(
        default=None, min_length=1, max_length=len(EVENT_TYPES), json_schema_extra=_EVENTS_SCHEMA
    )
    description: str | None = Field(default=None, max_length=200)
    secret: str | None = Field(default=None, max_length=100)
    enabled: bool | None = None


class EndpointInfo(FlowModel):
    endpointUid: str
    url: str
    description: str
    events: list[str]
    enabled: bool
    disabledReason: str = Field(description="Why posfleet disabled it; empty otherwise")
    failingSince: datetime | None
    createdAt: datetime

    @classmethod
    def of(cls, endpoint: WebhookEndpoint) -> EndpointInfo:
        return cls(
            endpointUid=endpoint.uid,
            url=endpoint.url,
            description=endpoint.description,
            events=list(endpoint.events),
            enabled=endpoint.enabled,
            disabledReason=endpoint.disabled_reason,
            failingSince=endpoint.failing_since,
            createdAt=endpoint.created_at,
        )


class EndpointCreated(EndpointInfo):
    secret: str = Field(description="The signing secret (whsec_…); shown on creation only")


class EndpointList(FlowModel):
    items: list[EndpointInfo]


class AttemptInfo(FlowModel):
    attemptedAt: datetime
    ok: bool
    statusCode: int | None
    error: str
    durationMs: int

    @classmethod
    def of(cls, attempt: OutboxAttempt) -> AttemptInfo:
        return cls(
            attemptedAt=attempt.attempted_at,
            ok=attempt.ok,
            statusCode=attempt.status_code,
            error=attempt.error,
            durationMs=attempt.duration_ms,
        )


class MessageInfo(FlowModel):
    messageId: str = Field(description="The webhook-id header, the same on every attempt")
    eventType: str
    status: Literal["PENDING", "SENT", "DEAD"]
    attempts: int
    nextAttemptAt: datetime | None = Field(description="When PENDING")
    lastStatusCode: int | None
    lastError: str
    createdAt: datetime
    finishedAt: datetime | None
    payload: dict[str, Any]
    attemptLog: list[AttemptInfo]

    @classmethod
    def of(cls, entry: OutboxEntry, attempts: list[OutboxAttempt]) -> MessageInfo:
        return cls(
            messageId=entry.uid,
            eventType=entry.event_type,
            status=entry.status.value,
            attempts=entry.attempts,
            nextAttemptAt=entry.next_attempt_at if entry.status.value == "PENDING" else None,
            lastStatusCode=entry.last_status_code,
            lastError=entry.last_error,
            createdAt=entry.created_at,
            finishedAt=entry.finished_at,
            payload=entry.payload,
            attemptLog=[AttemptInfo.of(a) for a in attempts],
        )


class MessageList(FlowModel):
    items: list[MessageInfo]
    nextBefore: str | None = Field(description="Pass as `before` for the next (older) page")


@router.post(
    "/tenants/{tenantUid}/webhooks",
    operation_id="post-tenants-webhooks",
    summary="Register a webhook endpoint",
    status_code=201,
    responses=_ERRORS,
)
async def create_endpoint(
    body: EndpointCreate, principal: AdminPrincipal, session: DbSession, runtime: RuntimeDep
) -> EndpointCreated:
    endpoint, secret = await WebhookService(session, runtime).create(
        principal.tenant.id,
        body.url,
        body.events,
        description=body.description,
        secret=body.secret,
        enabled=body.enabled,
    )
    return EndpointCreated(**EndpointInfo.of(endpoint).model_dump(), secret=secret)


@router.get(
    "/tenants/{tenantUid}/webhooks",
    operation_id="get-tenants-webhooks",
    summary="List the tenant's webhook endpoints",
    responses=_ERRORS,
)
async def list_endpoints(
    principal: AdminPrincipal, session: DbSession, runtime: RuntimeDep
) -> EndpointList:
    rows = await WebhookService(session, runtime).of_tenant(principal.tenant.id)
    return EndpointList(items=[EndpointInfo.of(row) for row in rows])


@router.get(
    "/tenants/{tenantUid}/webhooks/{endpointUid}",
    operation_id="get-tenants-webhook",
    summary="One webhook endpoint",
    responses=_ERRORS,
)
async def get_endpoint(
    endpoint_uid: EndpointUid, principal: AdminPrincipal, session: DbSession, runtime: RuntimeDep
) -> EndpointInfo:
    return EndpointInfo.of(
        await WebhookService(session, runtime).get(principal.tenant.id, endpoint_uid)
    )


@router.patch(
    "/tenants/{tenantUid}/webhooks/{endpointUid}",
    operation_id="patch-tenants-webhook",
    summary="Change a webhook endpoint (enabling it again clears its failure record)",
    responses=_ERRORS,
)
async def update_endpoint(
    endpoint_uid: EndpointUid,
    body: EndpointUpdate,
    principal: AdminPrincipal,
    session: DbSession,
    runtime: RuntimeDep,
) -> EndpointInfo:
    service = WebhookService(session, runtime)
    endpoint = await service.get(principal.tenant.id, endpoint_uid)
    changes = EndpointChanges(
        url=body.url,
        description=body.description,
        events=list(body.events) if body.events is not None else None,
        enabled=body.enabled,
        secret=body.secret,
    )
    return EndpointInfo.of(await service.update(endpoint, changes))


@router.delete(
    "/tenants/{tenantUid}/webhooks/{endpointUid}",
    operation_id="delete-tenants-webhook",
    summary="Remove a webhook endpoint and its delivery log",
    status_code=204,
    responses=_ERRORS,
)
async def delete_endpoint(
    endpoint_uid: EndpointUid, principal: AdminPrincipal, session: DbSession, runtime: RuntimeDep
) -> Response:
    service = WebhookService(session, runtime)
    await service.delete(await service.get(principal.tenant.id, endpoint_uid))
    return Response(status_code=204)


@router.post(
    "/tenants/{tenantUid}/webhooks/{endpointUid}/test",
    operation_id="post-tenants-webhook-test",
    summary="Send a webhook.test event to this endpoint",
    status_code=202,
    responses=_ERRORS,
)
async def test_endpoint(
    endpoint_uid: EndpointUid, principal: AdminPrincipal, session: DbSession, runtime: RuntimeDep
) -> MessageInfo:
    service = WebhookService(session, runtime)
    entry = await service.send_test(await service.get(principal.tenant.id, endpoint_uid))
    return MessageInfo.of(entry, [])


@router.get(
    "/tenants/{tenantUid}/webhooks/{endpointUid}/messages",
    operation_id="get-tenants-webhook-messages",
    summary="The endpoint's delivery log, newest first, with every attempt",
    responses=_ERRORS,
)
async def list_messages(
    endpoint_uid: EndpointUid,
    principal: AdminPrincipal,
    session: DbSession,
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: Annotated[str | None, Query(pattern=UID_REGEX, max_length=64)] = None,
) -> MessageList:
    endpoint = await WebhookService(session, runtime).get(principal.tenant.id, endpoint_uid)
    outbox = OutboxService(session, runtime)
    before_id = None
    if before is not None:
        before_id = (await outbox.get(before, principal.tenant.id)).id
    entries, attempts = await outbox.log_of_endpoint(endpoint.id, limit, before_id)
    items = [MessageInfo.of(entry, attempts[entry.id]) for entry in entries]
    return MessageList(items=items, nextBefore=items[-1].messageId if len(items) == limit else None)


@router.post(
    "/tenants/{tenantUid}/webhooks/{endpointUid}/messages/{messageId}/redeliver",
    operation_id="post-tenants-webhook-message-redeliver",
    summary="Send a sent or dead message again (same webhook-id, fresh retry budget)",
    status_code=202,
    responses=_ERRORS,
)
async def redeliver_message(
    endpoint_uid: EndpointUid,
    message_uid: MessageUid,
    principal: AdminPrincipal,
    session: DbSession,
    runtime: RuntimeDep,
) -> MessageInfo:
    service = WebhookService(session, runtime)
    endpoint = await service.get(principal.tenant.id, endpoint_uid)
    entry = await service.redeliver(endpoint, message_uid)
    return MessageInfo.of(entry, list(await OutboxService(session, runtime).attempts(entry)))


@router.get(
    "/tenants/{tenantUid}/outbox/dead",
    operation_id="get-tenants-outbox-dead",
    summary="Dead messages of the tenant (webhooks and code deliveries), newest first",
    responses=_ERRORS,
)
async def list_dead(
    principal: AdminPrincipal, session: DbSession, runtime: RuntimeDep
) -> MessageList:
    outbox = OutboxService(session, runtime)
    rows = await outbox.dead(principal.tenant.id)
    items = [MessageInfo.of(row, list(await outbox.attempts(row))) for row in rows]
    return MessageList(items=items, nextBefore=None)


@router.post(
    "/tenants/{tenantUid}/outbox/{messageId}/retry",
    operation_id="post-tenants-outbox-retry",
    summary="Retry a dead webhook message (same webhook-id, fresh retry budget)",
    status_code=202,
    responses=_ERRORS,
)
async def retry_dead(
    message_uid: MessageUid, principal: AdminPrincipal, session: DbSession, runtime: RuntimeDep
) -> MessageInfo:
    outbox = OutboxService(session, runtime)
    entry = await outbox.retry_dead(message_uid, principal.tenant.id)
    return MessageInfo.of(entry, list(await outbox.attempts(entry)))


# The events as OpenAPI 3.1 webhooks: what posfleet POSTs to an endpoint, one per type.
documented = APIRouter()


def _document(event_type: str) -> None:
    model = EVENT_MODELS[event_type]

    async def receive(body: Any) -> None:
        """Sent with the Standard Webhooks headers webhook-id, webhook-timestamp and
        webhook-signature; answer 2xx within the timeout. See docs/webhooks.md."""

    receive.__annotations__ = {"body": model, "return": None}  # one model per event type

    documented.post(
        event_type, summary=EVENT_TYPES[event_type], operation_id=f"webhook-{event_type}"
    )(receive)


for _type in EVENT_TYPES:
    _document(_type)
