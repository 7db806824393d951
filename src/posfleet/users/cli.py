"""``posfleet user``: the people of a tenant.  A password is never an argument (it would show
in the process list and the shell history): it is asked for on a terminal, or read as one line
from standard input with ``--password-stdin``."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.cli_support import fail, in_unit_of_work, show, table
from posfleet.models.enums import AccountType, UserStatus
from posfleet.tenants.service import TenantService
from posfleet.tenants.stores import StoreService
from posfleet.users.passwords import MIN_LENGTH, PIN_LENGTH
from posfleet.users.service import TENANT_ADMIN, UserChanges, UserService

user_app = typer.Typer(help="Users of a tenant.", no_args_is_help=True)

TenantArg = Annotated[str, typer.Argument(help="The tenant's UID")]
UserCodeArg = Annotated[str, typer.Argument(help="The user's login name")]
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password as one line from stdin")
]
POLICY = (
    f"REGULAR users have a PIN of {PIN_LENGTH} digits; others a password of at least "
    f"{MIN_LENGTH} characters mixing letters, digits or other characters"
)


def read_password(from_stdin: bool) -> str:
    """The new password from stdin, or asked for twice on a terminal."""
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise fail("--password-stdin: standard input is empty")
        return line.rstrip("\r\n")
    if not sys.stdin.isatty():
        raise fail("no terminal to ask for the password on: pipe it in with --password-stdin")
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


@user_app.command("create", help=f"Create a user of a tenant. {POLICY}.")
def user_create(
    tenant_uid: TenantArg,
    user_code: Annotated[str, typer.Argument(help="Login name, unique in the tenant")],
    password_stdin: PasswordStdin = False,
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
    uid: Annotated[str | None, typer.Option(help="UID to give it (default: a random one)")] = None,
) -> None:
    permissions = list(permission or [])
    if admin:
        if account_type is not AccountType.FULL:
            raise fail(f"--admin needs --account-type FULL, not {account_type}")
        permissions.append(TENANT_ADMIN)
    password = read_password(password_stdin)

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


@user_app.command("list")
def user_list(tenant_uid: TenantArg) -> None:
    """List a tenant's users."""

    async def work(session: AsyncSession) -> list[tuple[object, ...]]:
        tenant = await TenantService(session).get_tenant(tenant_uid)
        return [
            (u.user_code, u.uid, u.account_type, u.status, u.display_name, u.email)
            for u in await UserService(session).list_users(tenant.id)
        ]

    headers = ["USER CODE", "UID", "TYPE", "STATUS", "NAME", "EMAIL"]
    typer.echo(table(headers, in_unit_of_work(work)))


@user_app.command("show")
def user_show(tenant_uid: TenantArg, user_code: UserCodeArg) -> None:
    """Show a user and the stores they may work in."""

    async def work(session: AsyncSession) -> dict[str, object]:
        tenant = await TenantService(session).get_tenant(tenant_uid)
        users = UserService(session)
        user = await users.find_by_user_code(tenant, user_code)
        if user is None:
            raise fail(f"no user {user_code!r} in tenant {tenant_uid!r}")
        roles = await users.store_roles(user)
        return {
            "userCode": user.user_code,
            "uid": user.uid,
            "accountType": user.account_type,
            "status": user.status,
            "firstName": user.first_name,
            "lastName": user.last_name,
            "email": user.email,
            "mobile": f"{user.mobile_country_code} {user.mobile}".strip(),
            "permissions": list(user.permissions),
            "allStores": user.all_stores,
            "stores": [f"{r.store.uid} ({r.role_name})" for r in roles],
        }

    typer.echo(show(in_unit_of_work(work)))


def _change(tenant_uid: str, user_code: str, changes: UserChanges) -> None:
    async def work(session: AsyncSession) -> None:
        tenant = await TenantService(session).get_tenant(tenant_uid)
        users = UserService(session)
        user = await users.find_by_user_code(tenant, user_code)
        if user is None:
            raise fail(f"no user {user_code!r} in tenant {tenant_uid!r}")
        await users.update(user, changes)

    in_unit_of_work(work)


@user_app.command("update")
def user_update(
    tenant_uid: TenantArg,
    user_code: UserCodeArg,
    first_name: str | None = None,
    last_name: str | None = None,
    email: str | None = None,
    mobile: str | None = None,
    country_code: str | None = None,
) -> None:
    """Change the fields given; leave the others."""
    changes = UserChanges(
        first_name=first_name,
        last_name=last_name,
        email=email,
        mobile=mobile,
        mobile_country_code=country_code,
    )
    _change(tenant_uid, user_code, changes)
    typer.echo(f"Updated user {user_code}")


@user_app.command("disable")
def user_disable(tenant_uid: TenantArg, user_code: UserCodeArg) -> None:
    """Stop the user signing in; the tokens issued to them stop working."""
    _change(tenant_uid, user_code, UserChanges(status=UserStatus.INACTIVE))
    typer.echo(f"Disabled user {user_code}")


@user_app.command("enable")
def user_enable(tenant_uid: TenantArg, user_code: UserCodeArg) -> None:
    """Let the user sign in again."""
    _change(tenant_uid, user_code, UserChanges(status=UserStatus.ACTIVE))
    typer.echo(f"Enabled user {user_code}")


@user_app.command("set-password", help=f"Set a user's password. {POLICY}.")
def user_set_password(
    tenant_uid: TenantArg, user_code: UserCodeArg, password_stdin: PasswordStdin = False
) -> None:
    password = read_password(password_stdin)

    async def work(session: AsyncSession) -> None:
        tenant = await TenantService(session).get_tenant(tenant_uid)
        users = UserService(session)
        user = await users.find_by_user_code(tenant, user_code)
        if user is None:
            raise fail(f"no user {user_code!r} in tenant {tenant_uid!r}")
        await users.set_password(user, password)

    in_unit_of_work(work)
    typer.echo(f"Set the password of {user_code}")


@user_app.command("delete")
def user_delete(
    tenant_uid: TenantArg,
    user_code: UserCodeArg,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm the deletion")] = False,
) -> None:
    """Delete a user."""
    if not yes:
        raise fail(f"deleting user {user_code} cannot be undone: add --yes to confirm")

    async def work(session: AsyncSession) -> None:
        tenant = await TenantService(session).get_tenant(tenant_uid)
        users = UserService(session)
        user = await users.find_by_user_code(tenant, user_code)
        if user is None:
            raise fail(f"no user {user_code!r} in tenant {tenant_uid!r}")
        await users.delete(user)

    in_unit_of_work(work)
    typer.echo(f"Deleted user {user_code}")
