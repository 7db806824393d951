"""``bench/side_by_side.py`` runs: a tiny phase of every contender, so the bench cannot rot.

The bench is started as the documented command (a process of its own, as a user runs it) on
SQLite with one round of one second, and its JSON figures are checked: every contender answered
requests, all with 2xx, none after its single-use tokens ran out; the links phase linked every
device it offered and applied every admin update; the targets were judged.  The
django-oauth-toolkit peer needs its virtualenv, built from PyPI once and kept in ``bench/.work``;
its test is skipped, saying so, when PyPI cannot be reached to build it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.bench.support import ROOT, run_bench

TINY = ["--engine", "sqlite", "--rounds", "1", "--seconds", "1", "--warmup", "0"]
TINY += ["--links-per-second", "4", "--writes-per-second", "2", "--token-rate", "5000"]
TINY += ["--dot-token-rate", "1000", "--connections", "4"]


def _run(tmp_path: Path, *extra: str) -> dict[str, Any]:
    out = tmp_path / "figures.json"
    assert "| target | SQLite |" in run_bench("side_by_side.py", *TINY, *extra, "--json", str(out))
    figures: dict[str, Any] = json.loads(out.read_text())
    return figures


def _check_phases(contenders: dict[str, Any]) -> None:
    for key, contender in contenders.items():
        (phase,) = contender["phases"]
        assert phase["requests"] > 0, key
        assert phase["status_errors"] == phase["other"] == phase["s5xx"] == 0, (key, phase)
        assert phase["socket_errors"] == 0, (key, phase)
        assert phase["exhausted"] == 0, (key, phase)
        assert phase["cpu_seconds"] > 0, (key, phase)


@pytest.mark.timeout(300)
def test_side_by_side_runs_every_posfleet_contender_and_floor(tmp_path: Path) -> None:
    """Every floor and posfleet phase answers only 2xx, and the links phase links every device."""
    # Its server logs go to a directory of its own, not bench/.work where the peer's run (on
    # another worker of a parallel run) writes its own.
    figures = _run(tmp_path, "--no-dot", "--workdir", str(tmp_path / "work"))
    (run,) = figures["runs"]
    contenders = run["contenders"]
    assert set(contenders) == {
        "floor-a",
        "floor-b-aiosqlite",
        "floor-b-sqlite3",
        "floor-c-aiosqlite",
        "floor-c-sqlite3",
        "get",
        "token",
        "get-links",
    }
    _check_phases(contenders)
    (background,) = contenders["get-links"]["background"]
    assert background["links_offered"] == 4
    assert background["links"] == {"200": 4}
    assert background["writes_offered"] == 2
    assert background["writes"] == {"200": 2}
    judged = {c["target"]: c["met"] for c in figures["checks"]}
    assert len(judged) == 5  # every target but the one against django-oauth-toolkit
    assert judged["no 5xx answer (wrk phases, links, admin updates)"]


def _dot_venv() -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import dot_peer

        dot_peer.ensure_venv(ROOT / "bench" / ".work")
    except subprocess.CalledProcessError as exc:
        pytest.skip(f"the django-oauth-toolkit virtualenv could not be built from PyPI: {exc}")
    finally:
        sys.path.remove(str(ROOT / "bench"))


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_side_by_side_runs_django_oauth_toolkit(tmp_path: Path) -> None:
    """The peer's protected GET and refresh grant answer only 2xx, each refresh token once."""
    _dot_venv()
    figures = _run(tmp_path)
    contenders = figures["runs"][0]["contenders"]
    assert {"dot-get", "dot-refresh"} <= set(contenders)
    _check_phases(contenders)
    assert len({c["target"] for c in figures["checks"]}) == 6
