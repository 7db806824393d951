"""``posfleet secrets``: which server secret each stored hash and ciphertext depends on, and
re-encrypting onto the newest."""

from __future__ import annotations

from typing import Annotated

import typer

from posfleet.cli_support import run_async
from posfleet.rotation import service
from posfleet.runtime import Runtime

secrets_app = typer.Typer(
    help="Server secret rotation: status and re-encryption.", no_args_is_help=True
)


def _label(runtime: Runtime, kid: str) -> str:
    ids = runtime.secret.ids
    if kid == ids[0]:
        return "current"
    if kid in ids:
        return "previous"
    return "NOT LISTED"


@secrets_app.command("status")
def status() -> None:
    """Rows per table and key id; which previous secrets can be removed."""

    async def run(runtime: Runtime) -> None:
        found = await service.counts(runtime)
        ids = runtime.secret.ids
        typer.echo("server secrets (newest first):")
        for kid in ids:
            typer.echo(f"  {kid}  {_label(runtime, kid)}")
        typer.echo(f"{'table':<24}{'key id':<14}{'secret':<12}{'rows':>8}{'in use':>8}")
        for count in found:
            typer.echo(
                f"{count.table:<24}{count.secret_key_id:<14}"
                f"{_label(runtime, count.secret_key_id):<12}{count.rows:>8}{count.in_use:>8}"
            )
        in_use = {c.secret_key_id for c in found if c.in_use}
        for kid in ids[1:]:
            if kid in in_use:
                typer.echo(f"{kid}: still in use; keep it listed")
            else:
                typer.echo(f"{kid}: nothing in use depends on it; it can be removed")
        for kid in sorted(in_use - set(ids)):
            typer.echo(f"{kid}: not listed; rows in use under it are refused")

    run_async(run)


@secrets_app.command("reencrypt")
def reencrypt(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would be re-encrypted; change nothing")
    ] = False,
) -> None:
    """Re-encrypt signing keys, webhook secrets and waiting messages under the newest secret."""

    def progress(result: service.Reencrypted) -> None:
        typer.echo(f"  {result.table}: {result.resealed} {'counted' if dry_run else 'done'} so far")

    async def run(runtime: Runtime) -> None:
        verb = "would re-encrypt" if dry_run else "re-encrypted"
        typer.echo(f"newest secret: {runtime.secret.current_id}")
        for result in await service.reencrypt(runtime, dry_run=dry_run, progress=progress):
            line = f"{result.table}: {verb} {result.resealed}"
            if result.unreadable:
                line += f"; {result.unreadable} under a secret no longer listed (unreadable)"
            typer.echo(line)

    run_async(run)
