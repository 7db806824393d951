from __future__ import annotations

import httpx


async def test_healthz_answers_while_the_process_is_up(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_reports_the_database_at_the_latest_revision(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


async def test_openapi_document_is_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "posfleet"


async def test_unknown_path_answers_flow_error_shape(client: httpx.AsyncClient) -> None:
    response = await client.get("/v2/nowhere")
    assert response.status_code == 404
    body = response.json()
    assert set(body) == {"code", "message", "logId"}
    assert body["logId"] == response.headers["x-log-id"]


async def test_unknown_commerce_path_answers_envelope_error_shape(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/api/v1/some-store/storefront/nowhere")
    assert response.status_code == 404
    assert response.json() == {"message": "No such resource", "success": False, "code": "not_found"}


async def test_oversized_body_is_refused_with_413(client: httpx.AsyncClient) -> None:
    response = await client.post("/v2/anything", content=b"x" * 2_000_000)
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
