"""A throwaway PostgreSQL server in a temporary directory, for tests and benchmarks.

Uses ``initdb``/``pg_ctl`` from Debian's ``postgresql`` package.  As root (CI), the server runs as
the ``postgres`` system user, since PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support.server import free_port


def find_pg_bin() -> Path | None:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(candidate, "pg_ctl").exists():
            return Path(candidate)
    found = shutil.which("pg_ctl")
    return Path(found).resolve().parent if found else None


@dataclass
class PostgresServer:
    bindir: Path
    datadir: Path
    port: int
    user: str

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+asyncpg://{self.user}@127.0.0.1:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        return _run(
            self,
            [
                str(self.bindir / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                self.user,
                "-d",
                database,
                "-v",
                "ON_ERROR_STOP=1",
                "-Atc",
                sql,
            ],
        )

    def create_database(self, name: str) -> str:
        self.psql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _as_server_user(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


def _run(server: PostgresServer | None, cmd: list[str]) -> str:
    result = subprocess.run(_as_server_user(cmd), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {result.stderr or result.stdout}")
    return result.stdout.strip()


@contextlib.contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    bindir = find_pg_bin()
    if bindir is None:
        raise RuntimeError(
            "PostgreSQL is not installed: apt-get install postgresql (the test command does this)"
        )
    root = Path(tempfile.mkdtemp(prefix="posfleet-pg-"))
    datadir = root / "data"
    user = "postgres" if os.geteuid() == 0 else os.environ.get("USER", "postgres")
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    port = free_port()
    server = PostgresServer(bindir, datadir, port, user)
    try:
        _run(
            None,
            [
                str(bindir / "initdb"),
                "-D",
                str(datadir),
                "-U",
                user,
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ],
        )
        opts = (
            f"-p {port} -c listen_addresses=127.0.0.1 -k {root} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300 "
            "-c shared_buffers=256MB"
        )
        _run(
            None,
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(datadir),
                "-o",
                opts,
                "-l",
                str(root / "log"),
                "-w",
                "-t",
                "60",
                "start",
            ],
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                server.psql("SELECT 1")
                break
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield server
    finally:
        with contextlib.suppress(RuntimeError):
            _run(
                None, [str(bindir / "pg_ctl"), "-D", str(datadir), "-m", "immediate", "-w", "stop"]
            )
        shutil.rmtree(root, ignore_errors=True)
