"""``/metrics`` with several worker processes: ``posfleet serve --workers 2`` on loopback with
``PROMETHEUS_MULTIPROC_DIR`` set, as docs/outbox.md says to run it.  Whichever worker answers
a scrape, it reports the requests of both (and of a worker that died), and the metrics token is
required on both."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from posfleet.config import Environment, Settings
from posfleet.migrations import upgrade
from tests.support.cli import TEST_SECRET
from tests.support.server import free_port, settings_environment

# Bounds a wall-clock latency: ./scripts/test runs it alone, after the parallel pass.
pytestmark = pytest.mark.latency

TOKEN = "metrics-token-for-tests"
ROUTE = "/v2/device"  # answered 401 without a token: no database work, one series to count
WORKERS = 2


@contextlib.contextmanager
def serving(tmp_path: Path, metrics_dir: Path) -> Iterator[str]:
    """``posfleet serve --workers 2`` on a free loopback port; yields the base URL."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'metrics.db'}"
    settings = Settings(
        database_url=url,
        secret_key=TEST_SECRET,
        environment=Environment.TEST,
        secret_key_file=tmp_path / "secret",
        metrics_token=TOKEN,
        log_level="warning",
    )
    upgrade(settings)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSFLEET_")}
    env.update(settings_environment(settings))
    env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "posfleet"), "serve", "--port", str(port)],
            env={**env, "POSFLEET_WORKERS": str(WORKERS), "POSFLEET_HOST": "127.0.0.1"},
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                if process.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    raise RuntimeError("posfleet did not start:\n" + log_path.read_text())
                time.sleep(0.1)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _counted_per_process(metrics_dir: Path) -> dict[str, float]:
    """Requests to ROUTE each worker process counted, read from its own file."""
    counted = {}
    for path in metrics_dir.glob("counter_*.db"):
        total = 0.0
        for metric in MultiProcessCollector.merge([str(path)], accumulate=True):
            for s in metric.samples:
                if s.name == "posfleet_http_requests_total" and s.labels.get("route") == ROUTE:
                    total += s.value
        counted[path.stem.removeprefix("counter_")] = total
    return counted


def _scraped_total(text: str) -> float:
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "posfleet_http_requests_total" and s.labels.get("route") == ROUTE
    )


def _wait_for_exit(pid: int) -> None:
    """Until uvicorn has reaped the killed worker (it notices within a second)."""
    deadline = time.monotonic() + 30
    while Path(f"/proc/{pid}").exists():
        assert time.monotonic() < deadline, f"worker {pid} was not reaped"
        time.sleep(0.05)


def _hit(base: str) -> int:
    # A connection of its own each time, so that the workers share them out.
    return httpx.get(f"{base}{ROUTE}", timeout=10).status_code


def test_a_scrape_of_either_worker_adds_up_the_requests_of_both(tmp_path: Path) -> None:
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    with serving(tmp_path, metrics_dir) as base, ThreadPoolExecutor(8) as pool:
        sent = 0
        # Concurrent requests keep both workers accepting; stop once both have counted some.
        for _ in range(50):
            statuses = list(pool.map(lambda _: _hit(base), range(16)))
            assert statuses == [401] * 16
            sent += 16
            per_process = _counted_per_process(metrics_dir)
            if sum(1 for n in per_process.values() if n) >= WORKERS:
                break
        # A request is counted as its response ends: the last ones may land a moment later.
        deadline = time.monotonic() + 10
        while sum((per_process := _counted_per_process(metrics_dir)).values()) < sent:
            assert time.monotonic() < deadline, per_process
            time.sleep(0.05)
        assert sum(1 for n in per_process.values() if n) == WORKERS, per_process
        assert sum(per_process.values()) == sent

        authorized = {"Authorization": f"Bearer {TOKEN}"}
        scrapes = list(
            pool.map(lambda _: httpx.get(f"{base}/metrics", headers=authorized), range(12))
        )
        refused = list(pool.map(lambda _: httpx.get(f"{base}/metrics"), range(12)))
        wrong = list(
            pool.map(
                lambda _: httpx.get(f"{base}/metrics", headers={"Authorization": "Bearer no"}),
                range(12),
            )
        )
        # A worker killed outright: its requests stay counted, and its live gauges (password
        # checks running and waiting) are dropped at the next scrape instead of lingering.
        dead = next(pid for pid, n in per_process.items() if n)
        os.kill(int(dead), signal.SIGKILL)
        _wait_for_exit(int(dead))
        after = list(pool.map(lambda _: httpx.get(f"{base}/metrics", headers=authorized), range(6)))
        lingering = sorted(p.name for p in metrics_dir.glob(f"gauge_live*_{dead}.db"))

    for scrape in after:
        assert scrape.status_code == 200, scrape.text
        assert _scraped_total(scrape.text) == sent
    assert lingering == []

    for scrape in scrapes:
        assert scrape.status_code == 200, scrape.text
        assert _scraped_total(scrape.text) == sent
    # The token is required even on loopback, whichever worker answers.
    assert {r.status_code for r in refused + wrong} == {403}
