"""The device flow's verification page (``verificationUri``): a signed-in FULL user types the
code a device shows, sees what is asking, places it in a store and till, approves or denies.

Works without JavaScript: the code is looked up by a form (or arrives as ``?code=``), the
decision is a second form with two submit buttons.  Every lookup and decision is charged to
the address and the tenant, like ``POST /v2/device/authorize``.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import RedirectResponse, Response

from posfleet.backoffice.web import (
    PREFIX,
    SIGN_IN,
    CsrfChecked,
    SignedIn,
    SignInRequired,
    Staff,
    add_nav,
    page_router,
    redirect,
    render,
    signed_in,
)
from posfleet.deviceflow.service import DeviceFlowService, PendingGrant
from posfleet.errors import AppError, Forbidden, ValidationFailed
from posfleet.http import ClientAddress, DbSession, RuntimeDep
from posfleet.kit.clock import utcnow
from posfleet.models.enums import AccountType
from posfleet.runtime import Runtime

PAGE = f"{PREFIX}/device-flow"
router = page_router()
# The address devices show people (``verificationUri``): short to type, it leads to the page.
short_router = APIRouter(include_in_schema=False)

add_nav("Approve a device", PAGE, 20)

Code = Annotated[str, Form(max_length=64)]
Uid = Annotated[str, Form(max_length=64)]


@short_router.get("/device")
async def verification_uri(code: Annotated[str, Query(max_length=64)] = "") -> RedirectResponse:
    target = f"{PAGE}?{urlencode({'code': code})}" if code else PAGE
    return RedirectResponse(target, status_code=303)


def _full(staff: Staff) -> Staff:
    if staff.user.account_type is not AccountType.FULL:
        raise Forbidden("Only a FULL user can approve devices")
    return staff


def _duration(seconds: int) -> str:
    minutes, rest = divmod(seconds, 60)
    if minutes and rest:
        return f"{minutes} min {rest} s"
    return f"{minutes} min" if minutes else f"{rest} s"


async def _review(
    request: Request,
    staff: Staff,
    service: DeviceFlowService,
    found: PendingGrant,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    grant = found.grant
    context: dict[str, Any] = {
        "found": found,
        "places": await service.places(staff.tenant, staff.user),
        "left": _duration(found.seconds_left(utcnow())),
        "asked": grant.created_at.strftime("%Y-%m-%d %H:%M UTC"),
        "values": values or {"name": grant.name or found.client.name},
        "errors": errors or {},
    }
    return render(request, "deviceflow/review.html", context, staff=staff, status_code=status_code)


def _entry(
    request: Request, staff: Staff, code: str, error: str | None = None, status_code: int = 200
) -> Response:
    context = {"code": code, "error": error}
    return render(request, "deviceflow/enter.html", context, staff=staff, status_code=status_code)


def _refused(request: Request, staff: Staff, code: str, exc: AppError) -> Response:
    response = _entry(request, staff, code, exc.message, exc.status_code)
    response.headers.update(exc.headers)  # Retry-After of a spent budget
    return response


async def _look_up(
    request: Request, staff: Staff, runtime: Runtime, db: DbSession, code: str, address: str
) -> Response:
    service = DeviceFlowService(db, runtime)
    if not code.strip():
        return _entry(request, staff, code, "Enter the code the device shows.", 400)
    try:
        await service.charge_attempt(staff.tenant, address)
        found = await service.pending(code)
        await service.check_client(staff.tenant, found)
    except AppError as exc:
        return _refused(request, staff, code, exc)
    return await _review(request, staff, service, found)


@router.get("/device-flow")
async def enter_code(
    request: Request,
    db: DbSession,
    runtime: RuntimeDep,
    address: ClientAddress,
    code: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    try:
        staff = _full(await signed_in(request, db, runtime))
    except SignInRequired:
        # Back here after signing in, with the code the device's link carried.
        target = f"{PAGE}?{urlencode({'code': code})}" if code else PAGE
        return RedirectResponse(f"{SIGN_IN}?next={quote(target)}", status_code=303)
    if not code:
        return _entry(request, staff, "")
    return await _look_up(request, staff, runtime, db, code, address)


@router.post("/device-flow")
async def look_up(
    request: Request,
    _: CsrfChecked,
    staff: SignedIn,
    db: DbSession,
    runtime: RuntimeDep,
    address: ClientAddress,
    code: Code = "",
) -> Response:
    return await _look_up(request, _full(staff), runtime, db, code, address)


@router.post("/device-flow/decide")
async def decide(
    request: Request,
    _: CsrfChecked,
    staff: SignedIn,
    db: DbSession,
    runtime: RuntimeDep,
    address: ClientAddress,
    code: Code = "",
    decision: Annotated[str, Form(max_length=10)] = "",
    store: Uid = "",
    till: Uid = "",
    name: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    staff = _full(staff)
    service = DeviceFlowService(db, runtime)
    if decision == "deny":
        try:
            await service.deny(staff.tenant, staff.user, code, address)
        except AppError as exc:
            return _refused(request, staff, code, exc)
        return redirect(request, PAGE, flash="The device was denied; it will not be let in.")
    values = {"store": store, "till": till, "name": name}
    if not store:
        try:
            await service.charge_attempt(staff.tenant, address)  # it looks a code up too
        except AppError as exc:
            return _refused(request, staff, code, exc)
        found = await _pending_or_none(service, code)
        if found is None:
            return _entry(request, staff, code, "This code is no longer waiting.", 400)
        errors = {"store": "Choose the store the device is in."}
        return await _review(request, staff, service, found, values, errors, 400)
    try:
        device = await service.authorize(
            staff.tenant,
            staff.user,
            code,
            store_uid=store,
            till_uid=till or None,
            name=name,
            address=address,
        )
    except ValidationFailed as exc:
        found = await _pending_or_none(service, code)
        if found is None:
            return _entry(request, staff, code, exc.message, exc.status_code)
        errors = {
            "store" if "store" in key.lower() else "till" if "till" in key.lower() else "form": msg
            for key, msg in (exc.errors or {"form": exc.message}).items()
        }
        return await _review(request, staff, service, found, values, errors, 400)
    except AppError as exc:
        return _refused(request, staff, code, exc)
    return redirect(
        request, PAGE, flash=f"{device.name} is approved and active. The device signs in by itself."
    )


async def _pending_or_none(service: DeviceFlowService, code: str) -> PendingGrant | None:
    try:
        return await service.pending(code)
    except AppError:
        return None
