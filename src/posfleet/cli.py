"""The ``posfleet`` command: parse, open a unit of work, call a service, print.

A user's mistake ends in one clear line on stderr and exit status 1, never a traceback.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from posfleet import admin_cli, migrations
from posfleet.apikeys.cli import apikeys_app
from posfleet.auth.cli import tokens_app
from posfleet.config import Settings
from posfleet.db import session_scope
from posfleet.errors import AppError
from posfleet.outbox import cli as outbox_cli
from posfleet.pairing.cli import pairing_app
from posfleet.runtime import Runtime
from posfleet.tokens import keys

T = TypeVar("T")

app = typer.Typer(help="posfleet: POS device registry and pairing server.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
keys_app = typer.Typer(help="JWT signing keys.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")
app.add_typer(tokens_app, name="tokens")
app.add_typer(apikeys_app, name="apikeys")
app.add_typer(pairing_app, name="pairing")
outbox_cli.register(app)
for _name, _group in admin_cli.GROUPS.items():
    app.add_typer(_group, name=_name)


def fail(message: str) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code=1)


def run_async(work: Callable[[Runtime], Awaitable[T]], settings: Settings | None = None) -> T:
    """Run ``work`` with a runtime; turn domain and database errors into one line."""

    async def main() -> T:
        runtime = Runtime.create(settings or Settings())
        try:
            return await work(runtime)
        finally:
            await runtime.close()

    try:
        return asyncio.run(main())
    except AppError as exc:
        raise fail(exc.message) from None
    except SQLAlchemyError as exc:
        raise fail(
            f"database: {str(exc.orig if hasattr(exc, 'orig') else exc).splitlines()[0]}"
        ) from None


async def current_revision(runtime: Runtime) -> str | None:
    try:
        async with runtime.engine.connect() as conn:
            result = await conn.execute(text("SELECT version_num FROM alembic_version"))
            return result.scalar_one_or_none()
    except SQLAlchemyError:
        return None


def upgrade_database(settings: Settings) -> None:
    typer.echo(f"Migrating {redact(settings.database_url)} to {migrations.head_revision()} ...")
    try:
        migrations.upgrade(settings)
    except SQLAlchemyError as exc:
        raise fail(f"migration failed: {str(getattr(exc, 'orig', exc)).splitlines()[0]}") from None

    async def first_key(runtime: Runtime) -> None:
        await runtime.load_signing_keys(create_if_missing=True)

    run_async(first_key, settings)
    typer.echo("Database is at the latest revision.")


def redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema to the latest revision."""
    upgrade_database(Settings())


@db_app.command("check")
def db_check() -> None:
    """Fail if the models and the migrations disagree."""
    try:
        migrations.check(Settings())
    except Exception as exc:  # alembic raises its own CommandError with the diff
        raise fail(str(exc)) from None
    typer.echo("Models and migrations agree.")


@db_app.command("status")
def db_status() -> None:
    """Show the database's revision and the latest one."""
    current = run_async(current_revision)
    typer.echo(f"database: {current or 'empty'}; latest: {migrations.head_revision()}")


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Add a new signing key; tokens signed by older keys stay valid until they expire."""

    async def work(runtime: Runtime) -> str:
        async with runtime.sessionmaker() as session:
            key = await keys.rotate(session, runtime.secret, runtime.settings.jwt_algorithm)
            await session.commit()
        return key.kid

    typer.echo(f"New signing key {run_async(work)} is now used for new tokens.")


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to bind (default from settings)")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from settings)")] = None,
    migrate: Annotated[
        bool, typer.Option("--migrate", help="Migrate the database first if it is behind")
    ] = False,
    workers: Annotated[int | None, typer.Option(help="Worker processes")] = None,
    proxy_headers: Annotated[
        bool, typer.Option(help="Trust X-Forwarded-For from the load balancer")
    ] = False,
) -> None:
    """Serve posfleet over HTTP."""
    import uvicorn

    settings = Settings()
    current = run_async(current_revision, settings)
    if current != migrations.head_revision():
        if not migrate:
            raise fail(
                f"the database is at revision {current or 'none'}, not "
                f"{migrations.head_revision()}: run `posfleet db upgrade` or `serve --migrate`"
            )
        upgrade_database(settings)
    uvicorn.run(
        "posfleet.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers or settings.workers,
        proxy_headers=proxy_headers,
        forwarded_allow_ips="*" if proxy_headers else None,
        log_level=settings.log_level,
        access_log=False,
    )


@app.command()
def demo(
    manifest: Annotated[
        Path | None,
        typer.Option(help="Write the demo's UIDs, credentials and live codes here (JSON)"),
    ] = None,
) -> None:
    """Create (or refresh) demo data that looks like a real retailer; safe to run again."""
    from posfleet.demo import seed_demo

    settings = Settings()
    if run_async(current_revision, settings) != migrations.head_revision():
        upgrade_database(settings)

    async def work(runtime: Runtime) -> dict[str, Any]:
        async with session_scope(runtime.sessionmaker) as session:
            return await seed_demo(session, runtime, lambda line: typer.echo(f"  {line}"))

    typer.echo("Seeding demo data ...")
    result = run_async(work, settings)
    if manifest is not None:
        try:
            manifest.write_text(json.dumps(result, indent=2) + "\n")
        except OSError as exc:
            raise fail(f"cannot write the manifest {manifest}: {exc.strerror}") from None
    flow, commerce = result["flow"], result["commerce"]
    base = settings.public_base_url.rstrip("/")
    typer.echo(
        f"""
posfleet demo is ready (demo passwords are fixed: never use them for real data).
  Server:        {base}  (API docs: {base}/docs)
  Tenant:        {flow["tenantUid"]}   store {flow["storeUid"]}
  Admin:         {flow["admin"]["userCode"]} / {flow["admin"]["password"]}   (FULL, TENANT.ADMIN)
  Cashier:       {flow["cashier"]["userCode"]} / {flow["cashier"]["password"]}   (REGULAR)
  Link a device: POST {base}/v2/device/{flow["readyDevice"]["deviceLinkCode"]}/link
                 with appId {flow["apps"]["CLIENT"]} and the admin's userCode and password
  Commerce:      storeId {commerce["storeId"]}, location {commerce["locationId"]}, \
login email {commerce["user"]["email"]}
                 X-Api-Key {commerce["apiKey"]}
                 pairing code {commerce["pairingCode"]} for device {commerce["deviceId"]}"""
    )
    if manifest is not None:
        typer.echo(f"  Manifest:      {manifest} (keys described in docs/demo.md)")


def main() -> None:
    try:
        Settings()
    except ValidationError as exc:
        # A mistyped POSFLEET_* variable is a user's mistake: one line, not a traceback.
        problems = "; ".join(
            f"POSFLEET_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in exc.errors()
        )
        typer.secho(f"error: invalid settings: {problems}", fg=typer.colors.RED, err=True)
        raise SystemExit(1) from None
    app()
