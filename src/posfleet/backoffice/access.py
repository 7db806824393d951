"""API access: Commerce Engine storefront API keys and integration tokens, each shown once
when issued, listed, and revoked.  The rules are :mod:`posfleet.apikeys` and
:mod:`posfleet.auth.integration`'s; only a tenant administrator gets here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import Form, Path, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from posfleet.apikeys.service import ApiKeyService
from posfleet.auth.integration import IntegrationTokenService
from posfleet.backoffice.web import (
    PREFIX,
    CsrfChecked,
    SignedIn,
    SignedInReader,
    Staff,
    page_router,
    redirect,
    render,
)
from posfleet.errors import AppError
from posfleet.http import DbSession, ReadSession, RuntimeDep
from posfleet.models.base import UID_PATTERN
from posfleet.runtime import Runtime

router = page_router()

ACCESS = f"{PREFIX}/access"
Uid = Annotated[str, Path(pattern=UID_PATTERN, max_length=64)]


async def _page(
    request: Request,
    staff: Staff,
    db: AsyncSession,
    runtime: Runtime,
    *,
    key_form: Mapping[str, object] | None = None,
    token_form: Mapping[str, object] | None = None,
    status_code: int = 200,
) -> Response:
    tenant_uid = staff.tenant.uid
    return render(
        request,
        "access.html",
        {
            "keys": await ApiKeyService(db, runtime).of_tenant(tenant_uid),
            "tokens": await IntegrationTokenService(db, runtime).list(tenant_uid),
            "key_form": key_form or {"given": {}, "error": None},
            "token_form": token_form or {"given": {}, "error": None},
        },
        staff=staff,
        status_code=status_code,
    )


@router.get("/access")
async def access_page(
    request: Request, staff: SignedInReader, db: ReadSession, runtime: RuntimeDep
) -> Response:
    staff.require_tenant_admin()
    return await _page(request, staff, db, runtime)


@router.post("/access/api-keys")
async def issue_api_key(
    request: Request,
    _: CsrfChecked,
    staff: SignedIn,
    db: DbSession,
    runtime: RuntimeDep,
    name: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    staff.require_tenant_admin()
    try:
        async with db.begin_nested():
            issued = await ApiKeyService(db, runtime).create(staff.tenant.uid, name)
    except AppError as exc:
        form = {"given": {"name": name}, "error": exc.message}
        return await _page(request, staff, db, runtime, key_form=form, status_code=400)
    return render(
        request,
        "secret_once.html",
        {"what": "API key", "name": issued.key.name, "secret": issued.secret},
        staff=staff,
        status_code=201,
    )


@router.post("/access/api-keys/{key_uid}/revoke")
async def revoke_api_key(
    request: Request,
    key_uid: Uid,
    _: CsrfChecked,
    staff: SignedIn,
    db: DbSession,
    runtime: RuntimeDep,
) -> Response:
    staff.require_tenant_admin()
    key = await ApiKeyService(db, runtime).revoke(key_uid, staff.tenant.uid)
    return redirect(request, ACCESS, flash=f"The API key {key.name} is revoked.")


@router.post("/access/integration-tokens")
async def issue_integration_token(
    request: Request,
    _: CsrfChecked,
    staff: SignedIn,
    db: DbSession,
    runtime: RuntimeDep,
    user_code: Annotated[str, Form(max_length=100)] = "",
    name: Annotated[str, Form(max_length=1000)] = "",
    days: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    staff.require_tenant_admin()
    values = {"user_code": user_code, "name": name, "days": days}
    try:
        lifetime = int(days) if days.strip() else None
    except ValueError:
        form = {"given": values, "error": "Days must be a whole number, or empty for no end."}
        return await _page(request, staff, db, runtime, token_form=form, status_code=400)
    try:
        async with db.begin_nested():
            issued = await IntegrationTokenService(db, runtime).create(
                staff.tenant.uid, user_code.strip(), name, days=lifetime
            )
    except AppError as exc:
        form = {"given": values, "error": exc.message}
        return await _page(request, staff, db, runtime, token_form=form, status_code=400)
    return render(
        request,
        "secret_once.html",
        {"what": "integration token", "name": issued.row.name, "secret": issued.token},
        staff=staff,
        status_code=201,
    )


@router.post("/access/integration-tokens/{jti}/revoke")
async def revoke_integration_token(
    request: Request,
    jti: Uid,
    _: CsrfChecked,
    staff: SignedIn,
    db: DbSession,
    runtime: RuntimeDep,
) -> Response:
    staff.require_tenant_admin()
    await IntegrationTokenService(db, runtime).revoke(staff.tenant.uid, jti)
    return redirect(request, ACCESS, flash="The integration token is revoked.")
