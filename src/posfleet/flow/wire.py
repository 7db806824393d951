"""Flow v2 wire helpers: the generic error body ``{code, message, logId}``."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi.responses import JSONResponse


def error_response(
    status: int, code: str, message: str, log_id: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"code": code, "message": message, "logId": log_id}, status_code=status, headers=headers
    )
