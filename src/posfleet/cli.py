"""The ``posfleet`` command: parse, open a unit of work, call a service, print.

A user's mistake ends in one clear line on stderr and exit status 1, never a traceback.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from posfleet import migrations
from posfleet.apikeys.cli import apikeys_app
from posfleet.apps.cli import app_app, client_app
from posfleet.auth.cli import tokens_app
from posfleet.cli_support import (
    database_problem,
    fail,
    load_settings,
    run_async,
)
from posfleet.config import Settings, is_loopback
from posfleet.db import session_scope
from posfleet.devices.cli import devices_app
from posfleet.outbox import cli as outbox_cli
from posfleet.pairing.cli import pairing_app
from posfleet.rotation.cli import secrets_app
from posfleet.runtime import Runtime
from posfleet.tenants import cli as tenants_cli
from posfleet.tokens import keys
from posfleet.users.cli import user_app

app = typer.Typer(help="posfleet: POS device registry and pairing server.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
keys_app = typer.Typer(help="JWT signing keys.", no_args_is_help=True)
# One line per command group; a domain's commands live in its own cli.py.
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")
app.add_typer(tokens_app, name="tokens")
app.add_typer(apikeys_app, name="apikeys")
app.add_typer(pairing_app, name="pairing")
app.add_typer(tenants_cli.tenant_app, name="tenant")
app.add_typer(tenants_cli.store_app, name="store")
app.add_typer(tenants_cli.till_app, name="till")
app.add_typer(tenants_cli.printer_app, name="printer")
app.add_typer(tenants_cli.payment_app, name="payment-method")
app.add_typer(tenants_cli.reason_app, name="reason")
app.add_typer(tenants_cli.denomination_app, name="denomination")
app.add_typer(tenants_cli.setting_app, name="setting")
app.add_typer(user_app, name="user")
app.add_typer(app_app, name="app")
app.add_typer(client_app, name="client")
app.add_typer(devices_app, name="devices")
app.add_typer(secrets_app, name="secrets")
outbox_cli.register(app)


def check_address_free(host: str, port: int) -> None:
    """Fail with one line when nothing could listen on ``host:port``."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # As uvicorn binds: SO_REUSEADDR, so a port in TIME_WAIT is not mistaken for a busy one.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise fail(
                f"cannot listen on {host}:{port}: {exc.strerror or exc}; "
                "stop what uses it or choose another port (--port)"
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
    except (SQLAlchemyError, OSError) as exc:
        raise fail(f"migration failed: {database_problem(exc)}") from None

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
    upgrade_database(load_settings())


@db_app.command("check")
def db_check() -> None:
    """Fail if the models and the migrations disagree."""
    try:
        migrations.check(load_settings())
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
        async with session_scope(runtime.sessionmaker) as session:
            key = await keys.rotate(session, runtime.secret, runtime.settings.jwt_algorithm)
            return key.kid

    typer.echo(f"New signing key {run_async(work)} is now used for new tokens.")


WORKER_HEALTHCHECK_SECONDS = 60


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
    check: Annotated[
        bool, typer.Option("--check", help="Only check that the address is free, then exit")
    ] = False,
) -> None:
    """Serve posfleet over HTTP."""
    import uvicorn

    settings = load_settings()
    address = (host or settings.host, port or settings.port)
    if settings.debug_otp_reveal and not is_loopback(address[0]):
        raise fail(
            f"POSFLEET_DEBUG_OTP_REVEAL hands sign-in codes to whoever calls: it is refused on "
            f"--host {address[0]}, which others can reach; bind a loopback address or turn it off"
        )
    check_address_free(*address)
    if check:
        typer.echo(f"{address[0]}:{address[1]} is free")
        return
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
        host=address[0],
        port=address[1],
        workers=workers or settings.workers,
        # X-Forwarded-For is read by posfleet itself, from POSFLEET_TRUSTED_PROXIES only.
        proxy_headers=False,
        # uvicorn replaces a worker that does not answer its health check within 5 s; a worker
        # still starting on a busy machine can take longer, and was replaced again and again.
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
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

    settings = load_settings()
    if run_async(current_revision, settings) != migrations.head_revision():
        upgrade_database(settings)

    async def work(runtime: Runtime) -> dict[str, Any]:
        async with session_scope(runtime.sessionmaker) as session:
            return await seed_demo(session, runtime, lambda line: typer.echo(f"  {line}"))

    typer.echo("Seeding demo data ...")
    result = run_async(work, settings)
    base = settings.public_base_url.rstrip("/")
    result["baseUrl"] = base
    if manifest is not None:
        try:
            manifest.write_text(json.dumps(result, indent=2) + "\n")
        except OSError as exc:
            raise fail(f"cannot write the manifest {manifest}: {exc.strerror}") from None
    flow, commerce = result["flow"], result["commerce"]
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
        load_settings()
    except typer.Exit as exit_:
        raise SystemExit(exit_.exit_code) from None
    app()
