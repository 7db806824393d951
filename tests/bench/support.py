"""Running a bench script as its documented command: a process of its own, as a user runs it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_bench(script: str, *args: str) -> str:
    """``bench/<script>`` with ``args`` from the repository root; its output, once it exited 0."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def assert_timed(out: str, labels: list[str]) -> None:
    """Each of ``labels`` has a row of p50, p99, requests and CPU per request, each a figure, and
    at least one request (wrk answered and every answer was a 2xx, or the bench would have
    stopped), and the worker's memory was reported."""
    for label in labels:
        line = re.search(rf"^  {re.escape(label)}\s+([\d.]+)\s+([\d.]+)\s+([\d,]+)\s+([\d,]+)$",
                         out, re.MULTILINE)  # fmt: skip
        assert line is not None, (label, out[-3000:])
        assert int(line.group(3).replace(",", "")) > 0
    assert "VmRSS" in out
