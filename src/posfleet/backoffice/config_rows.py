"""Changing and removing what the Configuration page lists: device setting definitions and
discount and return reasons (edited and deleted), currency denominations (deleted: a coin or
note is only its value, so another one is added instead of changing it).

Each change goes through the tenant service the admin API uses (``PUT`` and ``DELETE`` under
``/v2/tenants/{tenantUid}/…``), with the same field models, so a value is refused here exactly
when the API refuses it.  A setting key or reason code may hold any character but a space at
its ends, so rows are named in the query string and the form, not in the path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import Form, Query, Request
from starlette.responses import Response

from posfleet.backoffice.forms import attempt, checked
from posfleet.backoffice.web import (
    PREFIX,
    CsrfChecked,
    SignedIn,
    SignedInReader,
    Staff,
    confirm_page,
    page_router,
    redirect,
    render,
)
from posfleet.http import DbSession, ReadSession
from posfleet.models import DeviceSettingDefinition, Reason
from posfleet.models.enums import DenominationMaterial, ReasonKind, SettingType
from posfleet.tenants.reasons import ReasonFields, ReasonService
from posfleet.tenants.setting_definitions import (
    SettingDefinitionFields,
    SettingDefinitionService,
)

router = page_router()

CONFIGURATION = f"{PREFIX}/configuration"
SettingKey = Annotated[str, Query(min_length=1, max_length=100)]
SettingKeyField = Annotated[str, Form(min_length=1, max_length=100)]
Kind = Annotated[ReasonKind, Query()]
KindField = Annotated[ReasonKind, Form()]
Code = Annotated[str, Query(min_length=1, max_length=64)]
CodeField = Annotated[str, Form(min_length=1, max_length=64)]
SETTING_FIELDS = ("name", "type", "allowed_values", "default_value", "validation_regex")


# Device setting definitions -----------------------------------------------------------------


def _setting_given(definition: DeviceSettingDefinition) -> dict[str, Any]:
    return {
        "name": definition.name,
        "type": definition.type.value,
        "allowed_values": ", ".join(definition.allowed_values),
        "default_value": definition.default_value,
        "validation_regex": definition.validation_regex,
        "required": definition.required,
    }


async def _setting_page(
    request: Request,
    staff: Staff,
    definition: DeviceSettingDefinition,
    form: Mapping[str, Any],
    status_code: int = 200,
) -> Response:
    context = {
        "definition": definition,
        "setting_types": list(SettingType),
        "forms": {"setting": form},
    }
    return render(
        request, "configuration/setting.html", context, staff=staff, status_code=status_code
    )


@router.get("/configuration/settings/edit")
async def edit_setting(
    request: Request, key: SettingKey, staff: SignedInReader, db: ReadSession
) -> Response:
    staff.require_tenant_admin()
    found = await SettingDefinitionService(db).get_setting_definition(staff.tenant.id, key)
    return await _setting_page(request, staff, found, {"given": _setting_given(found)})


@router.post("/configuration/settings/edit")
async def save_setting(
    request: Request, key: SettingKeyField, _: CsrfChecked, staff: SignedIn, db: DbSession
) -> Response:
    staff.require_tenant_admin()
    service = SettingDefinitionService(db)
    definition = await service.get_setting_definition(staff.tenant.id, key)
    form = await request.form()
    values: dict[str, Any] = {k: str(form.get(k, "")) for k in SETTING_FIELDS}
    values["required"] = form.get("required") == "on"

    async def work() -> None:
        allowed = [v.strip() for v in values["allowed_values"].split(",") if v.strip()]
        fields = checked(SettingDefinitionFields, {**values, "allowed_values": allowed})
        await service.update_setting_definition(staff.tenant.id, key, fields)

    errors = await attempt(db, work)
    if errors is None:
        return redirect(request, CONFIGURATION, flash=f"Setting {key} saved.")
    await db.refresh(definition)
    return await _setting_page(
        request, staff, definition, {"given": values, "errors": errors}, status_code=400
    )


@router.get("/configuration/settings/delete")
async def confirm_delete_setting(
    request: Request, key: SettingKey, staff: SignedInReader, db: ReadSession
) -> Response:
    staff.require_tenant_admin()
    found = await SettingDefinitionService(db).get_setting_definition(staff.tenant.id, key)
    return confirm_page(
        request,
        staff,
        heading=f"Delete the setting {found.name}?",
        text=f"The setting {found.key} is removed from every device's Edit form, and the values "
        "devices have for it are no longer shown or sent to them.",
        action=f"{CONFIGURATION}/settings/delete",
        fields={"key": found.key},
        button="Delete the setting",
        back=CONFIGURATION,
    )


@router.post("/configuration/settings/delete")
async def delete_setting(
    request: Request, key: SettingKeyField, _: CsrfChecked, staff: SignedIn, db: DbSession
) -> Response:
    staff.require_tenant_admin()
    await SettingDefinitionService(db).delete_setting_definition(staff.tenant.id, key)
    return redirect(request, CONFIGURATION, flash=f"Setting {key} deleted.")


# Reasons ------------------------------------------------------------------------------------


async def _reason_page(
    request: Request, staff: Staff, reason: Reason, form: Mapping[str, Any], status_code: int = 200
) -> Response:
    context = {"reason": reason, "forms": {"reason": form}}
    return render(
        request, "configuration/reason.html", context, staff=staff, status_code=status_code
    )


@router.get("/configuration/reasons/edit")
async def edit_reason(
    request: Request, kind: Kind, code: Code, staff: SignedInReader, db: ReadSession
) -> Response:
    staff.require_tenant_admin()
    reason = await ReasonService(db).get_reason(staff.tenant.id, kind, code)
    given = {"description": reason.description, "position": str(reason.position)}
    return await _reason_page(request, staff, reason, {"given": given})


@router.post("/configuration/reasons/edit")
async def save_reason(
    request: Request,
    kind: KindField,
    code: CodeField,
    _: CsrfChecked,
    staff: SignedIn,
    db: DbSession,
) -> Response:
    staff.require_tenant_admin()
    service = ReasonService(db)
    reason = await service.get_reason(staff.tenant.id, kind, code)
    form = await request.form()
    values = {k: str(form.get(k, "")) for k in ("description", "position")}

    async def work() -> None:
        given = {**values, "position": values["position"].strip() or "0"}
        await service.update_reason(staff.tenant.id, kind, code, checked(ReasonFields, given))

    errors = await attempt(db, work)
    if errors is None:
        return redirect(request, CONFIGURATION, flash=f"Reason {code} saved.")
    await db.refresh(reason)
    return await _reason_page(
        request, staff, reason, {"given": values, "errors": errors}, status_code=400
    )


@router.get("/configuration/reasons/delete")
async def confirm_delete_reason(
    request: Request, kind: Kind, code: Code, staff: SignedInReader, db: ReadSession
) -> Response:
    staff.require_tenant_admin()
    reason = await ReasonService(db).get_reason(staff.tenant.id, kind, code)
    return confirm_page(
        request,
        staff,
        heading=f"Delete the {reason.kind.value.lower()} reason {reason.code}?",
        text="Tills no longer offer it from their next DeviceInfo on.",
        action=f"{CONFIGURATION}/reasons/delete",
        fields={"kind": reason.kind.value, "code": reason.code},
        button="Delete the reason",
        back=CONFIGURATION,
    )


@router.post("/configuration/reasons/delete")
async def delete_reason(
    request: Request,
    kind: KindField,
    code: CodeField,
    _: CsrfChecked,
    staff: SignedIn,
    db: DbSession,
) -> Response:
    staff.require_tenant_admin()
    await ReasonService(db).delete_reason(staff.tenant.id, kind, code)
    return redirect(request, CONFIGURATION, flash=f"Reason {code} deleted.")


# Currency denominations ---------------------------------------------------------------------

Currency = Annotated[str, Query(pattern=r"^[A-Z]{3}$")]
CurrencyField = Annotated[str, Form(pattern=r"^[A-Z]{3}$")]
Material = Annotated[DenominationMaterial, Query()]
MaterialField = Annotated[DenominationMaterial, Form()]
Amount = Annotated[int, Query(ge=1, le=10**12)]
AmountField = Annotated[int, Form(ge=1, le=10**12)]


@router.get("/configuration/denominations/delete")
async def confirm_delete_denomination(
    request: Request,
    currency: Currency,
    material: Material,
    denomination: Amount,
    staff: SignedInReader,
    db: ReadSession,
) -> Response:
    staff.require_tenant_admin()
    found = await ReasonService(db).get_denomination(
        staff.tenant.id, denomination, material, currency
    )
    name = f"{found.currency_code} {found.material.value.lower()} {found.denomination}"
    return confirm_page(
        request,
        staff,
        heading=f"Delete the {name}?",
        text="Tills no longer count it when they are settled, from their next DeviceInfo on.",
        action=f"{CONFIGURATION}/denominations/delete",
        fields={
            "currency": found.currency_code,
            "material": found.material.value,
            "denomination": str(found.denomination),
        },
        button="Delete the denomination",
        back=CONFIGURATION,
    )


@router.post("/configuration/denominations/delete")
async def delete_denomination(
    request: Request,
    currency: CurrencyField,
    material: MaterialField,
    denomination: AmountField,
    _: CsrfChecked,
    staff: SignedIn,
    db: DbSession,
) -> Response:
    staff.require_tenant_admin()
    await ReasonService(db).delete_denomination(staff.tenant.id, denomination, material, currency)
    name = f"{currency} {material.value.lower()} {denomination}"
    return redirect(request, CONFIGURATION, flash=f"The {name} is deleted.")
