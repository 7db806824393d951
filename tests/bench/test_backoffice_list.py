"""``bench/backoffice_list.py`` runs: a small fleet on SQLite, every page timed by wrk with the
signed-in session's cookie, so the bench cannot rot.  It is started as the documented command
(a process of its own)."""

from __future__ import annotations

import pytest

from tests.bench.support import assert_timed, run_bench

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
    assert_timed(out, PAGES)
