"""The ``posfleet`` command on both engines: schema, admin commands, and how it reports mistakes."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from typer.testing import CliRunner

from posfleet.cli import app, main
from posfleet.config import Environment, Settings
from posfleet.db import create_engine
from posfleet.migrations import check, head_revision
from posfleet.models import Base, Device
from tests.conftest import TEST_SECRET, unique
from tests.support.cli import empty_database, posfleet
from tests.support.postgres import PostgresServer


def table_names(url: str) -> set[str]:
    async def read() -> set[str]:
        engine = create_engine(Settings(database_url=url, secret_key=TEST_SECRET))
        try:
            async with engine.connect() as conn:
                return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_db_upgrade_on_an_empty_database_creates_the_whole_schema(
    backend: str, pg_server: PostgresServer | None, tmp_path: Path
) -> None:
    url = empty_database(backend, pg_server, tmp_path)
    assert posfleet(url, "db", "status").stdout.strip().startswith("database: empty")

    result = posfleet(url, "db", "upgrade")

    assert result.exit_code == 0, result.output
    # Every table of the model is there (an engine may add its own, e.g. SQLite's full-text
    # index tables, which `db check` below is told about).
    assert set(Base.metadata.tables) | {"alembic_version"} <= table_names(url)
    assert f"database: {head_revision()}" in posfleet(url, "db", "status").stdout
    agree = posfleet(url, "db", "check")
    assert agree.exit_code == 0, agree.output
    assert "agree" in agree.stdout


def test_the_migrations_and_the_models_agree(backend: str, database_urls: dict[str, str]) -> None:
    """``alembic check`` finds nothing to autogenerate on a database migrated to head."""
    check(Settings(database_url=database_urls[backend], secret_key=TEST_SECRET))


def test_an_admin_sets_up_a_tenant_from_the_command_line(
    backend: str, database_urls: dict[str, str]
) -> None:
    url = database_urls[backend]
    tenant, store, till = unique("tenant"), unique("store"), unique("till")
    app_id, client_id = unique("app"), unique("client")

    steps = [
        ("tenant", "create", "Nordlys Sport AS", "--uid", tenant, "--vat-number", "NO1MVA"),
        ("store", "create", tenant, "Oslo", "--uid", store, "--city", "Oslo"),
        ("till", "create", tenant, store, "1", "--uid", till, "--payment-terminal", "adyen"),
        ("user", "create", tenant, "ingrid", "--password-stdin", "--account-type", "FULL",
         "--admin", "--all-stores", "--email", "ingrid@example.com"),
        ("user", "create", tenant, "kari", "--password-stdin", "--store", store,
         "--mobile", "912 34 567", "--country-code", "47"),
        ("app", "register", app_id, "--app-code", "ASSISTANT", "--name", "Assistant"),
        ("client", "create", client_id),
    ]  # fmt: skip
    passwords = {"ingrid": "long-enough-passw0rd\n", "kari": "2468\n"}
    for step in steps:
        result = posfleet(url, *step, input=passwords.get(step[3]) if len(step) > 3 else None)
        assert result.exit_code == 0, (step, result.output)
    assert tenant in posfleet(url, "tenant", "list").stdout
    apps = posfleet(url, "app", "list").stdout
    assert any(app_id in line and "ASSISTANT" in line for line in apps.splitlines())

    listing = posfleet(url, "devices", "list", tenant)
    assert listing.exit_code == 0
    assert listing.stdout.splitlines()[0].split() == [
        "UID", "NAME", "APP", "STATUS", "STORE", "TILL", "LAST", "ACTIVE", "(UTC)"
    ]  # fmt: skip
    assert listing.stdout.strip().endswith("0 devices")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("tenant", "create", "X", "--uid", "not a uid"), "Invalid tenant: uid"),
        (("store", "create", "no-such-tenant", "Oslo"), "No tenant 'no-such-tenant'"),
        (("devices", "list", "no-such-tenant"), "No tenant 'no-such-tenant'"),
        (("app", "register", "x", "--app-code", "TOASTER"), "Invalid value for '--app-code'"),
    ],
)
def test_a_user_mistake_is_one_line_and_a_non_zero_exit(
    backend: str, database_urls: dict[str, str], args: tuple[str, ...], message: str
) -> None:
    result = posfleet(database_urls[backend], *args)
    assert result.exit_code != 0
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_a_taken_till_number_is_reported_without_a_traceback(
    backend: str, database_urls: dict[str, str]
) -> None:
    url = database_urls[backend]
    tenant, store = unique("tenant"), unique("store")
    assert posfleet(url, "tenant", "create", "T", "--uid", tenant).exit_code == 0
    assert posfleet(url, "store", "create", tenant, "S", "--uid", store).exit_code == 0
    assert posfleet(url, "till", "create", tenant, store, "1").exit_code == 0

    again = posfleet(url, "till", "create", tenant, store, "1")

    assert again.exit_code == 1
    assert again.stderr.strip().splitlines() == [
        f"error: Till number 1 is already used in store '{store}'"
    ]


def test_admin_permission_needs_a_full_account(backend: str, database_urls: dict[str, str]) -> None:
    url = database_urls[backend]
    tenant = unique("tenant")
    assert posfleet(url, "tenant", "create", "T", "--uid", tenant).exit_code == 0
    result = posfleet(url, "user", "create", tenant, "kari", "--password-stdin", "--admin")
    assert result.exit_code == 1
    assert "--admin needs --account-type FULL" in result.stderr


def test_a_mistyped_setting_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POSFLEET_PORT", "eighty")
    monkeypatch.setattr("sys.argv", ["posfleet", "db", "status"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: invalid settings: POSFLEET_PORT:")


def test_serve_refuses_debug_otp_reveal_on_an_address_others_can_reach(tmp_path: Path) -> None:
    """Handing out OTPs is for a developer's own machine: serve stops before binding 0.0.0.0."""
    env = {
        "POSFLEET_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}",
        "POSFLEET_ENVIRONMENT": "development",
        "POSFLEET_SECRET_KEY_FILE": str(tmp_path / "secret"),
        "POSFLEET_DEBUG_OTP_REVEAL": "true",
    }
    result = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0"], env=env)  # noqa: S104
    assert result.exit_code != 0
    assert "POSFLEET_DEBUG_OTP_REVEAL" in result.output


def test_the_default_environment_is_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POSFLEET_ENVIRONMENT", raising=False)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.environment is Environment.PRODUCTION
    with pytest.raises(RuntimeError, match="POSFLEET_SECRET_KEY"):
        Settings(_env_file=None, secret_key=None).secret()  # type: ignore[call-arg]


def test_sqlite_reports_a_device_row_changed_when_any_column_but_its_activity_stamp_does(
    database_urls: dict[str, str],
) -> None:
    """Migration 0011 lists the columns the SQLite trigger compares: every column of the model
    but ``last_activity_at`` (a migration that adds a column recreates the trigger)."""
    if "sqlite" not in database_urls:
        pytest.skip("SQLite's trigger")

    async def trigger_sql() -> str:
        engine = create_engine(
            Settings(database_url=database_urls["sqlite"], secret_key=TEST_SECRET)
        )
        try:
            async with engine.connect() as conn:
                sql = await conn.scalar(
                    text("SELECT sql FROM sqlite_master WHERE name = 'devices_auth_change_update'")
                )
                return str(sql)
        finally:
            await engine.dispose()

    sql = asyncio.run(trigger_sql())
    compared = set(re.findall(r'OLD\."(\w+)" IS NOT NEW\."\1"', sql))
    assert compared == {c.name for c in Device.__table__.columns} - {"last_activity_at"}
