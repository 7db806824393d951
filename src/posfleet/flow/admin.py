"""Flow v2 tenant-admin device operations: translation between the wire and the device services.

Every rule (validation, status moves, credentials) lives in :mod:`posfleet.devices.service`;
lists and searches in :mod:`posfleet.devices.search`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Response
from fastapi.responses import JSONResponse

from posfleet.devices.search import DeviceQuery, DeviceSearchService
from posfleet.devices.service import DeviceChanges, DeviceService
from posfleet.errors import ValidationFailed
from posfleet.flow.admin_schemas import (
    DeviceCreateRequest,
    DeviceList,
    DeviceResponse,
    DeviceSearchRequest,
    DeviceUpdateRequest,
)
from posfleet.flow.auth import AdminPrincipal, AdminReaderPrincipal
from posfleet.flow.schemas import UID_REGEX
from posfleet.http import DbSession, ReadSession, RuntimeDep, SettingsDep
from posfleet.kit import cursor as cursors
from posfleet.kit.idempotency import IdempotencyStore, check_key, request_hash
from posfleet.kit.pagination import Page, PageRequest
from posfleet.runtime import Runtime

router = APIRouter(prefix="/v2", tags=["Device admin"])

# Flow's sort field names and the domain's; every one is backed by a (tenant_id, field, id) index.
SORT_FIELDS = {
    "createdAt": "created_at",
    "lastModifiedAt": "last_modified_at",
    "name": "name",
    "status": "status",
    "deviceUid": "uid",
}
DEFAULT_SORT = "createdAt"
CREATE_SCOPE = "flow.devices.create"
MAX_PAGE_NUMBER = 1_000_000_000

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Invalid request; the generic error body `{code, message, logId}`"},
    401: {"description": "Missing, malformed, expired or revoked token"},
    403: {"description": "The token lacks TENANT.ADMIN or DEVICE, or belongs to another tenant"},
    404: {"description": "No such device in this tenant"},
}

DeviceUid = Annotated[str, Path(alias="deviceUid", pattern=UID_REGEX, max_length=64)]
PageNumber = Annotated[
    int | None,
    Query(alias="pageNumber", le=MAX_PAGE_NUMBER, description="1-based page number"),
]
PageSize = Annotated[
    int | None,
    Query(alias="pageSize", description="Items per page (default 50, at most 500)"),
]
SortBy = Annotated[
    str | None,
    Query(alias="sortBy", max_length=50, description="One of " + ", ".join(SORT_FIELDS)),
]
SortDirection = Annotated[
    str | None, Query(alias="sortDirection", max_length=10, description="ASC or DESC")
]
Cursor = Annotated[
    str | None,
    Query(
        alias="cursor",
        max_length=cursors.MAX_CURSOR_LENGTH,
        description="`paging.nextCursor` of the previous page, in place of `pageNumber`: "
        "the next page at the same cost however deep it is. `pageSize`, `sortBy` and "
        "`sortDirection` are those of the cursor; given as well, they must be the same",
    ),
]


@dataclass(frozen=True, slots=True)
class _Paging:
    """The paging parameters as given: a page number, or a cursor to be opened once the list
    it belongs to is known."""

    page: PageRequest
    cursor: str | None
    given: frozenset[str]

    def resolve(self, runtime: Runtime, scope: str) -> PageRequest:
        if self.cursor is None:
            return self.page
        if "pageNumber" in self.given:
            raise ValidationFailed(
                "pageNumber and cursor cannot be given together",
                errors={"pageNumber": "give pageNumber or cursor, not both"},
            )
        page = cursors.decode(runtime.secret, scope, self.cursor)
        errors = {
            name: "must be that of the cursor or left out"
            for name, same in (
                ("pageSize", page.page_size == self.page.page_size),
                ("sortBy", page.sort_by == self.page.sort_by),
                ("sortDirection", page.sort_direction is self.page.sort_direction),
            )
            if name in self.given and not same
        }
        if errors:
            raise ValidationFailed("; ".join(f"{k} {v}" for k, v in errors.items()), errors=errors)
        return page


async def _page(
    settings: SettingsDep,
    page_number: PageNumber = None,
    page_size: PageSize = None,
    sort_by: SortBy = None,
    sort_direction: SortDirection = None,
    cursor: Cursor = None,
) -> _Paging:
    page = PageRequest.parse(
        page_number=page_number,
        page_size=page_size,
        sort_by=sort_by,
        sort_direction=sort_direction,
        sortable=frozenset(SORT_FIELDS),
        default_sort=DEFAULT_SORT,
        default_size=settings.page_size_default,
        max_size=settings.page_size_max,
    )
    given = {
        name
        for name, value in (
            ("pageNumber", page_number),
            ("pageSize", page_size),
            ("sortBy", sort_by),
            ("sortDirection", sort_direction),
        )
        if value is not None
    }
    return _Paging(replace(page, sort_by=SORT_FIELDS[page.sort_by]), cursor, frozenset(given))


Paged = Annotated[_Paging, Depends(_page)]


def _scope(tenant_id: int, **filters: object) -> str:
    """What a cursor of this list is bound to: the tenant and every filter."""
    described = json.dumps(filters, sort_keys=True, default=str)
    return f"flow-devices:{tenant_id}:" + hashlib.sha256(described.encode()).hexdigest()[:32]


def _list(
    result: Page[Any], page: PageRequest, runtime: Runtime, scope: str, tenant_uid: str
) -> Response:
    following = (
        None if result.next is None else cursors.encode(runtime.secret, scope, page, result.next)
    )
    # Written straight from the page's rows: returning the model would make FastAPI validate
    # and convert every item of a page again.
    answer = DeviceList.json_of(result, tenant_uid, following)
    return Response(answer, media_type="application/json")


StoreFilter = Annotated[str | None, Query(alias="deviceStoreUid", pattern=UID_REGEX, max_length=64)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Retrying a create with the same key returns the first answer",
    ),
]


@router.get(
    "/tenants/{tenantUid}/devices",
    operation_id="get-tenants-devices",
    summary="List registered devices",
    response_model=DeviceList,
    responses=_ERRORS,
)
async def list_devices(
    principal: AdminReaderPrincipal,
    session: ReadSession,
    runtime: RuntimeDep,
    paging: Paged,
    store_uid: StoreFilter = None,
) -> Response:
    tenant = principal.tenant
    scope = _scope(tenant.id, store=store_uid)
    page = paging.resolve(runtime, scope)
    result = await DeviceSearchService(session).page(
        tenant.id, DeviceQuery(), page, store_uid=store_uid
    )
    return _list(result, page, runtime, scope, tenant.uid)


@router.post(
    "/tenants/{tenantUid}/devices/search",
    operation_id="post-search-tenants-devices",
    summary="Search registered devices",
    response_model=DeviceList,
    responses=_ERRORS,
)
async def search_devices(
    principal: AdminReaderPrincipal,
    session: ReadSession,
    runtime: RuntimeDep,
    paging: Paged,
    body: Annotated[DeviceSearchRequest | None, Body()] = None,
) -> Response:
    """``name``: part of the name; ``query``: part of the name, identifier, system information,
    store name or till name; ``deviceIdentifier`` exactly; ``appCode``; any of ``statuses``."""
    body = body or DeviceSearchRequest()
    query = DeviceQuery(
        name=(body.name or "").strip(),
        identifier=body.deviceIdentifier or "",
        text=(body.query or "").strip(),
        app_code=body.appCode,
        statuses=tuple(dict.fromkeys(body.statuses or [])),
    )
    tenant = principal.tenant
    scope = _scope(
        tenant.id,
        name=query.name,
        identifier=query.identifier,
        text=query.text,
        app=query.app_code,
        statuses=sorted(query.statuses),
    )
    page = paging.resolve(runtime, scope)
    result = await DeviceSearchService(session).page(tenant.id, query, page)
    return _list(result, page, runtime, scope, tenant.uid)


@router.post(
    "/tenants/{tenantUid}/devices",
    operation_id="post-tenants-devices",
    summary="Create a new device",
    status_code=201,
    response_model=DeviceResponse,
    responses=_ERRORS,
)
async def create_device(
    body: DeviceCreateRequest,
    principal: AdminPrincipal,
    session: DbSession,
    runtime: RuntimeDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """The answer carries the one-time ``deviceLinkCode``; it is never shown again (a replay
    with the same ``Idempotency-Key`` answers with it blank)."""
    tenant = principal.tenant
    store = IdempotencyStore(session)
    key = check_key(idempotency_key) if idempotency_key is not None else None
    if key is not None:
        digest = request_hash(body.model_dump(mode="json"))
        answer = await store.claim(tenant.id, CREATE_SCOPE, key, digest)
        if answer is not None:
            return JSONResponse(
                answer.body, status_code=answer.status_code, headers={"Idempotent-Replayed": "true"}
            )
    service = DeviceService(session, runtime)
    device, code = await service.create(
        tenant.id,
        name=body.name,
        app_code=body.appCode,
        actor=principal.actor,
        device_uid=body.deviceUid or None,
        store_uid=body.storeUid or None,
        till_uid=body.tillUid or None,
        printer_uids=body.printerUids,
        settings=[(s.key, s.value) for s in body.settings or []],
    )
    response = DeviceResponse.of(await service.details(device), tenant.uid, code)
    if key is not None:
        # The stored answer leaves out the link code: secrets are kept only as hashes.
        stored = response.model_copy(update={"deviceLinkCode": ""}).model_dump(mode="json")
        await store.complete(tenant.id, CREATE_SCOPE, key, 201, stored)
    return response


@router.get(
    "/tenants/{tenantUid}/devices/{deviceUid}",
    operation_id="get-tenants-devices-details",
    summary="Get device details",
    response_model=DeviceResponse,
    responses=_ERRORS,
)
async def get_device(
    device_uid: DeviceUid, principal: AdminPrincipal, session: DbSession, runtime: RuntimeDep
) -> DeviceResponse:
    service = DeviceService(session, runtime)
    device = await service.get(principal.tenant.id, device_uid)
    return DeviceResponse.of(await service.details(device), principal.tenant.uid)


@router.put(
    "/tenants/{tenantUid}/devices/{deviceUid}",
    operation_id="put-tenants-device-details",
    summary="Update device details",
    response_model=DeviceResponse,
    responses=_ERRORS,
)
async def update_device(
    device_uid: DeviceUid,
    body: DeviceUpdateRequest,
    principal: AdminPrincipal,
    session: DbSession,
    runtime: RuntimeDep,
) -> DeviceResponse:
    """Partial.  ``status: READY_TO_LINK`` unlinks the device: a new ``deviceLinkCode`` (in this
    answer only) and identifier, and every credential of the device dies.  A device becomes
    ACTIVE only by linking, so asking for ACTIVE on a READY_TO_LINK device is 400."""
    service = DeviceService(session, runtime)
    device = await service.get(principal.tenant.id, device_uid)
    changes = DeviceChanges(
        name=body.name,
        app_code=body.appCode,
        store_uid=body.storeUid,
        till_uid=body.tillUid,
        status=body.status,
        settings=None if body.settings is None else [(s.key, s.value) for s in body.settings],
        printer_uids=body.printerUids,
    )
    device, code = await service.update(device, changes, principal.actor)
    return DeviceResponse.of(await service.details(device), principal.tenant.uid, code)


@router.delete(
    "/tenants/{tenantUid}/devices/{deviceUid}",
    operation_id="delete-tenants-device",
    summary="Delete a device",
    status_code=204,
    response_class=Response,
    responses=_ERRORS,
)
async def delete_device(
    device_uid: DeviceUid, principal: AdminPrincipal, session: DbSession, runtime: RuntimeDep
) -> Response:
    service = DeviceService(session, runtime)
    device = await service.get(principal.tenant.id, device_uid)
    await service.delete(device, principal.actor)
    return Response(status_code=204)
