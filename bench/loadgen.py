"""The bench's plumbing: server processes on loopback, ``wrk`` phases, CPU time from ``/proc``.

Load comes from ``wrk`` (Debian package ``wrk``): a separate C process with one thread, never a
Python client in the server's process family.  Lua scripts set the request and print the figures
as one JSON line.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

UVICORN_FLAGS = ("--workers", "1", "--loop", "uvloop", "--http", "httptools", "--no-access-log")
CLK_TCK = os.sysconf("SC_CLK_TCK")

# wrk calls done() once in its main Lua state; per-thread counters are read back through the
# thread objects kept by setup().  Statuses >= 400 are wrk's own status errors; response() tells
# 5xx apart (and any 1xx/3xx, which wrk does not count).
REPORT = """
local threads = {}
setup = function(thread) table.insert(threads, thread) end
s5xx = 0
other = 0
exhausted = 0
response = function(status, headers, body)
  if status >= 500 then s5xx = s5xx + 1
  elseif status < 200 or (status >= 300 and status < 400) then other = other + 1 end
end
done = function(summary, latency, requests)
  local e = summary.errors
  local s5, ot, ex = 0, 0, 0
  for _, t in ipairs(threads) do
    s5 = s5 + t:get("s5xx"); ot = ot + t:get("other"); ex = ex + t:get("exhausted")
  end
  io.write(string.format(
    '\\nRESULT {"requests": %d, "micros": %d, "status_errors": %d, "s5xx": %d, "other": %d, '
    .. '"socket_errors": %d, "exhausted": %d, "p50": %.1f, "p99": %.1f}\\n',
    summary.requests, summary.duration, e.status, s5, ot,
    e.connect + e.read + e.write + e.timeout, ex,
    latency:percentile(50), latency:percentile(99)))
