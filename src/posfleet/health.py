"""Liveness and readiness probes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from posfleet.http import RuntimeDep
from posfleet.migrations import head_revision

router = APIRouter(tags=["Health"])


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="The database is reachable and migrated to the latest revision",
    responses={503: {"description": "Not ready"}},
)
async def readyz(runtime: RuntimeDep) -> Any:
    head = head_revision()
    try:
        async with runtime.engine.connect() as conn:
            current = (
                await conn.execute(text("SELECT version_num FROM alembic_version"))
            ).scalar_one_or_none()
    except SQLAlchemyError:
        return JSONResponse(
            {"status": "unavailable", "database": "unreachable or not migrated"}, status_code=503
        )
    if current != head:
        return JSONResponse(
            {"status": "unavailable", "database": f"at revision {current}, expected {head}"},
            status_code=503,
        )
    return {"status": "ok", "revision": current}
