"""``/metrics``: Prometheus text for loopback callers or holders of the metrics token."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY

from posfleet.app import create_app
from posfleet.config import Settings
from posfleet.errors import TooManyRequests
from posfleet.kit import ratelimit
from posfleet.outbox.worker import OutboxWorker
from posfleet.runtime import Runtime
from tests.flow.admin.support import Admin
from tests.outbox.conftest import add_endpoint
from tests.outbox.receiver import WebhookReceiver


def loopback(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_metrics_count_requests_by_route_template_and_show_the_outbox(
    app: FastAPI,
    client: httpx.AsyncClient,
    tenant_admin: Admin,
    runtime: Runtime,
    receiver: WebhookReceiver,
) -> None:
    route = "/v2/tenants/{tenantUid}/devices"
    before = sample("posfleet_http_requests_total", method="GET", route=route, status="200")
    sent_before = sample("posfleet_outbox_messages_total", kind="webhook", outcome="sent")
    assert (await client.get(tenant_admin.url(), headers=tenant_admin.headers)).status_code == 200
    created = await add_endpoint(
        client, tenant_admin, receiver, f"metrics-{tenant_admin.tenant.uid}", ["device.created"]
    )
    await client.post(
        f"/v2/tenants/{tenant_admin.tenant.uid}/webhooks/{created['endpointUid']}/test",
        headers=tenant_admin.headers,
    )

    async with loopback(app) as local:
        waiting = await local.get("/metrics")
        await OutboxWorker(runtime).run_once()
        done = await local.get("/metrics")

    assert waiting.status_code == 200
    assert waiting.headers["content-type"].startswith("text/plain")
    text = waiting.text
    assert f'posfleet_http_requests_total{{method="GET",route="{route}",status="200"}}' in text
    assert "posfleet_http_request_duration_seconds_bucket" in text
    assert tenant_admin.tenant.uid not in text  # templates, never raw paths
    assert sample("posfleet_http_requests_total", method="GET", route=route, status="200") == (
        before + 1
    )
    depth = [line for line in text.splitlines() if line.startswith("posfleet_outbox_depth ")]
    assert depth
    assert float(depth[0].split()[1]) >= 1
    assert "posfleet_outbox_oldest_age_seconds" in text
    assert "posfleet_password_checks_waiting" in text
    assert done.status_code == 200
    assert sample("posfleet_outbox_messages_total", kind="webhook", outcome="sent") >= (
        sent_before + 1
    )


async def test_metrics_refuse_callers_off_this_machine(client: httpx.AsyncClient) -> None:
    response = await client.get("/metrics")
    assert response.status_code == 403
    assert set(response.json()) == {"code", "message", "logId"}


async def test_with_a_token_set_metrics_need_it_even_on_loopback(
    make_settings: Callable[..., Settings],
) -> None:
    app = create_app(make_settings(metrics_token="scrape-me", outbox_worker=False))
    async with app.router.lifespan_context(app), loopback(app) as local:
        assert (await local.get("/metrics")).status_code == 403
        wrong = await local.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 403
        right = await local.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
        assert right.status_code == 200


async def test_rate_limit_refusals_are_counted_by_policy(runtime: Runtime) -> None:
    """A refusal is counted under its policy's name."""
    settings = runtime.settings.model_copy(update={"rate_limit_per_address": 1})
    before = sample("posfleet_rate_limit_refusals_total", policy=ratelimit.LINK.name)
    address = f"metrics-test-{id(runtime)}"
    await runtime.limiter.hit(ratelimit.LINK, settings, address=address)
    with pytest.raises(TooManyRequests):
        await runtime.limiter.hit(ratelimit.LINK, settings, address=address)
    assert sample("posfleet_rate_limit_refusals_total", policy=ratelimit.LINK.name) == before + 1
