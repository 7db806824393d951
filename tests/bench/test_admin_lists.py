"""``bench/admin_lists.py`` runs: a small fleet on SQLite, every query timed by wrk, so the bench
cannot rot.  It is started as the documented command (a process of its own)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench" / "admin_lists.py"
QUERIES = [
    "list, first page",
    "list, page 10 (middle)",
    "list, page 10 by cursor",
    "search, name fragment",
    "search, free text",
]


@pytest.mark.timeout(300)
def test_admin_lists_times_every_query_with_wrk(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--devices", "1000", "--backend", "sqlite", "--seconds", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    for query in QUERIES:
        # p50, p99, requests and CPU per request, each a figure (wrk answered and every answer
        # was a 2xx, or the bench would have stopped).
        line = re.search(rf"^  {re.escape(query)}\s+([\d.]+)\s+([\d.]+)\s+([\d,]+)\s+([\d,]+)$",
                         done.stdout, re.MULTILINE)  # fmt: skip
        assert line is not None, (query, done.stdout[-3000:])
        assert int(line.group(3).replace(",", "")) > 0
    assert "VmRSS" in done.stdout
