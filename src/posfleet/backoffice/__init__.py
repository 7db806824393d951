"""The back office: server-rendered pages over the same services as the API.

:func:`install` mounts the pages under ``/backoffice``, their static files, and a redirect from
``/``.  Shared page machinery (layout, session, CSRF, navigation) is in :mod:`.web`.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.responses import RedirectResponse

from posfleet.backoffice import (
    access,
    config_rows,
    configuration,
    deviceflow,
    devices,
    pairing,
    payment_methods,
    signin,
    stores,
    users,
    webhooks,
)
from posfleet.backoffice.web import HERE, PREFIX, add_nav


def install(app: FastAPI) -> None:
    app.include_router(signin.router)
    app.include_router(devices.router)
    app.include_router(pairing.router)
    app.include_router(access.router)
    app.include_router(users.router)
    app.include_router(stores.router)
    app.include_router(configuration.router)
    app.include_router(config_rows.router)
    app.include_router(payment_methods.router)
    app.include_router(webhooks.router)
    app.include_router(deviceflow.router)
    app.include_router(deviceflow.short_router)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=HERE / "static"), name="backoffice-static")

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse(f"{PREFIX}/", status_code=307)


add_nav("Devices", f"{PREFIX}/devices", 10)
add_nav("API access", f"{PREFIX}/access", 40)
add_nav("Users", f"{PREFIX}/users", 50)
add_nav("Stores", f"{PREFIX}/stores", 60)
add_nav("Configuration", f"{PREFIX}/configuration", 70)
add_nav("Webhooks", f"{PREFIX}/webhooks", 80)

__all__ = ["install"]
