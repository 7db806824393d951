"""``posfleet apikeys``: Commerce Engine storefront keys (create prints the key once)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer

from posfleet.apikeys.service import ApiKeyService
from posfleet.db import session_scope
from posfleet.runtime import Runtime

T = TypeVar("T")

apikeys_app = typer.Typer(
    help="Commerce Engine storefront API keys (X-Api-Key).", no_args_is_help=True
)
TenantOpt = Annotated[str, typer.Option("--tenant", help="The tenant's UID (the storeId)")]


def _run(work: Callable[[ApiKeyService], Awaitable[T]]) -> T:
    from posfleet.cli_support import run_async

    async def run(runtime: Runtime) -> T:
        async with session_scope(runtime.sessionmaker) as session:
            return await work(ApiKeyService(session, runtime))

    return run_async(run)


@apikeys_app.command("create")
def apikeys_create(
    tenant: TenantOpt,
    name: Annotated[str, typer.Option(help="What the key is for, e.g. the POS app")],
) -> None:
    """Issue a storefront key of the POS channel; it is printed once and kept only hashed."""

    async def work(service: ApiKeyService) -> tuple[str, str]:
        issued = await service.create(tenant, name)
        return issued.key.uid, issued.secret

    uid, secret = _run(work)
    typer.echo(f"id: {uid}")
    typer.echo(f"key (shown once): {secret}")


@apikeys_app.command("list")
def apikeys_list(tenant: TenantOpt) -> None:
    """Every key of the tenant, live or revoked (never the key itself)."""

    async def work(service: ApiKeyService) -> list[str]:
        return [
            "  ".join(
                [
                    key.uid,
                    f"{key.prefix}…",
                    key.scope,
                    key.channel,
                    key.name,
                    key.created_at.isoformat(timespec="seconds"),
                    f"revoked {key.revoked_at.isoformat(timespec='seconds')}"
                    if key.revoked_at
                    else "live",
                ]
            )
            for key in await service.of_tenant(tenant)
        ]

    lines = _run(work)
    typer.echo("\n".join(lines) if lines else "no API keys")


@apikeys_app.command("revoke")
def apikeys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (after `--` if it starts with -)")],
) -> None:
    """Revoke a key: requests with it are refused from now on."""

    async def work(service: ApiKeyService) -> None:
        await service.revoke(key_id)

    _run(work)
    typer.echo(f"API key {key_id} revoked.")
