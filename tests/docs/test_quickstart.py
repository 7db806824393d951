"""``docs/quickstart.md`` runs verbatim.

The shell blocks are taken from the page in order and run with ``bash -e`` in a copy of the
working tree (what a fresh clone holds, plus uncommitted changes), sharing this checkout's
``.venv`` so that nothing is installed again.  Exported variables carry from one block to the
next, as in one terminal.  A block marked ``<!-- quickstart-test: background -->`` starts a
server: it runs in the background (after stopping the one before, as the page says to) and the
next block waits for its ``/readyz``.  The demo is served on a free port through
``POSFLEET_PORT``, which the page documents.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.server import free_port

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "quickstart.md"
BLOCK = re.compile(r"(?:<!-- quickstart-test: (\w+)[^>]*-->\n)?```sh\n(.*?)```", re.S)
STATE = ".quickstart-env"


def blocks() -> list[tuple[str, str]]:
    """``(mode, script)`` of each shell block; mode is ``run``, ``background`` or ``skip``."""
    return [(mode or "run", script) for mode, script in BLOCK.findall(PAGE.read_text())]


def clone(target: Path) -> Path:
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout.split()  # fmt: skip
    for name in files:
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)  # keeps mtimes: bootstrap sees .venv current
    (target / ".venv").symlink_to(ROOT / ".venv")
    return target


def _environment(port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSFLEET_")}
    env["POSFLEET_PORT"] = str(port)
    return env


def _script(script: str) -> str:
    # Each block sees the variables the blocks before it exported, as in one terminal.
    return f"[ -f {STATE} ] && . ./{STATE}\n{script}\nexport -p > {STATE}\n"


class Page:
    def __init__(self, workdir: Path, port: int) -> None:
        self.workdir = workdir
        self.port = port
        self.env = _environment(port)
        self.server: subprocess.Popen[bytes] | None = None
        self.server_log = workdir / "server.log"

    def run(self, script: str) -> str:
        result = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", _script(script)],
            cwd=self.workdir, env=self.env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert result.returncode == 0, (script, result.stdout, result.stderr)
        assert "error:" not in result.stderr, (script, result.stderr)
        return result.stdout

    def start(self, script: str) -> None:
        self.stop()
        with self.server_log.open("ab") as log:
            self.server = subprocess.Popen(
                ["bash", "-e", "-c", f"[ -f {STATE} ] && . ./{STATE}\n{script}"],
                cwd=self.workdir, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            assert self.server.poll() is None, self.server_log.read_text()[-3000:]
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise AssertionError(f"{script!r} did not get ready: {self.server_log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.server is not None and self.server.poll() is None:
            os.killpg(self.server.pid, signal.SIGINT)
            try:
                self.server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.server.pid, signal.SIGKILL)
                self.server.wait()
        self.server = None


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Page]:
    running = Page(clone(tmp_path), free_port())
    try:
        yield running
    finally:
        running.stop()


@pytest.mark.timeout(600)  # installs nothing, but seeds the demo (argon2 hashes) and serves twice
def test_every_shell_block_of_the_quickstart_runs_verbatim(page: Page) -> None:
    ran = []
    for mode, script in blocks():
        if mode == "skip":
            continue
        if mode == "background":
            page.start(script)
        else:
            ran.append(page.run(script))
    log = page.server_log.read_text()
    assert f"Server:        http://127.0.0.1:{page.port}" in log  # the banner's real address
    first_link, fresh_link = ran[0], ran[1]
    assert '"token"' in first_link
    assert '"token"' in fresh_link
    assert "Oslo till 1" in ran[2]
    assert "Dry run: 0 to create, 0 to change" in ran[3]


def test_a_busy_port_fails_before_the_banner_with_one_line(tmp_path: Path) -> None:
    workdir = clone(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            ["./scripts/demo", "--port", str(port)],
            cwd=workdir, env=_environment(free_port()), capture_output=True, text=True,
            timeout=120,
        )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: cannot listen on 127.0.0.1:{port}: Address already in use; "
        "stop what uses it or choose another port (--port)"
    ]
    assert "demo is ready" not in result.stdout
    assert not (workdir / "posfleet-demo.db").exists()
