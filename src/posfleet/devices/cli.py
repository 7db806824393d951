"""``posfleet devices``: a tenant's devices: list, create, show, block, unblock, reset the link
code, describe the hardware and delete.  The rules are :mod:`posfleet.devices.service`'s."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.cli_support import fail, in_unit_of_work_with_runtime, show, table
from posfleet.devices.search import DeviceSearchService
from posfleet.devices.service import DeviceService, Hardware
from posfleet.models import Device
from posfleet.models.enums import AppCode
from posfleet.runtime import Runtime
from posfleet.tenants.service import TenantService

devices_app = typer.Typer(help="Devices of a tenant.", no_args_is_help=True)

TenantArg = Annotated[str, typer.Argument(help="The tenant's UID")]
DeviceArg = Annotated[str, typer.Argument(help="The device's UID")]
ACTOR = "cli"


async def _device(session: AsyncSession, runtime: Runtime, tenant_uid: str, uid: str) -> Device:
    tenant = await TenantService(session).get_tenant(tenant_uid)
    return await DeviceService(session, runtime).get(tenant.id, uid)


@devices_app.command("list")
def devices_list(
    tenant_uid: TenantArg,
    store: Annotated[str | None, typer.Option(help="Only this store's devices")] = None,
) -> None:
    """Show the tenant's devices as a table."""

    async def work(session: AsyncSession, _runtime: Runtime) -> list[tuple[object, ...]]:
        tenant = await TenantService(session).get_tenant(tenant_uid)
        return [
            (
                d.uid,
                d.name,
                d.app_code,
                d.status,
                store_name or "-",
                till or "-",
                d.last_activity_at.strftime("%Y-%m-%d %H:%M") if d.last_activity_at else "-",
            )
            for d, store_name, till in await DeviceSearchService(session).overview(tenant.id, store)
        ]

    rows = in_unit_of_work_with_runtime(work)
    headers = ["UID", "NAME", "APP", "STATUS", "STORE", "TILL", "LAST ACTIVE (UTC)"]
    typer.echo(table(headers, rows))
    typer.echo(f"{len(rows)} device{'s' if len(rows) != 1 else ''}")


@devices_app.command("create")
def devices_create(
    tenant_uid: TenantArg,
    name: Annotated[str, typer.Argument(help="Device name, e.g. 'Till 1'")],
    app_code: Annotated[AppCode, typer.Option(case_sensitive=False)] = AppCode.CLIENT,
    store: Annotated[str | None, typer.Option(help="The store it works in")] = None,
    till: Annotated[str | None, typer.Option(help="The till it is bound to")] = None,
    printer: Annotated[list[str] | None, typer.Option(help="Printer UID (repeatable)")] = None,
    uid: Annotated[str | None, typer.Option(help="UID to give it (default: a random one)")] = None,
) -> None:
    """Create a device; prints its one-time link code (shown once, kept only hashed)."""

    async def work(session: AsyncSession, runtime: Runtime) -> tuple[str, str]:
        tenant = await TenantService(session).get_tenant(tenant_uid)
        device, code = await DeviceService(session, runtime).create(
            tenant.id,
            name=name,
            app_code=app_code,
            actor=ACTOR,
            device_uid=uid,
            store_uid=store,
            till_uid=till,
            printer_uids=printer or [],
        )
        return device.uid, code

    device_uid, code = in_unit_of_work_with_runtime(work)
    typer.echo(f"Created device {device_uid}; link code {code}")


@devices_app.command("show")
def devices_show(tenant_uid: TenantArg, device_uid: DeviceArg) -> None:
    """Show a device with its store, till, printers and settings."""

    async def work(session: AsyncSession, runtime: Runtime) -> dict[str, object]:
        device = await _device(session, runtime, tenant_uid, device_uid)
        d = await DeviceService(session, runtime).details(device)
        return {
            "uid": device.uid,
            "name": device.name,
            "appCode": device.app_code,
            "status": device.status,
            "store": d.store.uid if d.store else "-",
            "till": d.till.uid if d.till else "-",
            "printers": [p.uid for p in d.printers],
            "settings": {s.key: s.value for s in d.settings},
            "vendor": device.vendor,
            "modelNumber": device.model_number,
            "macAddress": device.mac_address or "",
            "externalDeviceId": device.external_device_id,
            "systemInformation": device.system_information,
        }

    typer.echo(show(in_unit_of_work_with_runtime(work)))


@devices_app.command("block")
def devices_block(tenant_uid: TenantArg, device_uid: DeviceArg) -> None:
    """Refuse every token of an active device from its next request on."""

    async def work(session: AsyncSession, runtime: Runtime) -> None:
        device = await _device(session, runtime, tenant_uid, device_uid)
        await DeviceService(session, runtime).block(device, ACTOR)

    in_unit_of_work_with_runtime(work)
    typer.echo(f"Blocked device {device_uid}")


@devices_app.command("unblock")
def devices_unblock(tenant_uid: TenantArg, device_uid: DeviceArg) -> None:
    """Let a blocked device's link work again."""

    async def work(session: AsyncSession, runtime: Runtime) -> None:
        device = await _device(session, runtime, tenant_uid, device_uid)
        await DeviceService(session, runtime).unblock(device, ACTOR)

    in_unit_of_work_with_runtime(work)
    typer.echo(f"Unblocked device {device_uid}")


@devices_app.command("reset-code")
def devices_reset_code(tenant_uid: TenantArg, device_uid: DeviceArg) -> None:
    """Unlink the device and print a new one-time link code; its old credentials die."""

    async def work(session: AsyncSession, runtime: Runtime) -> str:
        device = await _device(session, runtime, tenant_uid, device_uid)
        return await DeviceService(session, runtime).reset_link(device, ACTOR)

    typer.echo(
        f"Device {device_uid} is ready to link; link code {in_unit_of_work_with_runtime(work)}"
    )


@devices_app.command("hardware")
def devices_hardware(
    tenant_uid: TenantArg,
    device_uid: DeviceArg,
    vendor: str | None = None,
    model_number: str | None = None,
    mac_address: Annotated[str | None, typer.Option(help="e.g. 00:1A:2B:3C:4D:5E")] = None,
    external_id: str | None = None,
) -> None:
    """Set the device's vendor facts given; leave the others."""

    async def work(session: AsyncSession, runtime: Runtime) -> None:
        device = await _device(session, runtime, tenant_uid, device_uid)
        hardware = Hardware(
            vendor=vendor,
            model_number=model_number,
            mac_address=mac_address,
            external_device_id=external_id,
        )
        await DeviceService(session, runtime).describe_hardware(device, hardware, ACTOR)

    in_unit_of_work_with_runtime(work)
    typer.echo(f"Updated the hardware of device {device_uid}")


@devices_app.command("delete")
def devices_delete(
    tenant_uid: TenantArg,
    device_uid: DeviceArg,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm the deletion")] = False,
) -> None:
    """Delete a device; its credentials die, its audit trail stays."""
    if not yes:
        raise fail(f"deleting device {device_uid} cannot be undone: add --yes to confirm")

    async def work(session: AsyncSession, runtime: Runtime) -> None:
        device = await _device(session, runtime, tenant_uid, device_uid)
        await DeviceService(session, runtime).delete(device, ACTOR)

    in_unit_of_work_with_runtime(work)
    typer.echo(f"Deleted device {device_uid}")
