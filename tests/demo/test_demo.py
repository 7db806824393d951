"""``posfleet demo``: a believable retailer, the same rows on every run, fresh live codes."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, inspect, select, text

from posfleet.app import create_app
from posfleet.config import Settings
from posfleet.db import session_scope
from posfleet.kit.hashing import verify_password
from posfleet.models import (
    ApiKey,
    Base,
    CurrencyDenomination,
    Device,
    DeviceFlowClient,
    LinkCode,
    PairingCode,
    Printer,
    Reason,
    RegisteredApp,
    Store,
    StorePaymentMethod,
    Tenant,
    TenantUser,
    Till,
)
from posfleet.models.enums import AccountType, CodeState, DeviceStatus, PrinterType
from posfleet.runtime import Runtime
from posfleet.users.service import UserService, is_tenant_admin
from tests.conftest import TEST_SECRET
from tests.support.cli import empty_database, posfleet
from tests.support.clients import asgi_transport
from tests.support.postgres import PostgresServer

MANIFEST_SHAPE = {
    "baseUrl": str,
    "flow": {
        "tenantUid": str,
        "storeUid": str,
        "otherStoreUid": str,
        "tillUid": str,
        "admin": {"userCode": str, "password": str},
        "cashier": {"userCode": str, "password": str},
        "apps": {"CLIENT": str, "ASSISTANT": str},
        "clientId": str,
        "readyDevice": {"deviceUid": str, "deviceLinkCode": str},
        "otherTenant": {"tenantUid": str, "admin": {"userCode": str, "password": str}},
    },
    "commerce": {
        "storeId": str,
        "apiKey": str,
        "locationId": str,
        "user": {"email": str, "phone": str, "country_code": str},
        "deviceId": str,
        "pairingCode": str,
    },
}

# Tables a second run adds to: the refreshed link code, pairing code and API key (old ones are
# kept, revoked) and the audit lines saying so.
REFRESHED = {"link_codes", "pairing_codes", "api_keys", "audit_events"}
LIVE_CODES = (("flow", "readyDevice", "deviceLinkCode"), ("commerce", "pairingCode"))


def assert_shape(value: Any, shape: Any, path: str = "manifest") -> None:
    if isinstance(shape, dict):
        assert isinstance(value, dict), path
        assert set(value) == set(shape), f"{path}: {sorted(value)} != {sorted(shape)}"
        for key, inner in shape.items():
            assert_shape(value[key], inner, f"{path}.{key}")
    else:
        assert isinstance(value, shape), f"{path} is {type(value).__name__}"


def run_demo(url: str, manifest: Path) -> dict[str, Any]:
    result = posfleet(url, "demo", "--manifest", str(manifest))
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    loaded: dict[str, Any] = json.loads(manifest.read_text())
    return loaded


def row_counts(url: str) -> dict[str, int]:
    async def count() -> dict[str, int]:
        runtime = Runtime.create(Settings(database_url=url, secret_key=TEST_SECRET))
        try:
            async with runtime.engine.connect() as conn:
                names = await conn.run_sync(lambda c: inspect(c).get_table_names())
                counts = {}
                # Only the model's tables: an engine's own bookkeeping (SQLite FTS shadow
                # tables) changes with every write and says nothing about the demo's rows.
                for name in sorted(set(names) & set(Base.metadata.tables)):
                    query = text(f'SELECT count(*) FROM "{name}"')  # noqa: S608 (names from the model)
                    counts[name] = int((await conn.execute(query)).scalar() or 0)
                return counts
        finally:
            await runtime.close()

    return asyncio.run(count())


async def check_the_manifest_against_the_database(url: str, manifest: dict[str, Any]) -> None:
    runtime = Runtime.create(Settings(database_url=url, secret_key=TEST_SECRET))
    try:
        async with session_scope(runtime.sessionmaker) as session:
            flow = manifest["flow"]

            async def one(model: type[Any], *where: Any) -> Any:
                return (await session.scalars(select(model).where(*where))).one()

            async def number(model: type[Any], *where: Any) -> int:
                return int(
                    await session.scalar(select(func.count()).select_from(model).where(*where)) or 0
                )

            tenant = await one(Tenant, Tenant.uid == flow["tenantUid"])
            assert (tenant.currency_code, tenant.country_code) == ("NOK", "NO")
            assert await number(CurrencyDenomination, CurrencyDenomination.tenant_id == tenant.id)
            store = await one(Store, Store.tenant_id == tenant.id, Store.uid == flow["storeUid"])
            assert store.address
            assert store.opening_hours["monday"]
            other_store = await one(
                Store, Store.tenant_id == tenant.id, Store.uid == flow["otherStoreUid"]
            )
            assert other_store.id != store.id
            assert await number(Store, Store.tenant_id == tenant.id) == 3
            till = await one(Till, Till.tenant_id == tenant.id, Till.uid == flow["tillUid"])
            assert till.store_id == store.id
            assert await number(Device, Device.till_id == till.id) == 0, "tillUid must be free"

            users = UserService(session)
            admin = await users.find_by_user_code(tenant, flow["admin"]["userCode"])
            assert admin is not None
            assert is_tenant_admin(admin)
            assert await verify_password(admin.password_hash, flow["admin"]["password"])
            cashier = await users.find_by_user_code(tenant, flow["cashier"]["userCode"])
            assert cashier is not None
            assert cashier.account_type is AccountType.REGULAR
            assert await users.has_store_access(cashier, store)
            assert await verify_password(cashier.password_hash, flow["cashier"]["password"])
            kinds = set(await session.scalars(
                select(TenantUser.account_type).where(TenantUser.tenant_id == tenant.id)
            ))  # fmt: skip
            assert {AccountType.FULL, AccountType.REGULAR, AccountType.INTEGRATION} <= kinds
            in_tenant = TenantUser.tenant_id == tenant.id
            assert await number(TenantUser, in_tenant, TenantUser.email == "") == 0
            assert (
                await number(
                    TenantUser,
                    TenantUser.tenant_id == tenant.id,
                    TenantUser.account_type != AccountType.INTEGRATION,
                    TenantUser.mobile == "",
                )
                == 0
            )

            for code, app_id in flow["apps"].items():
                assert (await one(RegisteredApp, RegisteredApp.app_id == app_id)).app_code == code
            await one(DeviceFlowClient, DeviceFlowClient.client_id == flow["clientId"])

            ready = await one(
                Device,
                Device.tenant_id == tenant.id,
                Device.uid == flow["readyDevice"]["deviceUid"],
            )
            assert ready.status is DeviceStatus.READY_TO_LINK
            assert ready.store_id == store.id
            live = await one(
                LinkCode, LinkCode.device_id == ready.id, LinkCode.state == CodeState.LIVE
            )
            assert runtime.hasher.matches(flow["readyDevice"]["deviceLinkCode"], live.code_hash)
            statuses = set(await session.scalars(
                select(Device.status).where(Device.tenant_id == tenant.id)
            ))  # fmt: skip
            assert statuses == set(DeviceStatus)

            assert await number(
                StorePaymentMethod,
                StorePaymentMethod.store_id == store.id,
                StorePaymentMethod.is_zero_amount,
            ) == 1  # fmt: skip
            printer_types = set(await session.scalars(
                select(Printer.type).where(Printer.store_id == store.id)
            ))  # fmt: skip
            assert {PrinterType.RECEIPT, PrinterType.LABEL} <= printer_types
            assert {r.kind for r in await session.scalars(
                select(Reason).where(Reason.tenant_id == tenant.id)
            )} == {"DISCOUNT", "RETURN"}  # fmt: skip

            other = await one(Tenant, Tenant.uid == flow["otherTenant"]["tenantUid"])
            assert other.id != tenant.id
            other_admin = await users.find_by_user_code(
                other, flow["otherTenant"]["admin"]["userCode"]
            )
            assert other_admin is not None
            assert is_tenant_admin(other_admin)
            assert await users.find_by_user_code(tenant, other_admin.user_code) is None

            commerce = manifest["commerce"]
            assert commerce["storeId"] == tenant.uid
            assert commerce["locationId"] == store.uid
            by_email = await users.find_by_email(tenant, commerce["user"]["email"])
            by_phone = await users.find_by_mobile(
                tenant, commerce["user"]["phone"], commerce["user"]["country_code"]
            )
            assert by_email is not None
            assert by_email == by_phone
            assert await users.has_store_access(by_email, store)
            device = await one(
                Device, Device.tenant_id == tenant.id, Device.uid == commerce["deviceId"]
            )
            assert device.store_id == store.id
            assert device.vendor
            assert device.status is DeviceStatus.READY_TO_LINK
            pairing = await one(
                PairingCode, PairingCode.device_id == device.id, PairingCode.state == CodeState.LIVE
            )
            assert runtime.hasher.matches(commerce["pairingCode"], pairing.code_hash)
            key = await one(ApiKey, ApiKey.key_hash == runtime.hasher.hash(commerce["apiKey"]))
            assert (key.tenant_id, key.scope, key.channel) == (tenant.id, "storefront", "pos")
            assert key.revoked_at is None
            assert (
                await number(ApiKey, ApiKey.tenant_id == tenant.id, ApiKey.revoked_at.is_(None))
                == 1
            )
    finally:
        await runtime.close()


def test_the_demo_is_a_believable_retailer_and_a_second_run_keeps_its_rows(
    backend: str, pg_server: PostgresServer | None, tmp_path: Path
) -> None:
    url = empty_database(backend, pg_server, tmp_path)

    first = run_demo(url, tmp_path / "first.json")
    counts_after_first = row_counts(url)
    second = run_demo(url, tmp_path / "second.json")
    counts_after_second = row_counts(url)

    assert_shape(first, MANIFEST_SHAPE)
    assert_shape(second, MANIFEST_SHAPE)
    for table, rows in counts_after_first.items():
        if table not in REFRESHED:
            assert counts_after_second[table] == rows, table
    manifest = json.loads((tmp_path / "second.json").read_text())
    for path in (*LIVE_CODES, ("commerce", "apiKey")):
        *parents, leaf = path
        first_part, second_part = first, second
        for key in parents:
            first_part, second_part = first_part[key], second_part[key]
        assert first_part.pop(leaf) != second_part.pop(leaf), path
    assert first == second
    asyncio.run(check_the_manifest_against_the_database(url, manifest))
    asyncio.run(use_the_manifest_over_http(url, manifest))


async def use_the_manifest_over_http(url: str, manifest: dict[str, Any]) -> None:
    """The manifest's credentials work as a client would use them: a Flow link and a pairing."""
    settings = Settings(
        database_url=url, secret_key=TEST_SECRET, environment="test", log_level="warning"
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = asgi_transport(application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            flow, commerce = manifest["flow"], manifest["commerce"]
            linked = await client.post(
                f"/v2/device/{flow['readyDevice']['deviceLinkCode']}/link",
                json={
                    "appId": flow["apps"]["CLIENT"],
                    "userCode": flow["admin"]["userCode"],
                    "password": flow["admin"]["password"],
                    "systemInformation": "demo test",
                },
            )
            assert linked.status_code == 200, linked.text
            assert linked.json()["token"]
            paired = await client.post(
                f"/api/v1/{commerce['storeId']}/storefront/pos/auth/pair-device",
                headers={"X-Api-Key": commerce["apiKey"]},
                json={"pairing_code": commerce["pairingCode"]},
            )
            assert paired.status_code == 200, paired.text
            assert paired.json()["content"]["device"]["id"] == commerce["deviceId"]
