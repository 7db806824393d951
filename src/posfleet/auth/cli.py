"""``posfleet tokens``: integration tokens of INTEGRATION users (create shows the token once)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer

from posfleet.auth.integration import IntegrationTokenService
from posfleet.db import session_scope
from posfleet.runtime import Runtime

T = TypeVar("T")

tokens_app = typer.Typer(help="Integration tokens of INTEGRATION users.", no_args_is_help=True)
TenantOpt = Annotated[str, typer.Option("--tenant", help="The tenant's UID")]


def _run(work: Callable[[IntegrationTokenService], Awaitable[T]]) -> T:
    from posfleet.cli_support import run_async

    async def run(runtime: Runtime) -> T:
        await runtime.load_signing_keys()
        async with session_scope(runtime.sessionmaker) as session:
            return await work(IntegrationTokenService(session, runtime))

    return run_async(run)


@tokens_app.command("create")
def tokens_create(
    tenant: TenantOpt,
    user: Annotated[str, typer.Option("--user", help="User code of an INTEGRATION user")],
    name: Annotated[str, typer.Option(help="What the token is for")],
    days: Annotated[int | None, typer.Option(help="Lifetime in days (default: no expiry)")] = None,
) -> None:
    """Issue a token; it is printed once and kept only as its id."""

    async def work(service: IntegrationTokenService) -> tuple[str, str]:
        issued = await service.create(tenant, user, name, days=days)
        return issued.row.jti, issued.token

    jti, token = _run(work)
    typer.echo(f"id: {jti}")
    typer.echo(f"token (shown once): {token}")


@tokens_app.command("list")
def tokens_list(tenant: TenantOpt) -> None:
    """Every integration token of the tenant, live or revoked."""

    async def work(service: IntegrationTokenService) -> list[str]:
        return [
            "  ".join(
                [
                    row.jti,
                    user.user_code,
                    row.name,
                    row.created_at.isoformat(timespec="seconds"),
                    row.expires_at.isoformat(timespec="seconds") if row.expires_at else "never",
                    "revoked" if row.revoked_at else "live",
                ]
            )
            for row, user in await service.list(tenant)
        ]

    lines = _run(work)
    typer.echo("id  user  name  created  expires  state")
    for line in lines:
        typer.echo(line)


@tokens_app.command("revoke")
def tokens_revoke(
    tenant: TenantOpt, token_id: Annotated[str, typer.Argument(help="The token's id")]
) -> None:
    """Revoke a token: its next request is refused."""

    async def work(service: IntegrationTokenService) -> None:
        await service.revoke(tenant, token_id)

    _run(work)
    typer.echo(f"Integration token {token_id} is revoked.")
