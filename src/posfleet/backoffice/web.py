"""What every back-office page shares: the layout, the navigation, the signed-in user, CSRF.

A page is a route of a router made with :func:`page_router`.  Its route class loads the session
cookie before the view runs and writes it back after; it turns a missing sign-in into a
redirect to the sign-in page and any :class:`AppError` the view lets through into the error page
in plain words.  Views catch the errors a form can cause and show them beside the form instead.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import HTMLResponse, RedirectResponse, Response

from posfleet.auth.service import BACK_OFFICE_ACCOUNTS
from posfleet.backoffice import session as cookies
from posfleet.backoffice.session import BackOfficeSession
from posfleet.errors import AppError, Forbidden, Unauthorized
from posfleet.http import DbSession, ReadSession, RuntimeDep
from posfleet.kit.jwt import TokenType
from posfleet.models import Tenant, TenantUser
from posfleet.runtime import Runtime
from posfleet.tokens.principal import Principal
from posfleet.tokens.service import TokenService
from posfleet.users.service import is_tenant_admin

HERE = Path(__file__).parent
PREFIX = "/backoffice"
SIGN_IN = f"{PREFIX}/sign-in"
CSRF_FIELD = "csrf"

templates = Jinja2Templates(directory=HERE / "templates")


@dataclass(frozen=True, slots=True)
class NavEntry:
    label: str
    href: str
    #: Entries are shown by ascending order; leave gaps so others can slot in.
    order: int


NAV: list[NavEntry] = []


def add_nav(label: str, href: str, order: int) -> None:
    """Show ``label`` in the navigation of every signed-in page.  Taken orders: Devices 10,
    Approve a device 20 (the device-flow verification page), API access 40, Users 50,
    Stores 60, Configuration 70, Webhooks 80."""
    NAV.append(NavEntry(label, href, order))
    NAV.sort(key=lambda entry: entry.order)


class SignInRequired(Exception):
    """The page needs a signed-in user and there is none (or the session ended)."""


class CsrfRefused(Forbidden):
    code = "csrf_refused"

    def __init__(self) -> None:
        super().__init__(
            "This form was not sent from a page of this back office, or the page is too old. "
            "Go back, reload the page and try again."
        )


@dataclass(frozen=True, slots=True)
class Staff:
    """The signed-in back-office user and their tenant."""

    principal: Principal
    user: TenantUser
    tenant: Tenant

    @property
    def actor(self) -> str:
        return self.principal.actor

    def require_tenant_admin(self) -> None:
        """Keys, tokens and users are the tenant administrator's (TENANT.ADMIN)."""
        if not is_tenant_admin(self.user):
            raise Forbidden("Only a tenant administrator (TENANT.ADMIN) may do this")

    def require_device_management(self) -> None:
        """The same rule the device API applies: TENANT.ADMIN or the DEVICE permission."""
        if not self.principal.can_manage_devices:
            raise Forbidden("Your account may not manage devices (TENANT.ADMIN or DEVICE needed)")


def session_of(request: Request) -> BackOfficeSession:
    found: BackOfficeSession = request.state.backoffice
    return found


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def _staff(request: Request, db: AsyncSession, runtime: Runtime) -> Staff:
    state = session_of(request)
    if state.token is None:
        raise SignInRequired
    try:
        principal = await TokenService(db, runtime).authenticate(state.token, TokenType.AUTH)
    except Unauthorized:
        state.sign_out()
        state.flash = "Your session has ended. Sign in again."
        raise SignInRequired from None
    user = principal.user
    assert user is not None  # an authToken always names its user
    if user.account_type not in BACK_OFFICE_ACCOUNTS:
        # The account was made a store-only (or integration) one after it signed in.
        state.sign_out()
        state.flash = "Your account may no longer use the back office."
        raise SignInRequired
    return Staff(principal, user, principal.tenant)


async def signed_in(request: Request, db: DbSession, runtime: RuntimeDep) -> Staff:
    return await _staff(request, db, runtime)


