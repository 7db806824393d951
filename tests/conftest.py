"""Test harness: every test that takes ``backend`` runs on SQLite and on a real PostgreSQL.

PostgreSQL is a throwaway server the suite starts itself (``tests/support/postgres.py``).  When
``CI`` is set, or ``POSFLEET_TEST_POSTGRES=require``, a missing PostgreSQL fails the run instead
of skipping.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.app import create_app
from posfleet.config import Environment, Settings
from posfleet.migrations import upgrade
from posfleet.runtime import Runtime
from tests.support.clients import asgi_transport
from tests.support.postgres import PostgresServer, find_pg_bin, running_postgres

BACKENDS = ["sqlite", "postgresql"]
TEST_SECRET = "test-secret-" + "x" * 32


def _postgres_required() -> bool:
    return bool(os.environ.get("CI")) or os.environ.get("POSFLEET_TEST_POSTGRES") == "require"


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer | None]:
    if os.environ.get("POSFLEET_TEST_POSTGRES") == "skip":
        yield None
        return
    if find_pg_bin() is None:
        if _postgres_required():
            pytest.fail("PostgreSQL is required for the test suite but is not installed")
        yield None
        return
    with running_postgres() as server:
        yield server


@pytest.fixture(scope="session")
def database_urls(
    pg_server: PostgresServer | None, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """One migrated database per backend for the whole run; tests isolate by tenant."""
    urls = {"sqlite": f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"}
    if pg_server is not None:
        urls["postgresql"] = pg_server.create_database("posfleet_test")
    for url in urls.values():
        upgrade(Settings(database_url=url, secret_key=TEST_SECRET))
    return urls


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, database_urls: dict[str, str]) -> str:
    name: str = request.param
    if name not in database_urls:
        pytest.skip("PostgreSQL is not installed (set POSFLEET_TEST_POSTGRES=require to fail)")
    return name


def settings_for(database_url: str, workdir: Path, **overrides: Any) -> Settings:
    """The settings of a test's app: the run's database on one engine, a key file in ``workdir``."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "environment": Environment.TEST,
        "secret_key": TEST_SECRET,
        "secret_key_file": workdir / "secret",
        "public_base_url": "http://testserver",
        "log_level": "warning",
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def make_settings(
    backend: str, database_urls: dict[str, str], tmp_path: Path
) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        overrides.setdefault("database_url", database_urls[backend])
        return settings_for(workdir=tmp_path, **overrides)

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
def runtime(app: FastAPI) -> Runtime:
    rt: Runtime = app.state.runtime
    return rt


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = asgi_transport(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def session(runtime: Runtime) -> AsyncIterator[AsyncSession]:
    """A session for arranging data; factories flush, the test commits when it needs to."""
    async with runtime.sessionmaker() as s:
        yield s
        await s.commit()


def unique(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say how many tests passed on each database engine."""
    counts: dict[str, dict[str, int]] = {name: {} for name in BACKENDS}
    for outcome in ("passed", "failed", "error", "skipped"):
        for report in terminalreporter.stats.get(outcome, []):
            for name in BACKENDS:
                if f"[{name}" in report.nodeid or f"-{name}]" in report.nodeid:
                    counts[name][outcome] = counts[name].get(outcome, 0) + 1
    terminalreporter.section("database engines")
    for name, tally in counts.items():
        summary = ", ".join(f"{n} {k}" for k, n in sorted(tally.items())) or "no tests"
        terminalreporter.write_line(f"{name}: {summary}")
