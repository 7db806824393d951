"""``/metrics`` in the Prometheus text format, and what feeds it.

Requests are counted by route template (``/v2/tenants/{tenantUid}/devices/{deviceUid}``, never
the raw path, so the series stay few) and status, with a latency histogram.  The outbox depth
and the age of its oldest message are read from the database at each scrape; deliveries,
webhooks and rate-limit refusals are counted where they happen.

With several worker processes, set ``PROMETHEUS_MULTIPROC_DIR`` to an empty directory before
starting them (prometheus-client's own convention): each process then writes its counts there
and any one of them answers for all.

Access: with ``metrics_token`` set, only ``Authorization: Bearer <token>``; without it, only
callers on loopback.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import time
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    generate_latest,
    multiprocess,
    values,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from posfleet.errors import Forbidden
from posfleet.kit.clock import utcnow
from posfleet.kit.hashing import password_check_load
from posfleet.kit.meters import (
    LATENCY,
    OUTBOX_DEPTH,
    OUTBOX_OLDEST,
    PASSWORD_CHECKS_RUNNING,
    PASSWORD_CHECKS_WAITING,
    REQUESTS,
)
from posfleet.outbox.repository import OutboxRepository
from posfleet.runtime import Runtime


class MetricsMiddleware:
    """Counts and times every HTTP request by its route template."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "")
            REQUESTS.labels(method=method, route=template, status=str(status)).inc()
            LATENCY.labels(method=method, route=template).observe(time.perf_counter() - started)


router = APIRouter(include_in_schema=False)


def _allowed(request: Request, runtime: Runtime) -> bool:
    token = runtime.settings.metrics_token
    if token is not None:
        presented = request.headers.get("authorization", "")
        expected = f"Bearer {token.get_secret_value()}"
        return hmac.compare_digest(presented.encode(), expected.encode())
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _forget_dead_workers(directory: str) -> None:
    """Drop the live-sum gauges of worker processes that have exited (prometheus-client's
    ``mark_process_dead``, which nothing else calls: uvicorn replaces a dead worker without
    telling the others), so a worker killed mid-check is not counted as checking for ever.
    Counters and histograms of dead workers stay: their counts must not go backwards."""
    for path in Path(directory).glob("gauge_live*_*.db"):
        pid = int(path.stem.rsplit("_", 1)[1])
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            multiprocess.mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]
        except PermissionError:  # alive, under another user
            continue


def _registry() -> Any:
    if values.ValueClass is not values.MutexValue:  # prometheus-client multiprocess mode
        directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if directory:
            _forget_dead_workers(directory)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    from prometheus_client import REGISTRY

    return REGISTRY


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    if not _allowed(request, runtime):
        raise Forbidden("Metrics need the metrics token, or a caller on this machine")
    async with runtime.read_sessionmaker() as session:
        depth, oldest = await OutboxRepository(session).depth()
    OUTBOX_DEPTH.set(depth)
    OUTBOX_OLDEST.set((utcnow() - oldest).total_seconds() if oldest is not None else 0)
    running, waiting = password_check_load()
    PASSWORD_CHECKS_RUNNING.set(running)
    PASSWORD_CHECKS_WAITING.set(waiting)
    return Response(generate_latest(_registry()), media_type=CONTENT_TYPE_LATEST)
