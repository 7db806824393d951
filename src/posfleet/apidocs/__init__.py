"""The API reference pages, ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), with their assets
served by posfleet itself (``static/``, see ``static/VENDORED.md``): the pages work on a
network without internet access and load nothing from a CDN."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/apidocs-assets"
STATIC = Path(__file__).parent / "static"
SWAGGER_JS = f"{ASSETS}/swagger-ui-bundle-5.35.0.js"
SWAGGER_CSS = f"{ASSETS}/swagger-ui-5.35.0.css"
REDOC_JS = f"{ASSETS}/redoc.standalone-2.5.4.js"
FAVICON = f"{ASSETS}/favicon-32x32.png"

router = APIRouter(include_in_schema=False)


@router.get("/docs")
async def swagger_ui() -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="posfleet API",
        swagger_js_url=SWAGGER_JS,
        swagger_css_url=SWAGGER_CSS,
        swagger_favicon_url=FAVICON,
    )


@router.get("/redoc")
async def redoc() -> HTMLResponse:
    return get_redoc_html(
        openapi_url="/openapi.json",
        title="posfleet API",
        redoc_js_url=REDOC_JS,
        redoc_favicon_url=FAVICON,
        with_google_fonts=False,
    )


def install(app: FastAPI) -> None:
    """The pages and their assets; create the app with ``docs_url=None, redoc_url=None``."""
    app.include_router(router)
    app.mount(ASSETS, StaticFiles(directory=STATIC), name="apidocs-assets")
