"""A tenant with a store, a till, users, a registered app and a device waiting to be linked,
arranged through the real services; and the spec's schemas to check bodies against."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

import httpx
import jsonschema_rs
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.devices.service import DeviceService
from posfleet.models import Device, RegisteredApp, Store, Tenant, TenantUser, Till
from posfleet.models.enums import (
    AccountType,
    AppCode,
    DenominationMaterial,
    PaymentCode,
    ReasonKind,
    SettingType,
)
from posfleet.runtime import Runtime
from posfleet.tenants.payments import PaymentCatalogService, PaymentMethodFields
from posfleet.tenants.reasons import DenominationFields, ReasonFields, ReasonService
from posfleet.tenants.setting_definitions import SettingDefinitionFields, SettingDefinitionService
from tests import factories
from tests.contract import FLOW_SPEC

PASSWORD = "correct horse battery"
SPEC = FLOW_SPEC


@dataclass
class World:
    tenant: Tenant
    store: Store
    till: Till | None
    app: RegisteredApp
    full_user: TenantUser
    regular_user: TenantUser
    device: Device
    code: str


async def world(
    session: AsyncSession,
    runtime: Runtime,
    *,
    app_code: AppCode = AppCode.CLIENT,
    device_app_code: AppCode | None = None,
    with_till: bool = True,
    with_store: bool = True,
) -> World:
    """Everything a device needs, committed; the device is READY_TO_LINK with ``code``."""
    payments, reasons = PaymentCatalogService(session), ReasonService(session)
    tenant = await factories.tenant(
        session,
        settings={"autoLogout": 300, "autoPrintReceipt": True},
        extensions=[{"extensionCode": "VIPPS", "name": "Vipps", "active": True}],
    )
    store = await factories.store(session, tenant)
    till = await factories.till(session, store) if with_till else None
    for position, code in ((2, PaymentCode.VIPPS), (0, PaymentCode.CASH), (1, PaymentCode.INVOICE)):
        await payments.create_payment_method(
            tenant.id,
            store.uid,
            PaymentMethodFields(code=code, name=code.title(), position=position),
        )
    await payments.create_payment_method(
        tenant.id,
        store.uid,
        PaymentMethodFields(
            code=PaymentCode.EXTERNAL, name="Zero", is_zero_amount=True, position=9
        ),
    )
    for kind, code in ((ReasonKind.DISCOUNT, "STAFF"), (ReasonKind.RETURN, "DAMAGED")):
        await reasons.create_reason(tenant.id, ReasonFields(kind=kind, code=code, position=1))
    await reasons.add_denomination(
        tenant.id, DenominationFields(denomination=2000, material=DenominationMaterial.NOTE)
    )
    await SettingDefinitionService(session).define_setting(
        tenant.id,
        SettingDefinitionFields(
            key="scale", name="Scale", type=SettingType.BOOL, default_value="false"
        ),
    )
    printer = await factories.printer(session, tenant)
    app = await factories.registered_app(session, app_code)
    full_user = await factories.user(session, tenant, stores=[store], password=PASSWORD)
    regular_user = await factories.user(
        session, tenant, stores=[store], account_type=AccountType.REGULAR, password=PASSWORD
    )
    device, code = await DeviceService(session, runtime).create(
        tenant.id,
        name="Front till",
        app_code=device_app_code or app_code,
        actor="admin",
        store_uid=store.uid if with_store else None,
        till_uid=till.uid if till else None,
        printer_uids=[printer.uid],
        settings=[("scale", "true")],
    )
    await session.commit()
    return World(tenant, store, till, app, full_user, regular_user, device, code)


def link_body(w: World, **overrides: Any) -> dict[str, Any]:
    return {
        "appId": w.app.app_id,
        "userCode": w.full_user.user_code,
        "password": PASSWORD,
        "systemInformation": "Linux till-01 6.1.0 x86_64",
        **overrides,
    }


async def link(client: httpx.AsyncClient, w: World, **overrides: Any) -> dict[str, Any]:
    response = await client.post(f"/v2/device/{w.code}/link", json=link_body(w, **overrides))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_generic_error(body: dict[str, Any], code: str) -> None:
    assert set(body) >= {"code", "message", "logId"}
    assert body["code"] == code, body
    assert body["message"]


def _nullable(node: Any) -> Any:
    if isinstance(node, dict):
        node = {k: _nullable(v) for k, v in node.items()}
        if node.pop("nullable", False) and "type" in node:
            node["type"] = [node["type"], "null"]
        return node
    if isinstance(node, list):
        return [_nullable(v) for v in node]
    return node


@cache
def _spec() -> dict[str, Any]:
    spec: dict[str, Any] = _nullable(json.loads(SPEC.read_text()))
    return spec


def schema_errors(schema_name: str, instance: Any) -> list[str]:
    """Why ``instance`` does not satisfy the spec's ``components.schemas[schema_name]``."""
    root = {**_spec(), "$ref": f"#/components/schemas/{schema_name}"}
    validator = jsonschema_rs.Draft7Validator(root, validate_formats=True)
    return [f"{e.instance_path}: {e.message}" for e in validator.iter_errors(instance)]
