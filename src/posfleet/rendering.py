"""Turns any error into the wire shape of the dialect the request was made in."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import structlog
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import compile_path

from posfleet.commerce import wire as commerce_wire
from posfleet.errors import AppError, ServerBusy, ValidationFailed
from posfleet.flow import wire as flow_wire

COMMERCE_PREFIX = "/api/v1/"
log = structlog.get_logger("posfleet.errors")

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def render(
    path: str,
    status: int,
    code: str,
    message: str,
    log_id: str,
    *,
    errors: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    if path.startswith(COMMERCE_PREFIX):
        return commerce_wire.error_response(status, code, message, errors, headers)
    return flow_wire.error_response(status, code, message, log_id, headers)


def _log_id(request: Request) -> str:
    return str(request.scope.get("state", {}).get("log_id", ""))


def describe_validation_errors(errors: Sequence[Any]) -> dict[str, str]:
    """``{"body.appId": "Field required", ...}`` from pydantic's error list."""
    described: dict[str, str] = {}
    for error in errors:
        loc = [
            str(part) for part in error.get("loc", ()) if part != "body" or len(error["loc"]) == 1
        ]
        field = ".".join(loc) or "body"
        if error.get("type") == "json_invalid":
            field, message = "body", "The request body is not valid JSON"
        else:
            message = str(error.get("msg", "is not valid"))
        described.setdefault(field, message)
    return described


async def app_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    errors = exc.errors if isinstance(exc, ValidationFailed) else None
    return render(
        request.url.path,
        exc.status_code,
        exc.code,
        exc.message,
        _log_id(request),
        errors=errors,
        headers=exc.headers,
    )


async def validation_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = describe_validation_errors(exc.errors())
    message = "; ".join(f"{field}: {msg}" for field, msg in errors.items())
    return render(
        request.url.path, 400, "validation_failed", message, _log_id(request), errors=errors
    )


async def http_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    if exc.status_code == 404 and message == "Not Found":
        message = "No such resource"
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        allowed = allowed_methods(request, headers.pop("Allow", ""))
        headers["Allow"] = ", ".join(allowed)
        message = f"{request.method} is not allowed here; use {' or '.join(allowed)}"
    return render(
        request.url.path,
        exc.status_code,
        code,
        message,
        _log_id(request),
        headers=headers,
    )


def allowed_methods(request: Request, starlette_allow: str = "") -> list[str]:
    """Every method some operation of this path answers.  Starlette's own ``Allow`` names only
    the first route whose path matched, and ``GET /v2/device`` and ``PUT /v2/device`` are two;
    the OpenAPI document (built once) knows them all."""
    methods = {m.strip().upper() for m in starlette_allow.split(",") if m.strip()}
    for template, operations in request.app.openapi().get("paths", {}).items():
        if compile_path(template)[0].fullmatch(request.url.path):
            methods |= {method.upper() for method in operations if method != "parameters"}
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


# How long a client is asked to wait when every pooled database connection stayed busy.
POOL_EXHAUSTED_RETRY_AFTER_SECONDS = 1


async def pool_exhausted_handler(request: Request, exc: Exception) -> JSONResponse:
    """Every pooled connection stayed busy for ``database_pool_timeout_seconds``: the server is
    overloaded, not broken, so the client is told to try again (429 ``server_busy``, as when the
    SQLite write queue is full), not given a 500."""
    log.warning("database pool exhausted", path=request.url.path, error=str(exc))
    busy = ServerBusy(
        "The server is busy; try again in a moment", retry_after=POOL_EXHAUSTED_RETRY_AFTER_SECONDS
    )
    return await app_error_handler(request, busy)


async def unexpected_error_handler(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error", path=request.url.path, exc_info=exc)
    return render(
        request.url.path,
        500,
        "internal_error",
        "An unexpected error occurred; report the logId",
        _log_id(request),
    )
