"""``posfleet`` commands that set up a tenant by hand: tenants, stores, tills, users, apps,
device-flow clients, and a table of the fleet.

Kept apart from ``cli.py`` (serve, migrate, keys, demo) so that each stays short; every command
parses, opens one unit of work, calls a domain service and prints.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.apps.service import AppFields, AppRegistryService
from posfleet.db import session_scope
from posfleet.devices.search import DeviceSearchService
from posfleet.models.enums import AccountType, AppCode, PaymentTerminal
from posfleet.runtime import Runtime
from posfleet.tenants.service import TenantFields, TenantService
from posfleet.tenants.stores import StoreFields, StoreService, TillFields
from posfleet.users.service import TENANT_ADMIN, UserService

T = TypeVar("T")

tenant_app = typer.Typer(help="Tenants (retailers).", no_args_is_help=True)
store_app = typer.Typer(help="Stores of a tenant.", no_args_is_help=True)
till_app = typer.Typer(help="Tills of a store.", no_args_is_help=True)
user_app = typer.Typer(help="Users of a tenant.", no_args_is_help=True)
app_app = typer.Typer(help="POS apps allowed to link devices (Flow appId).", no_args_is_help=True)
client_app = typer.Typer(help="Device-flow clients (Flow clientId).", no_args_is_help=True)
devices_app = typer.Typer(help="Devices of a tenant.", no_args_is_help=True)

GROUPS = {
    "tenant": tenant_app,
    "store": store_app,
    "till": till_app,
    "user": user_app,
    "app": app_app,
    "client": client_app,
    "devices": devices_app,
}

TenantArg = Annotated[str, typer.Argument(help="The tenant's UID")]
UidOpt = Annotated[str | None, typer.Option(help="UID to give it (default: a random one)")]


def in_unit_of_work(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work`` in one committed unit of work; errors become one line (``cli.run_async``)."""
    from posfleet.cli import run_async

    async def run(runtime: Runtime) -> T:
        async with session_scope(runtime.sessionmaker) as session:
            return await work(session)

    return run_async(run)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(h) for h in headers], *[["" if c is None else str(c) for c in r] for r in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


@tenant_app.command("create")
def tenant_create(
    name: Annotated[str, typer.Argument(help="Company name, e.g. 'Nordlys Sport AS'")],
    uid: UidOpt = None,
    country: Annotated[str, typer.Option(help="ISO 3166-1 alpha-2")] = "NO",
    currency: Annotated[str, typer.Option(help="ISO 4217")] = "NOK",
    language: Annotated[str, typer.Option(help="ISO 639-1")] = "nb",
    timezone: Annotated[str, typer.Option(help="tz database name")] = "Europe/Oslo",
    vat_number: Annotated[str, typer.Option(help="VAT number")] = "",
) -> None:
    """Create a tenant."""

    async def work(session: AsyncSession) -> str:
        tenant = await TenantService(session).create_tenant(
            TenantFields(
                name=name,
                country_code=country.upper(),
                currency_code=currency.upper(),
                language_code=language.lower(),
                timezone=timezone,
                vat_number=vat_number,
            ),
            uid=uid,
        )
        return tenant.uid

    typer.echo(f"Created tenant {in_unit_of_work(work)}")


@tenant_app.command("list")
def tenant_list() -> None:
    """List every tenant."""

    async def work(session: AsyncSession) -> list[tuple[str, ...]]:
        return [
            (t.uid, t.name, t.country_code, t.currency_code)
            for t in await TenantService(session).list_tenants()
        ]

    typer.echo(table(["UID", "NAME", "COUNTRY", "CURRENCY"], in_unit_of_work(work)))


@store_app.command("create")
def store_create(
    tenant_uid: TenantArg,
    name: Annotated[str, typer.Argument(help="Store name")],
    uid: UidOpt = None,
    address: str = "",
    postal_code: str = "",
    city: str = "",
    email: str = "",
    phone: str = "",
) -> None:
    """Create a store of a tenant."""

    async def work(session: AsyncSession) -> str:
        tenant = await TenantService(session).get_tenant(tenant_uid)
        store = await StoreService(session).create_store(
            tenant.id,
            StoreFields(
                name=name,
                address=address,
                postal_code=postal_code,
                city=city,
                email=email,
                phone=phone,
            ),
            uid=uid,
        )
        return store.uid

    typer.echo(f"Created store {in_unit_of_work(work)}")


@till_app.command("create")
def till_create(
    tenant_uid: TenantArg,
    store_uid: Annotated[str, typer.Argument(help="The store's UID")],
    number: Annotated[int, typer.Argument(help="Till number, unique in the store")],
    name: Annotated[str, typer.Option(help="Default: 'Till <number>'")] = "",
    uid: UidOpt = None,
    payment_terminal: Annotated[
        PaymentTerminal, typer.Option(case_sensitive=False)
    ] = PaymentTerminal.NONE,
) -> None:
    """Create a till in a store."""

    async def work(session: AsyncSession) -> str:
        tenant = await TenantService(session).get_tenant(tenant_uid)
        till = await StoreService(session).create_till(
            tenant.id,
            store_uid,
            TillFields(number=number, name=name, payment_terminal=payment_terminal),
            uid=uid,
        )
        return till.uid

    typer.echo(f"Created till {in_unit_of_work(work)}")


@user_app.command("create")
def user_create(
    tenant_uid: TenantArg,
    user_code: Annotated[str, typer.Argument(help="Login name, unique in the tenant")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    account_type: Annotated[AccountType, typer.Option(case_sensitive=False)] = AccountType.REGULAR,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    mobile: Annotated[str, typer.Option(help="National number, e.g. 91234567")] = "",
    country_code: Annotated[str, typer.Option(help="Mobile country code, e.g. +47")] = "",
    store: Annotated[
        list[str] | None, typer.Option(help="Store UID the user may work in (repeatable)")
    ] = None,
    all_stores: Annotated[bool, typer.Option(help="May work in every store")] = False,
    admin: Annotated[bool, typer.Option(help=f"Grant {TENANT_ADMIN} (FULL users)")] = False,
    permission: Annotated[list[str] | None, typer.Option(help="Extra permission")] = None,
    uid: UidOpt = None,
) -> None:
    """Create a user of a tenant (the password is stored as an argon2id hash only)."""
    permissions = list(permission or [])
    if admin:
        if account_type is not AccountType.FULL:
            from posfleet.cli import fail

            raise fail(f"--admin needs --account-type FULL, not {account_type}")
        permissions.append(TENANT_ADMIN)

    async def work(session: AsyncSession) -> str:
        tenant = await TenantService(session).get_tenant(tenant_uid)
        stores = [await StoreService(session).get_store(tenant.id, s) for s in store or []]
        user = await UserService(session).create(
            tenant,
            uid=uid,
            user_code=user_code,
            password=password,
            account_type=account_type,
            first_name=first_name,
            last_name=last_name,
            email=email,
            mobile=mobile,
            mobile_country_code=country_code,
            permissions=permissions,
            all_stores=all_stores,
            stores=stores,
        )
        return user.uid

    typer.echo(f"Created user {user_code} ({in_unit_of_work(work)})")


@app_app.command("register")
def app_register(
    app_id: Annotated[str, typer.Argument(help="The appId the POS app sends when it links")],
    app_code: Annotated[AppCode, typer.Option(case_sensitive=False)] = AppCode.CLIENT,
    name: str = "",
) -> None:
    """Register a POS app build; devices of its app code may link with it."""

    async def work(session: AsyncSession) -> None:
        await AppRegistryService(session).register_app(
            app_id, AppFields(name=name, app_code=app_code)
        )

    in_unit_of_work(work)
    typer.echo(f"Registered app {app_id} as {app_code}")


@app_app.command("list")
def app_list() -> None:
    """List registered POS apps."""

    async def work(session: AsyncSession) -> list[tuple[object, ...]]:
        return [
            (a.app_id, a.app_code, a.name, "yes" if a.is_active else "no")
            for a in await AppRegistryService(session).list_apps()
        ]

    typer.echo(table(["APP ID", "APP CODE", "NAME", "ACTIVE"], in_unit_of_work(work)))


@client_app.command("create")
def client_create(
    client_id: Annotated[str, typer.Argument(help="The clientId devices send")],
    app_code: Annotated[AppCode, typer.Option(case_sensitive=False)] = AppCode.CLIENT,
    name: str = "",
) -> None:
    """Allow a client to use the device authorization flow."""

    async def work(session: AsyncSession) -> None:
        await AppRegistryService(session).create_device_flow_client(
            client_id, AppFields(name=name, app_code=app_code)
        )

    in_unit_of_work(work)
    typer.echo(f"Created device-flow client {client_id} ({app_code})")


@devices_app.command("list")
def devices_list(
    tenant_uid: TenantArg,
    store: Annotated[str | None, typer.Option(help="Only this store's devices")] = None,
) -> None:
    """Show the tenant's devices as a table."""

    async def work(session: AsyncSession) -> list[tuple[object, ...]]:
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

    rows = in_unit_of_work(work)
    headers = ["UID", "NAME", "APP", "STATUS", "STORE", "TILL", "LAST ACTIVE (UTC)"]
    typer.echo(table(headers, rows))
    typer.echo(f"{len(rows)} device{'s' if len(rows) != 1 else ''}")
