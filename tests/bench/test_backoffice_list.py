"""``bench/backoffice_list.py`` runs: a small fleet on SQLite, every page timed by wrk with the
signed-in session's cookie, so the bench cannot rot.  It is started as the documented command
(a process of its own)."""

from __future__ import annotations

import re

import pytest

from tests.bench.support import run_bench

PAGES = [
    "first page (newest first)",
    "page 20 (the middle)",
    "name contains <word>",
    "search 6.1.0-<word>",
    "store + status + app filter",
]


@pytest.mark.timeout(300)
def test_backoffice_list_times_every_page_with_wrk() -> None:
    out = run_bench(
        "backoffice_list.py", "--devices", "1000", "--backend", "sqlite", "--seconds", "1"
    )
    for page in PAGES:
        # p50, p99, requests and CPU per request, each a figure (every answer was a 2xx: a
        # redirect to the sign-in page would have stopped the bench).
        line = re.search(rf"^  {re.escape(page)}\s+([\d.]+)\s+([\d.]+)\s+([\d,]+)\s+([\d,]+)$",
                         out, re.MULTILINE)  # fmt: skip
        assert line is not None, (page, out[-3000:])
        assert int(line.group(3).replace(",", "")) > 0
    assert "VmRSS" in out
