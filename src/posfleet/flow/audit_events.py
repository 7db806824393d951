"""The audit timeline over the Flow admin API: a tenant's events, or one device's, newest first.

Filterable by action (repeat ``action``) and time (``since`` inclusive, ``until`` exclusive);
paged like the device lists.  A deleted device's events stay readable by its uid.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query

from posfleet.audit.repository import AuditFilter
from posfleet.audit.service import AuditService, TimelineEntry
from posfleet.errors import ValidationFailed
from posfleet.flow.auth import AdminReaderPrincipal, PerStatementSession
from posfleet.flow.schemas import UID_REGEX, FlowModel, Paging
from posfleet.http import SettingsDep

router = APIRouter(prefix="/v2", tags=["Audit events"])

DeviceUid = Annotated[str, Path(alias="deviceUid", pattern=UID_REGEX, max_length=64)]
Actions = Annotated[
    list[str] | None,
    Query(alias="action", max_length=20, description="Only these actions (repeatable)"),
]
Since = Annotated[datetime | None, Query(description="Events at or after this time")]
Until = Annotated[datetime | None, Query(description="Events before this time")]
PageNumber = Annotated[int, Query(alias="pageNumber", ge=1, le=1_000_000_000)]
PageSize = Annotated[int | None, Query(alias="pageSize", ge=1)]

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Invalid filter or paging"},
    401: {"description": "Missing, malformed, expired or revoked token"},
    403: {"description": "The token lacks TENANT.ADMIN or DEVICE, or belongs to another tenant"},
}


class Actor(FlowModel):
    type: Literal["user", "device", "integration", "system"]
    name: str


class AuditEventInfo(FlowModel):
    eventId: int
    deviceUid: str = ""
    action: str
    actor: Actor
    address: str = ""
    at: datetime
    changes: dict[str, Any]

    @classmethod
    def of(cls, entry: TimelineEntry) -> AuditEventInfo:
        return cls(
            eventId=entry.id,
            deviceUid=entry.device_uid,
            action=entry.action,
            actor=Actor(type=entry.actor_kind, name=entry.actor),
            address=entry.address,
            at=entry.at,
            changes=entry.changes,
        )


class AuditEventList(FlowModel):
    items: list[AuditEventInfo]
    paging: Paging


def _aware(moment: datetime | None, name: str) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        raise ValidationFailed(
            f"{name} needs a time zone (e.g. 2026-12-01T10:00:00Z)",
            errors={name: "no time zone"},
        )
    return moment


async def _timeline(
    f: AuditFilter,
    session: PerStatementSession,
    page_number: int,
    page_size: int | None,
    max_size: int,
) -> AuditEventList:
    size = page_size or 50
    if size > max_size:
        raise ValidationFailed(
            f"pageSize must be between 1 and {max_size}", errors={"pageSize": "too large"}
        )
    page = await AuditService(session).timeline(f, page_number, size)
    return AuditEventList(items=[AuditEventInfo.of(e) for e in page.items], paging=Paging.of(page))


@router.get(
    "/tenants/{tenantUid}/events",
    operation_id="get-tenants-events",
    summary="The tenant's audit timeline, newest first",
    responses=_ERRORS,
)
async def tenant_events(
    principal: AdminReaderPrincipal,
    session: PerStatementSession,
    settings: SettingsDep,
    action: Actions = None,
    since: Since = None,
    until: Until = None,
    page_number: PageNumber = 1,
    page_size: PageSize = None,
) -> AuditEventList:
    f = AuditFilter(
        tenant_id=principal.tenant.id,
        actions=action or (),
        since=_aware(since, "since"),
        until=_aware(until, "until"),
    )
    return await _timeline(f, session, page_number, page_size, settings.page_size_max)


@router.get(
    "/tenants/{tenantUid}/devices/{deviceUid}/events",
    operation_id="get-tenants-device-events",
    summary="One device's audit timeline, newest first (also after it was deleted)",
    responses=_ERRORS,
)
async def device_events(
    device_uid: DeviceUid,
    principal: AdminReaderPrincipal,
    session: PerStatementSession,
    settings: SettingsDep,
    action: Actions = None,
    since: Since = None,
    until: Until = None,
    page_number: PageNumber = 1,
    page_size: PageSize = None,
) -> AuditEventList:
    f = AuditFilter(
        tenant_id=principal.tenant.id,
        device_uid=device_uid,
        actions=action or (),
        since=_aware(since, "since"),
        until=_aware(until, "until"),
    )
    return await _timeline(f, session, page_number, page_size, settings.page_size_max)