end
"""

# One token per request, each sent once: the phase's tokens are one per line in TOKEN_FILE.
# A request after the last token carries "exhausted" (refused by the server) and is counted.
TOKENS = """
local tokens = {}
local i = 0
init = function(args)
  for line in io.lines(%(file)s) do tokens[#tokens + 1] = line end
end
request = function()
  i = i + 1
  local token = tokens[i]
  if token == nil then
    exhausted = exhausted + 1
    token = "exhausted"
  end
  return wrk.format(%(method)s, %(path)s, %(headers)s, %(prefix)s .. token .. %(suffix)s)
end
"""


def lua_string(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid Lua string literal for ASCII


def lua_headers(headers: dict[str, str]) -> str:
    return "".join(f"wrk.headers[{lua_string(k)}] = {lua_string(v)}\n" for k, v in headers.items())


def token_script(
    token_file: Path, method: str, path: str, headers: dict[str, str], prefix: str, suffix: str
) -> str:
    table = "{" + ", ".join(f"[{lua_string(k)}] = {lua_string(v)}" for k, v in headers.items())
    return TOKENS % {
        "file": lua_string(str(token_file)),
        "method": lua_string(method),
        "path": lua_string(path),
        "headers": table + "}",
        "prefix": lua_string(prefix),
        "suffix": lua_string(suffix),
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# --- CPU time from /proc ------------------------------------------------------------------------


def _stat(pid: int) -> tuple[int, int, int] | None:
    """(parent pid, own ticks, reaped children's ticks) of ``pid``, or None once it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    rest = raw.rsplit(")", 1)[1].split()
    return int(rest[1]), int(rest[11]) + int(rest[12]), int(rest[13]) + int(rest[14])


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds (user + system) of ``root`` and its live descendants, plus what its exited
    children had used (the kernel adds a reaped child's time to its parent's cutime/cstime)."""
    stats: dict[int, tuple[int, int, int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            found = _stat(int(entry.name))
            if found is not None:
                stats[int(entry.name)] = found
    if root not in stats:
        return 0.0
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    ticks = stats[root][2]
    todo = [root]
    while todo:
        pid = todo.pop()
        ticks += stats[pid][1]
        todo.extend(children.get(pid, ()))
    return ticks / CLK_TCK


# --- servers ------------------------------------------------------------------------------------


@dataclass
class Server:
    name: str
    base: str
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):  # noqa: S310 (an http:// URL of ours)
            return True
    except urllib.error.HTTPError:
        return True  # any HTTP answer means the server is up
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


@dataclass
class Servers:
    """Server processes started together; each is stopped when the block ends."""

    logdir: Path
    started: list[Server] = field(default_factory=list)

    def start(
        self, name: str, command: list[str], env: dict[str, str], cwd: Path, port: int
    ) -> Server:
        log = self.logdir / f"{name.replace(' ', '_').replace('/', '_')}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        server = Server(name, f"http://127.0.0.1:{port}", proc, log)
        self.started.append(server)
        return server

    def wait_ready(self, probe: str = "/v2/device", timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        for server in self.started:
            while not _answers(server.base + probe):
                if server.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"{server.name} did not start:\n{server.log.read_text()[-3000:]}"
                    )
                time.sleep(0.1)

    def stop(self) -> None:
        for server in self.started:
            if server.proc.poll() is None:
                server.proc.send_signal(signal.SIGTERM)
        for server in self.started:
            try:
                server.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.proc.kill()
                server.proc.wait(timeout=10)


@contextlib.contextmanager
def servers(logdir: Path) -> Iterator[Servers]:
    group = Servers(logdir)
    try:
        yield group
    finally:
        group.stop()


# --- wrk ----------------------------------------------------------------------------------------


@dataclass
class Phase:
    """One wrk phase against one contender."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    status_errors: int  # answers with a status >= 400
    s5xx: int
    other: int  # 1xx / 3xx answers
    socket_errors: int
    exhausted: int  # requests sent after the phase's tokens ran out
    cpu_seconds: float  # server process tree
    db_cpu_seconds: float | None  # database cluster (PostgreSQL only)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def non2xx(self) -> int:
        return self.status_errors + self.other

    @property
    def cpu_us(self) -> float:
        return self.cpu_seconds / self.requests * 1e6 if self.requests else 0.0

    @property
    def db_cpu_us(self) -> float | None:
        if self.db_cpu_seconds is None:
            return None
        return self.db_cpu_seconds / self.requests * 1e6 if self.requests else 0.0


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    return found


def start_wrk(
    url: str, script: str, lua_file: Path, seconds: float, connections: int
) -> subprocess.Popen[str]:
    lua_file.write_text(script + REPORT)
    command = [wrk_binary(), "-t1", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "30s"]
    return subprocess.Popen(
        [*command, "-s", str(lua_file), url],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish_wrk(
    proc: subprocess.Popen[str],
    seconds: float,
    cpu: tuple[int, float],
    db: tuple[int, float] | None,
) -> Phase:
    """Wait for wrk; ``cpu`` and ``db`` are (root pid, CPU seconds when the phase began)."""
    out, _ = proc.communicate(timeout=seconds + 60)
    cpu_seconds = tree_cpu_seconds(cpu[0]) - cpu[1]
    db_seconds = tree_cpu_seconds(db[0]) - db[1] if db else None
    lines = [x for x in out.splitlines() if x.startswith("RESULT ")]
    if not lines:
        raise RuntimeError(f"wrk printed no result:\n{out[-2000:]}")
    data = json.loads(lines[-1].removeprefix("RESULT "))
    return Phase(
        requests=data["requests"],
        seconds=data["micros"] / 1e6,
        p50_ms=data["p50"] / 1000,
        p99_ms=data["p99"] / 1000,
        status_errors=data["status_errors"],
        s5xx=data["s5xx"],
        other=data["other"],
        socket_errors=data["socket_errors"],
        exhausted=data["exhausted"],
        cpu_seconds=cpu_seconds,
        db_cpu_seconds=db_seconds,
    )


def one_connection_phase(url: str, script: str, lua_file: Path, seconds: float, pid: int) -> Phase:
    """``script`` under ``wrk -c1`` (one request at a time) for ``seconds`` after a second of
    warm-up, with the CPU of the server process tree ``pid``; any answer but a 2xx stops it."""
    for length in (1.0, seconds):
        cpu = (pid, tree_cpu_seconds(pid))
        phase = finish_wrk(start_wrk(url, script, lua_file, length, 1), length, cpu, None)
        if phase.non2xx or phase.socket_errors:
            raise RuntimeError(f"{url}: {phase}")
    return phase


def print_phases(title: str, heading: str, phases: dict[str, Phase], width: int) -> None:
    """A table of one-connection phases: p50, p99, requests and the server's CPU per request."""
    print(f"\n  {title}")
    print(f"  {heading:<{width}}{'p50':>8}{'p99':>8}{'requests':>10}{'CPU µs':>9}")
    for label, phase in phases.items():
        print(
            f"  {label:<{width}}{phase.p50_ms:>8.1f}{phase.p99_ms:>8.1f}"
            f"{phase.requests:>10,}{phase.cpu_us:>9,.0f}"
        )
