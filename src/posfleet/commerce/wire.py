"""Commerce Engine wire helpers: the ``{message, success, content}`` envelope and its errors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi.responses import JSONResponse


def envelope(content: Any, message: str = "OK") -> dict[str, Any]:
    return {"message": message, "success": True, "content": content}


def error_response(
    status: int,
    code: str,
    message: str,
    errors: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"message": message, "success": False, "code": code}
    if errors:
        body["errors"] = dict(errors)
    return JSONResponse(body, status_code=status, headers=headers)
