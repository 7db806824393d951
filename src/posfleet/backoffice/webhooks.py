"""Webhook endpoints of the tenant: register (the signing secret shown once), change, rotate the
secret, remove, send a test event, read each endpoint's delivery log with every attempt, send a
message again, and retry dead messages by hand.

The rules, errors and checks (the URL guard against private addresses among them) are
:mod:`posfleet.webhooks.service`'s and :mod:`posfleet.outbox.service`'s, as for
``/v2/tenants/{tenantUid}/webhooks``; the same users may use them (TENANT.ADMIN or DEVICE).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import Path, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.responses import Response

from posfleet.backoffice.forms import Problems, attempt
from posfleet.backoffice.web import (
    PREFIX,
    CsrfChecked,
    SignedIn,
    SignedInReader,
    Staff,
    page_router,
    redirect,
    render,
)
from posfleet.http import DbSession, ReadSession, RuntimeDep
from posfleet.models import WebhookEndpoint
from posfleet.models.base import UID_PATTERN
from posfleet.models.enums import OutboxKind
from posfleet.outbox.service import OutboxService
from posfleet.runtime import Runtime
from posfleet.webhooks.events import EVENT_TYPES
from posfleet.webhooks.service import EndpointChanges, WebhookService

router = page_router()

WEBHOOKS = f"{PREFIX}/webhooks"
LOG_PAGE = 20
Uid = Annotated[str, Path(pattern=UID_PATTERN, max_length=64)]
#: Every type an endpoint may subscribe to; ``webhook.test`` goes to an endpoint on request.
SUBSCRIBABLE = {name: text for name, text in EVENT_TYPES.items() if name != "webhook.test"}
#: The same bounds as the API's request bodies.
URL_MAX, DESCRIPTION_MAX = 2000, 200
LABELS = {"url": "URL", "events": "Events", "description": "Description"}


def _values(form: FormData) -> dict[str, Any]:
    return {
        "url": str(form.get("url", "")).strip(),
        "description": str(form.get("description", "")).strip(),
        "events": [str(e) for e in form.getlist("events")],
        "enabled": form.get("enabled") == "on",
    }


def _shape_problems(values: Mapping[str, Any]) -> Problems:
    """What the API's body model refuses before the service sees it."""
    problems: Problems = {}
    if not values["url"]:
        problems["url"] = "Enter the URL posfleet sends the events to."
    elif len(values["url"]) > URL_MAX:
        problems["url"] = f"At most {URL_MAX} characters."
    if len(values["description"]) > DESCRIPTION_MAX:
        problems["description"] = f"At most {DESCRIPTION_MAX} characters."
    if not values["events"]:
        problems["events"] = "Choose at least one event."
    return problems


async def _list_page(
    request: Request,
    staff: Staff,
    db: AsyncSession,
    runtime: Runtime,
    *,
    forms: Mapping[str, Mapping[str, Any]] | None = None,
    status_code: int = 200,
) -> Response:
    outbox = OutboxService(db, runtime)
    endpoints = await WebhookService(db, runtime).of_tenant(staff.tenant.id)
    urls: dict[int | None, str] = {e.id: e.url for e in endpoints}
    dead = [
        {"entry": entry, "url": urls.get(entry.endpoint_id)}
        for entry in await outbox.dead(staff.tenant.id)
    ]
    context = {
        "endpoints": endpoints,
        "dead": dead,
        "events": SUBSCRIBABLE,
        "forms": forms or {"endpoint": {"given": {"enabled": True}}},
        "labels": LABELS,
        "webhook_kind": OutboxKind.WEBHOOK,
    }
    return render(request, "webhooks/list.html", context, staff=staff, status_code=status_code)


