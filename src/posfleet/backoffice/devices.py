"""Device pages: list and search, detail with the audit timeline, create, edit, and the
lifecycle actions.  Each view parses its form, calls the device services, renders."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

import segno
from fastapi import Form, Path, Query, Request
from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

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
from posfleet.delivery.service import DeliveryService
from posfleet.devices.search import DeviceQuery, DeviceSearchService
from posfleet.devices.service import DeviceChanges, DeviceService
from posfleet.errors import ValidationFailed
from posfleet.http import DbSession, ReadSession, RuntimeDep
from posfleet.kit.pagination import PageRequest
from posfleet.models.base import UID_PATTERN
from posfleet.models.enums import AppCode, DeliveryChannel, DeviceStatus
from posfleet.runtime import Runtime
from posfleet.tenants.setting_definitions import SettingDefinitionService
from posfleet.tenants.stores import StoreService

router = page_router()

DEVICES = f"{PREFIX}/devices"
PAGE_SIZE = 25
SORTS = {
    "created_at": "Created",
    "last_modified_at": "Last changed",
    "name": "Name",
    "status": "Status",
    "uid": "Device UID",
}
DeviceUid = Annotated[str, Path(pattern=UID_PATTERN, max_length=64)]
Text = Annotated[str, Query(max_length=200)]


def link_card(code: str, device_uid: str) -> Markup:
    # The QR code holds only the link code: what a device's camera would type in.
    svg = segno.make(code, error="m").svg_inline(
        scale=4, omitsize=True, title=f"Link code of {device_uid}"
    )
    return Markup(svg)  # noqa: S704  (segno writes the SVG; the code is [A-Z0-9-])


@router.get("/devices")
async def device_list(
    request: Request,
    staff: SignedInReader,
    db: ReadSession,
    q: Text = "",
    name: Text = "",
    store: Annotated[str, Query(max_length=64)] = "",
    status: Annotated[str, Query(max_length=20)] = "",
    app: Annotated[str, Query(max_length=20)] = "",
    sort: Annotated[str, Query(max_length=30)] = "created_at",
    direction: Annotated[str, Query(alias="dir", max_length=4)] = "DESC",
    page: Annotated[int, Query(ge=1, le=1_000_000_000)] = 1,
) -> Response:
    staff.require_device_management()
    errors: dict[str, str] = {}
    statuses: tuple[DeviceStatus, ...] = ()
    if status:
        if status in DeviceStatus.__members__:
            statuses = (DeviceStatus(status),)
        else:
            errors["status"] = "Choose a status from the list."
    app_code = None
    if app:
        if app in AppCode.__members__:
            app_code = AppCode(app)
        else:
            errors["app"] = "Choose an app from the list."
    query = DeviceQuery(name=name.strip(), text=q.strip(), app_code=app_code, statuses=statuses)
    try:
        paging = PageRequest.parse(
            page_number=page,
            page_size=PAGE_SIZE,
            sort_by=sort,
            sort_direction=direction,
            sortable=frozenset(SORTS),
            default_sort="created_at",
            default_size=PAGE_SIZE,
            max_size=PAGE_SIZE,
        )
    except ValidationFailed:
        errors["sort"] = "Choose a sort order from the list."
        paging = PageRequest.parse(
            page_number=page,
            page_size=PAGE_SIZE,
            sort_by="created_at",
            sort_direction="DESC",
            sortable=frozenset(SORTS),
            default_sort="created_at",
            default_size=PAGE_SIZE,
            max_size=PAGE_SIZE,
        )
    result = await DeviceSearchService(db).page(
        staff.tenant.id, query, paging, store_uid=store.strip() or None
    )
    stores = await StoreService(db).list_stores(staff.tenant.id)
    last_page = max(1, -(-result.total_count // PAGE_SIZE))
    filters = {
        "q": q,
        "name": name,
        "store": store,
        "status": status,
        "app": app,
        "sort": paging.sort_by,
        "dir": paging.sort_direction.value,
    }
    context = {
        "result": result,
        "filters": filters,
        "errors": errors,
        "stores": stores,
        "statuses": list(DeviceStatus),
        "apps": list(AppCode),
        "sorts": SORTS,
        "last_page": last_page,
    }
    if request.headers.get("HX-Request") and request.headers.get("HX-Target") == "device-results":
        return render(request, "devices/results.html", context, staff=staff)
    return render(request, "devices/list.html", context, staff=staff)


async def _form_context(db: DbSession | ReadSession, staff: Staff) -> dict[str, object]:
    stores = StoreService(db)
    return {
        "stores": await stores.list_stores(staff.tenant.id),
        "tills": await stores.list_tills(staff.tenant.id),
        "printers": await stores.list_printers(staff.tenant.id),
        "definitions": await SettingDefinitionService(db).list_setting_definitions(staff.tenant.id),
        "apps": list(AppCode),
    }


@router.get("/devices/new")
async def new_device_form(request: Request, staff: SignedInReader, db: ReadSession) -> Response:
    staff.require_device_management()
    context = await _form_context(db, staff)
    context.update(values={"app": AppCode.CLIENT.value}, errors={})
    return render(request, "devices/new.html", context, staff=staff)


@router.post("/devices/new")
async def create_device(
    request: Request,
    _: CsrfChecked,
    staff: SignedIn,
    db: DbSession,
    runtime: RuntimeDep,
    name: Annotated[str, Form(max_length=1000)] = "",
    app: Annotated[str, Form(max_length=20)] = "",
    store: Annotated[str, Form(max_length=64)] = "",
    till: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    staff.require_device_management()
    values = {"name": name, "app": app, "store": store, "till": till}
    errors: dict[str, str] = {}
    if app not in AppCode.__members__:
        errors["app"] = "Choose the app the device runs."
    if not name.strip():
        errors["name"] = "Give the device a name."
    if not errors:
        service = DeviceService(db, runtime)
        try:
            device, code = await service.create(
                staff.tenant.id,
                name=name,
                app_code=AppCode(app),
                actor=staff.actor,
                store_uid=store or None,
                till_uid=till or None,
            )
        except ValidationFailed as exc:
            errors = _field_errors(exc)
        else:
            details = await service.details(device)
            return render(
                request,
                "devices/link_code.html",
                {
                    "details": details,
                    "code": code,
                    "qr": link_card(code, device.uid),
                    "created": True,
                },
                staff=staff,
                status_code=201,
            )
    context = await _form_context(db, staff)
    context.update(values=values, errors=errors)
    return render(request, "devices/new.html", context, staff=staff, status_code=400)


@router.get("/devices/{device_uid}")
async def device_detail(
    request: Request,
    device_uid: DeviceUid,
    staff: SignedInReader,
    db: ReadSession,
    runtime: RuntimeDep,
) -> Response:
    staff.require_device_management()
    return await detail_page(request, staff, db, runtime, device_uid)


async def detail_page(
    request: Request,
    staff: Staff,
    db: AsyncSession,
    runtime: Runtime,
    device_uid: str,
    *,
    pairing: Mapping[str, object] | None = None,
    status_code: int = 200,
) -> Response:
    """The device page; ``pairing`` refills the pairing form with its values and errors."""
    service = DeviceService(db, runtime)
    device = await service.get(staff.tenant.id, device_uid)
    details = await service.details(device)
    timeline = await service.audit_trail(staff.tenant.id, device.uid)
    deliveries = await DeliveryService(db, runtime).of_device(staff.tenant.id, device.id)
    linked = next((e.created_at for e in timeline if e.action.startswith("activated")), None)
    return render(
        request,
        "devices/detail.html",
        {
            "details": details,
            "device": device,
            "online": service.is_online(device),
            "timeline": timeline,
            "linked_at": linked,
            "deliveries": deliveries,
            "channels": list(DeliveryChannel),
            "pairing": pairing or {"given": {}, "errors": {}},
        },
        staff=staff,
        status_code=status_code,
    )


@router.get("/devices/{device_uid}/edit")
async def edit_device_form(
    request: Request,
    device_uid: DeviceUid,
    staff: SignedInReader,
    db: ReadSession,
    runtime: RuntimeDep,
) -> Response:
    staff.require_device_management()
    service = DeviceService(db, runtime)
    details = await service.details(await service.get(staff.tenant.id, device_uid))
    context = await _form_context(db, staff)
    context.update(
        details=details,
        errors={},
        values={
            "name": details.device.name,
            "app": details.device.app_code.value,
            "store": details.store.uid if details.store else "",
            "till": details.till.uid if details.till else "",
            "printers": [p.uid for p in details.printers],
            "settings": {s.key: s.value for s in details.settings},
        },
    )
    return render(request, "devices/edit.html", context, staff=staff)


@router.post("/devices/{device_uid}/edit")
async def edit_device(
    request: Request,
    device_uid: DeviceUid,
    _: CsrfChecked,
    staff: SignedIn,
    db: DbSession,
    runtime: RuntimeDep,
) -> Response:
    staff.require_device_management()
    form = await request.form()
    service = DeviceService(db, runtime)
    device = await service.get(staff.tenant.id, device_uid)
    name = str(form.get("name", ""))
    app = str(form.get("app", ""))
    printers = [str(uid) for uid in form.getlist("printers")]
    # A blank field leaves its setting alone, as a PUT that does not name it (a value cannot be
    # removed, and "" is not a number, a boolean or an allowed value).
    settings = [
        (str(key).removeprefix("setting:"), str(value))
        for key, value in form.multi_items()
        if str(key).startswith("setting:") and str(value).strip()
    ]
    store = str(form.get("store", ""))
    till = str(form.get("till", ""))
    values = {
        "name": name,
        "app": app,
        "store": store,
        "till": till,
        "printers": printers,
        "settings": dict(settings),
    }
    errors: dict[str, str] = {}
    if app not in AppCode.__members__:
        errors["app"] = "Choose the app the device runs."
    if not errors:
        changes = DeviceChanges(
            name=name,
            app_code=AppCode(app),
            store_uid=store,
            till_uid=till,
            printer_uids=printers,
            settings=settings,
        )
        try:
            # The savepoint keeps a refused change from leaving half of it in the session.
            async with db.begin_nested():
                await service.update(device, changes, staff.actor)
        except ValidationFailed as exc:
            errors = _field_errors(exc)
        else:
            return redirect(request, f"{DEVICES}/{device.uid}", flash="The device was saved.")
    await db.refresh(device)
    context = await _form_context(db, staff)
    context.update(details=await service.details(device), values=values, errors=errors)
    return render(request, "devices/edit.html", context, staff=staff, status_code=400)


@router.post("/devices/{device_uid}/block")
async def block_device(
    request: Request,
    device_uid: DeviceUid,
    _: CsrfChecked,
    staff: SignedIn,
    db: DbSession,
    runtime: RuntimeDep,
) -> Response:
    staff.require_device_management()
    service = DeviceService(db, runtime)
    device = await service.get(staff.tenant.id, device_uid)
    await service.block(device, staff.actor)
    return redirect(
        request,
        f"{DEVICES}/{device.uid}",
        flash="The device is blocked: its tokens are refused from its next request on.",
    )


@router.post("/devices/{device_uid}/unblock")
async def unblock_device(
    request: Request,
    device_uid: DeviceUid,
    _: CsrfChecked,
    staff: SignedIn,
    db: DbSession,
    runtime: RuntimeDep,
) -> Response:
    staff.require_device_management()
    service = DeviceService(db, runtime)
    device = await service.get(staff.tenant.id, device_uid)
    await service.unblock(device, staff.actor)
    return redirect(request, f"{DEVICES}/{device.uid}", flash="The device is active again.")


@router.post("/devices/{device_uid}/reset")
async def reset_device(
    request: Request,
    device_uid: DeviceUid,
    _: CsrfChecked,
    staff: SignedIn,
    db: DbSession,
    runtime: RuntimeDep,
) -> Response:
    staff.require_device_management()
    service = DeviceService(db, runtime)
    device = await service.get(staff.tenant.id, device_uid)
    code = await service.reset_link(device, staff.actor)
    details = await service.details(device)
    return render(
        request,
        "devices/link_code.html",
        {"details": details, "code": code, "qr": link_card(code, device.uid), "created": False},
        staff=staff,
    )


@router.get("/devices/{device_uid}/delete")
async def confirm_delete(
    request: Request,
    device_uid: DeviceUid,
    staff: SignedInReader,
    db: ReadSession,
    runtime: RuntimeDep,
) -> Response:
    staff.require_device_management()
    device = await DeviceService(db, runtime).get(staff.tenant.id, device_uid)
    return render(request, "devices/delete.html", {"device": device}, staff=staff)


@router.post("/devices/{device_uid}/delete")
async def delete_device(
    request: Request,
    device_uid: DeviceUid,
    _: CsrfChecked,
    staff: SignedIn,
    db: DbSession,
    runtime: RuntimeDep,
) -> Response:
    staff.require_device_management()
    service = DeviceService(db, runtime)
    device = await service.get(staff.tenant.id, device_uid)
    name = device.name
    await service.delete(device, staff.actor)
    return redirect(request, DEVICES, flash=f"The device {name} was deleted.")


_FIELDS = {
    "name": "name",
    "storeUid": "store",
    "tillUid": "till",
    "printerUids": "printers",
    "appCode": "app",
}


def _field_errors(exc: ValidationFailed) -> dict[str, str]:
    """The service's per-field problems under the form's field names (settings by key)."""
    errors = {_FIELDS.get(key, key): message for key, message in exc.errors.items()}
    if not errors:
        errors["form"] = exc.message
    return errors


__all__ = ["router"]
