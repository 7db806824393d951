"""``bench/admin_lists.py`` runs: a small fleet on SQLite, every query timed by wrk, so the bench
cannot rot.  It is started as the documented command (a process of its own)."""

from __future__ import annotations

import pytest

from tests.bench.support import assert_timed, run_bench

QUERIES = [
    "list, first page",
    "list, page 10 (middle)",
    "list, page 10 by cursor",
    "search, name fragment",
    "search, free text",
    # --by-matches: each search by the match count of its fragments.
    "name, 1,000 matches per million",
    "free text, 111,000 matches per million",
]


@pytest.mark.timeout(300)
def test_admin_lists_times_every_query_with_wrk() -> None:
    out = run_bench("admin_lists.py", "--devices", "1000", "--backend", "sqlite", "--seconds", "1",
                    "--by-matches")  # fmt: skip
    assert_timed(out, QUERIES)