async def _endpoint_page(
    request: Request,
    staff: Staff,
    db: AsyncSession,
    runtime: Runtime,
    endpoint: WebhookEndpoint,
    *,
    before: str | None = None,
    forms: Mapping[str, Mapping[str, Any]] | None = None,
    status_code: int = 200,
) -> Response:
    outbox = OutboxService(db, runtime)
    before_id = (await outbox.get(before, staff.tenant.id)).id if before else None
    entries, attempts = await outbox.log_of_endpoint(endpoint.id, LOG_PAGE, before_id)
    given = {
        "url": endpoint.url,
        "description": endpoint.description,
        "events": list(endpoint.events),
        "enabled": endpoint.enabled,
    }
    context = {
        "endpoint": endpoint,
        "log": [{"entry": e, "attempts": attempts[e.id]} for e in entries],
        "older": entries[-1].uid if len(entries) == LOG_PAGE else None,
        "events": SUBSCRIBABLE,
        "forms": forms or {"edit": {"given": given}},
        "labels": LABELS,
    }
    return render(request, "webhooks/detail.html", context, staff=staff, status_code=status_code)


@router.get("/webhooks")
async def endpoint_list(
    request: Request, staff: SignedInReader, db: ReadSession, runtime: RuntimeDep
) -> Response:
    staff.require_device_management()
    return await _list_page(request, staff, db, runtime)


@router.post("/webhooks")
async def create_endpoint(
    request: Request, _: CsrfChecked, staff: SignedIn, db: DbSession, runtime: RuntimeDep
) -> Response:
    staff.require_device_management()
    values = _values(await request.form())
    made: list[tuple[WebhookEndpoint, str]] = []

    async def work() -> None:
        made.append(
            await WebhookService(db, runtime).create(
                staff.tenant.id,
                values["url"],
                values["events"],
                description=values["description"],
                enabled=values["enabled"],
            )
        )

    errors = _shape_problems(values) or await attempt(db, work, with_message=True)
    if errors:
        forms = {"endpoint": {"given": values, "errors": errors}}
        return await _list_page(request, staff, db, runtime, forms=forms, status_code=400)
    endpoint, secret = made[0]
    return _secret_page(request, staff, endpoint, secret, "created", status_code=201)


def _secret_page(
    request: Request,
    staff: Staff,
    endpoint: WebhookEndpoint,
    secret: str,
    what: str,
    *,
    status_code: int = 200,
) -> Response:
    context = {"endpoint": endpoint, "secret": secret, "what": what}
    return render(request, "webhooks/secret.html", context, staff=staff, status_code=status_code)


@router.get("/webhooks/{endpoint_uid}")
async def endpoint_detail(
    request: Request,
    endpoint_uid: Uid,
    staff: SignedInReader,
    db: ReadSession,
    runtime: RuntimeDep,
    before: Annotated[str | None, Query(pattern=UID_PATTERN, max_length=64)] = None,
) -> Response:
    staff.require_device_management()
    endpoint = await WebhookService(db, runtime).get(staff.tenant.id, endpoint_uid)
    return await _endpoint_page(request, staff, db, runtime, endpoint, before=before)


@router.post("/webhooks/{endpoint_uid}")
async def update_endpoint(
    request: Request,
    endpoint_uid: Uid,
    _: CsrfChecked,
    staff: SignedIn,
    db: DbSession,
    runtime: RuntimeDep,
) -> Response:
    staff.require_device_management()
    service = WebhookService(db, runtime)
    endpoint = await service.get(staff.tenant.id, endpoint_uid)
    values = _values(await request.form())
    changes = EndpointChanges(
        url=values["url"],
        description=values["description"],
        events=values["events"],
        enabled=values["enabled"],
    )

    async def work() -> None:
        await service.update(endpoint, changes)

    errors = _shape_problems(values) or await attempt(db, work, with_message=True)
    if errors:
        # The savepoint undid the change in the database; the row in the session forgets it too.
        await db.refresh(endpoint)
        forms = {"edit": {"given": values, "errors": errors}}
        return await _endpoint_page(
            request, staff, db, runtime, endpoint, forms=forms, status_code=400
        )
    return redirect(request, f"{WEBHOOKS}/{endpoint.uid}", flash="The endpoint is saved.")


