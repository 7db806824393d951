"""Signing in and out of the back office, with the same checks and budget as ``/auth/login``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Query, Request
from starlette.responses import Response

from posfleet.auth.service import AuthService
from posfleet.backoffice.session import PATH
from posfleet.backoffice.web import (
    PREFIX,
    CsrfChecked,
    SignedInReader,
    page_router,
    redirect,
    render,
    session_of,
)
from posfleet.errors import AppError
from posfleet.http import ClientAddress, DbSession, RuntimeDep

router = page_router()


def _safe_next(target: str | None) -> str:
    # Only a path of the back office itself: never an open redirect to another site.
    if target and target.startswith(PATH + "/") and not target.startswith("//"):
        return target
    return f"{PREFIX}/devices"


@router.get("/")
async def home(staff: SignedInReader, request: Request) -> Response:
    return redirect(request, f"{PREFIX}/devices")


@router.get("/sign-in")
async def sign_in_form(
    request: Request, next_page: Annotated[str | None, Query(alias="next", max_length=500)] = None
) -> Response:
    return render(request, "sign_in.html", {"next": _safe_next(next_page), "values": {}})


@router.post("/sign-in")
async def sign_in(
    request: Request,
    _: CsrfChecked,
    db: DbSession,
    runtime: RuntimeDep,
    address: ClientAddress,
    user_code: Annotated[str, Form(max_length=100)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    tenant: Annotated[str, Form(max_length=64)] = "",
    next_page: Annotated[str, Form(alias="next", max_length=500)] = "",
) -> Response:
    values = {"user_code": user_code, "tenant": tenant}
    context: dict[str, object] = {"next": _safe_next(next_page), "values": values}
    if not user_code.strip() or not password:
        context["error"] = "Enter your user code and your password."
        return render(request, "sign_in.html", context, status_code=400)
    service = AuthService(db, runtime)
    try:
        user = await service.back_office_user(
            user_code.strip(), password, tenant.strip() or None, address
        )
    except AppError as exc:
        # Wrong credentials, a store-only account, several tenants, too many attempts: each
        # says what to do next.  Answering normally commits the unit of work, so the attempt
        # stays charged to the address exactly as the API's failed sign-in keeps it.
        context["error"] = exc.message
        context["needs_tenant"] = exc.code == "tenant_required"
        response = render(request, "sign_in.html", context, status_code=exc.status_code)
        response.headers.update(exc.headers)
        return response
    tenant_row = await service.tenants.get_tenant_by_id(user.tenant_id)
    token, _expires = service.tokens.auth_token(user, tenant_row)
    session_of(request).sign_in(token)
    return redirect(request, _safe_next(next_page))


@router.post("/sign-out")
async def sign_out(request: Request, _: CsrfChecked) -> Response:
    session_of(request).sign_out()
    return redirect(request, f"{PREFIX}/sign-in", flash="You are signed out.")