async def signed_in_reader(request: Request, db: ReadSession, runtime: RuntimeDep) -> Staff:
    return await _staff(request, db, runtime)


async def csrf_checked(request: Request) -> None:
    """Refuse a POST whose form does not carry this session's CSRF token."""
    form = await request.form()
    presented = form.get(CSRF_FIELD)
    if not isinstance(presented, str) or not session_of(request).check_csrf(presented):
        raise CsrfRefused


#: A signed-in user, for views that change things (with ``DbSession``).
SignedIn = Annotated[Staff, Depends(signed_in)]
#: A signed-in user, for views that only read (with ``ReadSession``).
SignedInReader = Annotated[Staff, Depends(signed_in_reader)]
#: Put in a POST view's signature (``_: CsrfChecked``) to verify its form's CSRF token.
CsrfChecked = Annotated[None, Depends(csrf_checked)]


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    staff: Staff | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """``template`` (which extends ``base.html``) with the layout's context filled in."""
    state = session_of(request)
    flash, state.flash = state.flash, None
    values = {
        "staff": staff,
        "nav": NAV if staff is not None else [],
        "csrf_token": state.csrf,
        "csrf_field": CSRF_FIELD,
        "flash": flash,
        "path": request.url.path,
        **(context or {}),
    }
    response = templates.TemplateResponse(request, template, values, status_code=status_code)
    # Pages show link codes and secrets once; no cache may keep a copy.
    response.headers["Cache-Control"] = "no-store"
    return response


def confirm_page(
    request: Request,
    staff: Staff,
    *,
    heading: str,
    text: str,
    action: str,
    fields: Mapping[str, str],
    button: str,
    back: str,
) -> HTMLResponse:
    """Ask before removing something: ``button`` POSTs ``fields`` to ``action``; *Keep it*
    goes back to ``back``."""
    context = {
        "heading": heading,
        "text": text,
        "action": action,
        "fields": fields,
        "button": button,
        "back": back,
    }
    return render(request, "confirm_delete.html", context, staff=staff)


def redirect(request: Request, url: str, *, flash: str | None = None) -> RedirectResponse:
    """303 to ``url`` (POST-redirect-GET), with ``flash`` shown on the next page."""
    if flash is not None:
        session_of(request).flash = flash
    return RedirectResponse(url, status_code=303)


def _error_page(request: Request, status: int, message: str) -> Response:
    return render(
        request,
        "error.html",
        {"status": status, "message": message},
        status_code=status,
    )


# No other site may frame a page (clickjacking a Block or Delete button), and page URLs, which
# carry search terms, are not sent to other sites.
_PAGE_HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "Referrer-Policy": "same-origin",
}


class PageRoute(APIRoute):
    """A back-office page: session cookie in and out, errors as pages, never as JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def page(request: Request) -> Response:
            settings = _runtime(request).settings
            state = cookies.load(request, settings)
            if state.timed_out:
                state.flash = "You were signed out after a while without activity. Sign in again."
            request.state.backoffice = state
            try:
                response = await handle(request)
            except SignInRequired:
                target = request.url.path if request.method == "GET" else f"{PREFIX}/"
                response = RedirectResponse(f"{SIGN_IN}?next={quote(target)}", status_code=303)
            except AppError as exc:
                response = _error_page(request, exc.status_code, exc.message)
                response.headers.update(exc.headers)
            except RequestValidationError as exc:
                response = _error_page(request, 400, _plain(exc))
            cookies.save(response, request, state, settings)
            response.headers.update(_PAGE_HEADERS)
            return response

        return page


def _plain(exc: RequestValidationError) -> str:
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error.get("loc", ())[1:]) or "the request"
        problems.append(f"{where}: {error.get('msg', 'is not valid')}")
    return "The page was asked for with values it does not understand. " + "; ".join(problems)


def page_router() -> APIRouter:
    return APIRouter(prefix=PREFIX, route_class=PageRoute, include_in_schema=False)
