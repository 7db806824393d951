"""Wire shapes of the tenant-admin device operations (``/v2/tenants/{tenantUid}/devices…``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import orjson
from pydantic import ConfigDict, Field, StringConstraints

from posfleet.devices.service import DeviceDetails, ListedDetails
from posfleet.flow.schemas import (
    OPTIONAL_UID_REGEX,
    UID_REGEX,
    DevicePrinter,
    FlowModel,
    FlowRequest,
    GeneralParameter,
    Paging,
)
from posfleet.kit.pagination import Page
from posfleet.models.enums import AppCode, DeviceStatus

Uid = Annotated[str, StringConstraints(pattern=UID_REGEX, max_length=64)]
_UID = Field(default=None, pattern=OPTIONAL_UID_REGEX, max_length=64)
_TEXT = Field(default=None, max_length=200)


class SettingValue(FlowRequest):
    """``GeneralParameterRequestSchema``."""

    model_config = ConfigDict(extra="forbid")

    key: str = Field(max_length=100)
    value: str = Field(max_length=1000)


class DeviceCreateRequest(FlowRequest):
    """``DeviceCreateRequestSchema``."""

    deviceUid: str | None = _UID
    name: str = Field(max_length=200)
    appCode: AppCode
    storeUid: str | None = _UID
    tillUid: str | None = _UID
    settings: list[SettingValue] | None = Field(default=None, max_length=200)
    printerUids: list[Uid] | None = Field(default=None, max_length=100)


class DeviceUpdateRequest(FlowRequest):
    """``DeviceUpdateRequestSchema``: every field is optional; absent or null leaves it alone."""

    name: str | None = _TEXT
    appCode: AppCode | None = None
    storeUid: str | None = _UID
    status: DeviceStatus | None = None
    tillUid: str | None = _UID
    settings: list[SettingValue] | None = Field(default=None, max_length=200)
    printerUids: list[Uid] | None = Field(default=None, max_length=100)


class DeviceSearchRequest(FlowRequest):
    """``DeviceSearchRequestSchema``."""

    name: str | None = _TEXT
    deviceIdentifier: str | None = _UID
    query: str | None = _TEXT
    appCode: AppCode | None = None
    statuses: list[DeviceStatus] | None = Field(default=None, max_length=3)


class DeviceStore(FlowModel):
    name: str
    storeUid: str
    organizationUid: str


class DeviceTill(FlowModel):
    tillUid: str
    name: str
    tillNumber: int


class DeviceResponse(FlowModel):
    """``DeviceResponseSchema``.  ``deviceLinkCode`` is shown once: on create and on reset."""

    createdAt: datetime
    createdBy: str
    deviceUid: str
    identifier: str
    lastModifiedAt: datetime
    lastModifiedBy: str
    lastActivityAt: datetime | None
    lastTenantUserUid: str
    name: str
    systemInformation: str
    status: DeviceStatus
    store: DeviceStore | None
    deviceLinkCode: str
    lastOrderUid: str
    till: DeviceTill | None
    appCode: AppCode
    settings: list[GeneralParameter]
    printers: list[DevicePrinter]

    @classmethod
    def of(
        cls, details: DeviceDetails | ListedDetails, tenant_uid: str, link_code: str | None = None
    ) -> DeviceResponse:
        return cls(**cls.fields(details, tenant_uid, link_code))

    @staticmethod
    def fields(
        details: DeviceDetails | ListedDetails, tenant_uid: str, link_code: str | None = None
    ) -> dict[str, Any]:
        """The answer's fields, in order, as plain values (nested objects as dicts)."""
        device, store, till = details.device, details.store, details.till
        return {
            "createdAt": device.created_at,
            "createdBy": device.created_by,
            "deviceUid": device.uid,
            "identifier": device.identifier or "",
            "lastModifiedAt": device.last_modified_at,
            "lastModifiedBy": device.last_modified_by,
            "lastActivityAt": device.last_activity_at,
            "lastTenantUserUid": device.last_tenant_user_uid,
            "name": device.name,
            "systemInformation": device.system_information,
            "status": device.status,
            "store": None
            if store is None
            else {
                "name": store.name,
                "storeUid": store.uid,
                "organizationUid": store.organization_uid or tenant_uid,
            },
            "deviceLinkCode": link_code or "",
            "lastOrderUid": device.last_order_uid,
            "till": None
            if till is None
            else {"tillUid": till.uid, "name": till.name, "tillNumber": till.number},
            "appCode": device.app_code,
            "settings": [GeneralParameter.of(s).model_dump(mode="json") for s in details.settings],
            "printers": [DevicePrinter.of(p).model_dump(mode="json") for p in details.printers],
        }


class DevicePaging(Paging):
    """Flow's ``Paging`` and, beside it, the cursor of the next page."""

    nextCursor: str | None = Field(
        default=None,
        exclude_if=lambda cursor: cursor is None,
        description="Pass as `cursor` for the next page, at the same cost however deep it is; "
        "absent on the last page",
    )


class DeviceList(FlowModel):
    items: list[DeviceResponse]
    paging: DevicePaging

    @staticmethod
    def json_of(
        page: Page[ListedDetails], tenant_uid: str, next_cursor: str | None = None
    ) -> bytes:
        """``DeviceList.of(…).model_dump_json()``, the same JSON, without building and checking a
        model per device: a page's values come from the database, typed by its columns."""
        paging: dict[str, Any] = {
            "pageNumber": page.page_number,
            "pageSize": page.page_size,
            "totalCount": page.total_count,
        }
        if next_cursor is not None:
            paging["nextCursor"] = next_cursor
        items = [DeviceResponse.fields(d, tenant_uid) for d in page.items]
        return orjson.dumps({"items": items, "paging": paging}, option=orjson.OPT_UTC_Z)

    @classmethod
    def of(
        cls, page: Page[ListedDetails], tenant_uid: str, next_cursor: str | None = None
    ) -> DeviceList:
        return cls(
            items=[DeviceResponse.of(d, tenant_uid) for d in page.items],
            paging=DevicePaging(
                pageNumber=page.page_number,
                pageSize=page.page_size,
                totalCount=page.total_count,
                nextCursor=next_cursor,
            ),
        )
