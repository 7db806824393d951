"""``create_app(settings)``: the only place where routers, middleware and handlers meet."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import sqlalchemy.exc
import structlog
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.types import Receive, Scope, Send

from posfleet import apidocs, backoffice, health, metrics, openapi, rendering
from posfleet.commerce import router as commerce_router
from posfleet.config import Settings
from posfleet.errors import AppError
from posfleet.flow import admin as flow_admin
from posfleet.flow import audit_events as flow_audit_events
from posfleet.flow import auth_routes as flow_auth
from posfleet.flow import device as flow_device
from posfleet.flow import device_fast
from posfleet.flow import device_flow as flow_device_flow
from posfleet.flow import device_flow_access as flow_device_flow_access
from posfleet.flow import pairing_codes as flow_pairing_codes
from posfleet.flow import tenant_config as flow_tenant_config
from posfleet.flow import webhooks as flow_webhooks
from posfleet.kit.client_address import ClientAddressMiddleware
from posfleet.logging import configure_logging
from posfleet.middleware import (
    BodyLimitMiddleware,
    NoStoreMiddleware,
    NulRefusalMiddleware,
    RequestContextMiddleware,
    TrustedProxyMiddleware,
)
from posfleet.outbox import worker as outbox_worker
from posfleet.runtime import Runtime

log = structlog.get_logger("posfleet")

DESCRIPTION = """\
posfleet registers, pairs and manages POS devices.  It serves two wire-compatible dialects over
one device registry:

* **Flow Retail API v2** device operations under `/v2` (camelCase, errors `{code, message, logId}`).
* **Commerce Engine storefront POS auth** under `/api/v1/{storeId}/storefront`
  (snake_case, envelope `{message, success, content}`).
"""


async def _housekeeping(runtime: Runtime) -> None:
    while True:
        await asyncio.sleep(runtime.settings.housekeeping_interval_seconds)
        try:
            await runtime.housekeeping()
        except Exception:  # a database hiccup must not end the loop; the next round retries
            log.warning("housekeeping failed", exc_info=True)


class PosfleetApp(FastAPI):
    """The application, with ``GET /v2/device`` answered in front of it while everything that
    answer needs is kept in process (``flow/device_fast.py``); every other request, and that
    one when anything is missing, goes through routing and the middleware as always."""

    fast_device_info: device_fast.FastDeviceInfo | None = None
    fast_device_token: device_fast.FastDeviceToken | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path, method = scope["path"], scope["method"]
            if path == device_fast.PATH and method == "GET":
                info = self.fast_device_info
                if info is not None and await info(scope, send):
                    return
            elif path == device_fast.TOKEN_PATH and method == "POST":
                token = self.fast_device_token

                async def application(replay: Receive) -> None:
                    await FastAPI.__call__(self, scope, replay, send)

                if token is not None and await token(scope, receive, send, application):
                    return
        await super().__call__(scope, receive, send)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings.log_level, json=settings.log_json)
    runtime = Runtime.create(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.load_signing_keys()
        await runtime.start()
        housekeeping = asyncio.create_task(_housekeeping(runtime))
        worker = outbox_worker.start(runtime)
        try:
            yield
        finally:
            await outbox_worker.stop(worker)
            housekeeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await housekeeping
            await runtime.close()

    app = PosfleetApp(
        title="posfleet",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served by apidocs with local assets
        redoc_url=None,
    )
    app.state.runtime = runtime
    app.fast_device_info = device_fast.FastDeviceInfo(runtime)
    app.fast_device_token = device_fast.FastDeviceToken(runtime, app.fast_device_info.log_ids)

    app.add_exception_handler(AppError, rendering.app_error_handler)
    app.add_exception_handler(RequestValidationError, rendering.validation_error_handler)
    app.add_exception_handler(HTTPException, rendering.http_error_handler)
    app.add_exception_handler(sqlalchemy.exc.TimeoutError, rendering.pool_exhausted_handler)
    app.add_exception_handler(Exception, rendering.unexpected_error_handler)

    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(NoStoreMiddleware)
    app.add_middleware(NulRefusalMiddleware)
    app.add_middleware(RequestContextMiddleware)
    app.add_middleware(metrics.MetricsMiddleware)
    # Inside the proxy middleware, so that records name the client, not the load balancer.
    app.add_middleware(ClientAddressMiddleware)
    app.add_middleware(TrustedProxyMiddleware, networks=settings.trusted_proxy_networks)

    apidocs.install(app)
    openapi.install(app)
    app.include_router(health.router)
    app.include_router(flow_auth.router)
    app.include_router(flow_admin.router)
    app.include_router(flow_device.router)
    app.include_router(flow_device_flow.router)
    app.include_router(flow_pairing_codes.router)
    app.include_router(flow_tenant_config.router)
    app.include_router(flow_device_flow_access.router)
    app.include_router(commerce_router.router)
    app.include_router(flow_webhooks.router)
    app.webhooks.include_router(flow_webhooks.documented)
    app.include_router(flow_audit_events.router)
    app.include_router(metrics.router)
    backoffice.install(app)
    return app
