"""Run the ``posfleet`` command in-process against a database of the test's choosing."""

from __future__ import annotations

import uuid
from pathlib import Path

from click.testing import Result
from typer.testing import CliRunner

from posfleet.cli import app
from tests.support.postgres import PostgresServer

TEST_SECRET = "test-secret-" + "x" * 32


def empty_database(backend: str, pg_server: PostgresServer | None, tmp_path: Path) -> str:
    """A URL of a new, empty database on ``backend``."""
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / f'empty-{uuid.uuid4().hex[:8]}.db'}"
    assert pg_server is not None
    return pg_server.create_database(f"empty_{uuid.uuid4().hex[:12]}")


def posfleet(
    url: str, *args: str, input: str | None = None, env: dict[str, str] | None = None
) -> Result:
    """``posfleet ARGS`` with its settings pointed at ``url`` (and ``env`` on top); output is
    captured, not raised."""
    env = {
        "POSFLEET_DATABASE_URL": url,
        "POSFLEET_SECRET_KEY": TEST_SECRET,
        "POSFLEET_ENVIRONMENT": "test",
        "POSFLEET_LOG_LEVEL": "warning",
        **(env or {}),
    }
    return CliRunner().invoke(app, list(args), env=env, input=input, catch_exceptions=False)
