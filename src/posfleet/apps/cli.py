"""``posfleet app|client``: the registries of POS apps (Flow ``appId``) and device-flow
clients (Flow ``clientId``), shared by every tenant."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.apps.service import AppFields, AppRegistryService
from posfleet.cli_support import in_unit_of_work, parse_fields, show, table
from posfleet.models.enums import AppCode

app_app = typer.Typer(help="POS apps allowed to link devices (Flow appId).", no_args_is_help=True)
client_app = typer.Typer(help="Device-flow clients (Flow clientId).", no_args_is_help=True)

AppIdArg = Annotated[str, typer.Argument(help="The appId the POS app sends when it links")]
ClientIdArg = Annotated[str, typer.Argument(help="The clientId devices send")]
AppCodeOpt = Annotated[AppCode | None, typer.Option(case_sensitive=False)]


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


@app_app.command("register")
def app_register(
    app_id: AppIdArg, app_code: AppCodeOpt = AppCode.CLIENT, name: str | None = None
) -> None:
    """Register a POS app build; devices of its app code may link with it."""

    async def work(session: AsyncSession) -> None:
        fields = parse_fields(AppFields, None, name=name, app_code=app_code)
        await AppRegistryService(session).register_app(app_id, fields)

    in_unit_of_work(work)
    typer.echo(f"Registered app {app_id} as {app_code}")


@app_app.command("list")
def app_list() -> None:
    """List registered POS apps."""

    async def work(session: AsyncSession) -> list[tuple[object, ...]]:
        return [
            (a.app_id, a.app_code, a.name, _yes(a.is_active))
            for a in await AppRegistryService(session).list_apps()
        ]

    typer.echo(table(["APP ID", "APP CODE", "NAME", "ACTIVE"], in_unit_of_work(work)))


@app_app.command("show")
def app_show(app_id: AppIdArg) -> None:
    """Show a registered app."""

    async def work(session: AsyncSession) -> dict[str, object]:
        a = await AppRegistryService(session).get_app(app_id)
        return {"appId": a.app_id, "name": a.name, "appCode": a.app_code, "active": a.is_active}

    typer.echo(show(in_unit_of_work(work)))


def _update_app(app_id: str, fields: AppFields) -> None:
    async def work(session: AsyncSession) -> None:
        await AppRegistryService(session).update_app(app_id, fields)

    in_unit_of_work(work)


@app_app.command("update")
def app_update(app_id: AppIdArg, name: str | None = None, app_code: AppCodeOpt = None) -> None:
    """Change the fields given; leave the others."""
    _update_app(app_id, AppFields.model_validate(_given(name=name, app_code=app_code)))
    typer.echo(f"Updated app {app_id}")


@app_app.command("disable")
def app_disable(app_id: AppIdArg) -> None:
    """Refuse links with this app from now on."""
    _update_app(app_id, AppFields(is_active=False))
    typer.echo(f"Disabled app {app_id}")


@app_app.command("enable")
def app_enable(app_id: AppIdArg) -> None:
    """Allow links with this app again."""
    _update_app(app_id, AppFields(is_active=True))
    typer.echo(f"Enabled app {app_id}")


def _given(**values: object) -> dict[str, object]:
    return {k: v for k, v in values.items() if v is not None}


@client_app.command("create")
def client_create(
    client_id: ClientIdArg, app_code: AppCodeOpt = AppCode.CLIENT, name: str | None = None
) -> None:
    """Allow a client to use the device authorization flow."""

    async def work(session: AsyncSession) -> None:
        fields = parse_fields(AppFields, None, name=name, app_code=app_code)
        await AppRegistryService(session).create_device_flow_client(client_id, fields)

    in_unit_of_work(work)
    typer.echo(f"Created device-flow client {client_id} ({app_code})")


@client_app.command("list")
def client_list() -> None:
    """List device-flow clients."""

    async def work(session: AsyncSession) -> list[tuple[object, ...]]:
        return [
            (c.client_id, c.app_code, c.name, _yes(c.is_active))
            for c in await AppRegistryService(session).list_device_flow_clients()
        ]

    typer.echo(table(["CLIENT ID", "APP CODE", "NAME", "ACTIVE"], in_unit_of_work(work)))


def _update_client(client_id: str, fields: AppFields) -> None:
    async def work(session: AsyncSession) -> None:
        await AppRegistryService(session).update_device_flow_client(client_id, fields)

    in_unit_of_work(work)


@client_app.command("update")
def client_update(
    client_id: ClientIdArg, name: str | None = None, app_code: AppCodeOpt = None
) -> None:
    """Change the fields given; leave the others."""
    _update_client(client_id, AppFields.model_validate(_given(name=name, app_code=app_code)))
    typer.echo(f"Updated device-flow client {client_id}")


@client_app.command("disable")
def client_disable(client_id: ClientIdArg) -> None:
    """Refuse this client from now on."""
    _update_client(client_id, AppFields(is_active=False))
    typer.echo(f"Disabled device-flow client {client_id}")