@router.post("/webhooks/{endpoint_uid}/rotate-secret")
async def rotate_secret(
    request: Request,
    endpoint_uid: Uid,
    _: CsrfChecked,
    staff: SignedIn,
    db: DbSession,
    runtime: RuntimeDep,
) -> Response:
    staff.require_device_management()
    service = WebhookService(db, runtime)
    endpoint = await service.get(staff.tenant.id, endpoint_uid)
    secret = await service.rotate_secret(endpoint)
    return _secret_page(request, staff, endpoint, secret, "rotated")


@router.post("/webhooks/{endpoint_uid}/test")
async def send_test(
    request: Request,
    endpoint_uid: Uid,
    _: CsrfChecked,
    staff: SignedIn,
    db: DbSession,
    runtime: RuntimeDep,
) -> Response:
    staff.require_device_management()
    service = WebhookService(db, runtime)
    entry = await service.send_test(await service.get(staff.tenant.id, endpoint_uid))
    return redirect(
        request,
        f"{WEBHOOKS}/{endpoint_uid}",
        flash=f"A test event ({entry.uid}) is on its way; reload to see its delivery.",
    )


@router.post("/webhooks/{endpoint_uid}/messages/{message_uid}/redeliver")
async def redeliver(
    request: Request,
    endpoint_uid: Uid,
    message_uid: Uid,
    _: CsrfChecked,
    staff: SignedIn,
    db: DbSession,
    runtime: RuntimeDep,
) -> Response:
    staff.require_device_management()
    service = WebhookService(db, runtime)
    endpoint = await service.get(staff.tenant.id, endpoint_uid)

    async def work() -> None:
        await service.redeliver(endpoint, message_uid)

    errors = await attempt(db, work)
    if errors:
        forms = {"log": {"errors": errors}}
        return await _endpoint_page(
            request, staff, db, runtime, endpoint, forms=forms, status_code=400
        )
    return redirect(
        request,
        f"{WEBHOOKS}/{endpoint.uid}",
        flash=f"The message {message_uid} will be sent again under the same webhook-id.",
    )


@router.get("/webhooks/{endpoint_uid}/delete")
async def confirm_delete(
    request: Request, endpoint_uid: Uid, staff: SignedInReader, db: ReadSession, runtime: RuntimeDep
) -> Response:
    staff.require_device_management()
    endpoint = await WebhookService(db, runtime).get(staff.tenant.id, endpoint_uid)
    return render(request, "webhooks/delete.html", {"endpoint": endpoint}, staff=staff)


@router.post("/webhooks/{endpoint_uid}/delete")
async def delete_endpoint(
    request: Request,
    endpoint_uid: Uid,
    _: CsrfChecked,
    staff: SignedIn,
    db: DbSession,
    runtime: RuntimeDep,
) -> Response:
    staff.require_device_management()
    service = WebhookService(db, runtime)
    endpoint = await service.get(staff.tenant.id, endpoint_uid)
    url = endpoint.url
    await service.delete(endpoint)
    return redirect(
        request, WEBHOOKS, flash=f"The endpoint {url} and its delivery log are removed."
    )


@router.post("/outbox/{message_uid}/retry")
async def retry_dead(
    request: Request,
    message_uid: Uid,
    _: CsrfChecked,
    staff: SignedIn,
    db: DbSession,
    runtime: RuntimeDep,
) -> Response:
    staff.require_device_management()

    async def work() -> None:
        await OutboxService(db, runtime).retry_dead(message_uid, staff.tenant.id)

    errors = await attempt(db, work)
    if errors:
        forms = {"dead": {"errors": errors}}
        return await _list_page(request, staff, db, runtime, forms=forms, status_code=400)
    return redirect(
        request,
        WEBHOOKS,
        flash=f"The message {message_uid} will be sent again under the same webhook-id.",
    )
