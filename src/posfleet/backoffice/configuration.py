"""Tenant configuration a device reads: discount and return reasons, currency denominations,
device setting definitions (each listed and created here, changed in :mod:`.config_rows`), the
registered apps (shared by every tenant, listed only) and which device-flow clients the
tenant's users may approve (the clients themselves are shared by every tenant).  Only a tenant
administrator gets here."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from posfleet.apps.service import AppRegistryService
from posfleet.backoffice.forms import attempt, checked
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
from posfleet.deviceflow.access import ClientAccessService
from posfleet.http import DbSession, ReadSession
from posfleet.models.enums import DenominationMaterial, ReasonKind, SettingType
from posfleet.tenants.reasons import DenominationFields, ReasonFields, ReasonService
from posfleet.tenants.setting_definitions import (
    SettingDefinitionFields,
    SettingDefinitionService,
)

router = page_router()

CONFIGURATION = f"{PREFIX}/configuration"


async def _page(
    request: Request,
    staff: Staff,
    db: AsyncSession,
    *,
    forms: Mapping[str, Mapping[str, Any]] | None = None,
    status_code: int = 200,
) -> Response:
    reasons = ReasonService(db)
    apps = AppRegistryService(db)
    tenant_id = staff.tenant.id
    context = {
        "reasons": await reasons.list_reasons(tenant_id),
        "denominations": await reasons.list_denominations(tenant_id),
        "definitions": await SettingDefinitionService(db).list_setting_definitions(tenant_id),
        "apps": await apps.list_apps(),
        "client_access": await ClientAccessService(db).of_tenant(tenant_id),
        "reason_kinds": list(ReasonKind),
        "materials": list(DenominationMaterial),
        "setting_types": list(SettingType),
        "forms": forms or {},
    }
    return render(request, "configuration.html", context, staff=staff, status_code=status_code)


async def _create(
    request: Request,
    staff: Staff,
    db: AsyncSession,
    form_name: str,
    values: Mapping[str, object],
    work: Callable[[], Awaitable[object]],
    done: str,
) -> Response:
    errors = await attempt(db, work)
    if errors is None:
        return redirect(request, CONFIGURATION, flash=done)
    forms = {form_name: {"given": values, "errors": errors}}
    return await _page(request, staff, db, forms=forms, status_code=400)


@router.get("/configuration")
async def configuration(request: Request, staff: SignedInReader, db: ReadSession) -> Response:
    staff.require_tenant_admin()
    return await _page(request, staff, db)


@router.post("/configuration/reasons")
async def create_reason(
    request: Request, _: CsrfChecked, staff: SignedIn, db: DbSession
) -> Response:
    staff.require_tenant_admin()
    form = await request.form()
    values = {k: str(form.get(k, "")) for k in ("kind", "code", "description")}

    async def work() -> object:
        return await ReasonService(db).create_reason(staff.tenant.id, checked(ReasonFields, values))

    return await _create(
        request, staff, db, "reason", values, work, f"Reason {values['code'].strip()} added."
    )


@router.post("/configuration/denominations")
async def add_denomination(
    request: Request, _: CsrfChecked, staff: SignedIn, db: DbSession
) -> Response:
    staff.require_tenant_admin()
    form = await request.form()
    values = {k: str(form.get(k, "")) for k in ("denomination", "material")}

    async def work() -> object:
        fields = checked(DenominationFields, values)
        return await ReasonService(db).add_denomination(staff.tenant.id, fields)

    return await _create(request, staff, db, "denomination", values, work, "Denomination added.")


@router.post("/configuration/settings")
async def define_setting(
    request: Request, _: CsrfChecked, staff: SignedIn, db: DbSession
) -> Response:
    staff.require_tenant_admin()
    form = await request.form()
    values = {
        k: str(form.get(k, ""))
        for k in ("key", "name", "type", "allowed_values", "default_value", "validation_regex")
    }
    required = form.get("required") == "on"

    async def work() -> object:
        allowed = [v.strip() for v in values["allowed_values"].split(",") if v.strip()]
        fields = checked(
            SettingDefinitionFields,
            {**values, "allowed_values": allowed, "required": required},
        )
        return await SettingDefinitionService(db).define_setting(staff.tenant.id, fields)

    return await _create(
        request, staff, db, "setting", values, work, f"Setting {values['key'].strip()} defined."
    )


@router.post("/configuration/device-flow-clients")
async def choose_device_flow_clients(
    request: Request, _: CsrfChecked, staff: SignedIn, db: DbSession
) -> Response:
    staff.require_tenant_admin()
    form = await request.form()
    only_listed = form.get("allow") == "listed"
    chosen = [str(c) for c in form.getlist("clients")]

    async def work() -> object:
        return await ClientAccessService(db).choose(
            staff.tenant.id, only_listed=only_listed, client_ids=chosen, actor=staff.actor
        )

    done = (
        "Only the checked device-flow clients may be approved now."
        if only_listed
        else "Every active device-flow client may be approved."
    )
    values = {"allow": "listed" if only_listed else "every", "clients": chosen}
    return await _create(request, staff, db, "clients", values, work, done)
