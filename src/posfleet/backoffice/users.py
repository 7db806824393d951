"""Users of the tenant: list, create, reset a password, deactivate and reactivate, store
access.  The rules are :mod:`posfleet.users`'s; only a tenant administrator gets here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import Path, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

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
from posfleet.errors import AppError, ValidationFailed
from posfleet.http import DbSession, ReadSession
from posfleet.kit.pagination import PageRequest
from posfleet.models.base import UID_PATTERN
from posfleet.models.enums import AccountType
from posfleet.tenants.stores import StoreService
from posfleet.users.service import UserService

router = page_router()

USERS = f"{PREFIX}/users"
PAGE_SIZE = 50
PERMISSIONS = ("TENANT.ADMIN", "DEVICE")
UserUid = Annotated[str, Path(pattern=UID_PATTERN, max_length=64)]
_FIELDS = {"userCode": "user_code", "languageCode": "language_code"}


@router.get("/users")
async def user_list(
    request: Request,
    staff: SignedInReader,
    db: ReadSession,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    staff.require_tenant_admin()
    paging = PageRequest.parse(
        page_number=page,
        page_size=PAGE_SIZE,
        sort_by="user_code",
        sort_direction="ASC",
        sortable=frozenset({"user_code"}),
        default_sort="user_code",
        default_size=PAGE_SIZE,
        max_size=PAGE_SIZE,
    )
    result = await UserService(db).page_of_tenant(staff.tenant.id, paging)
    last_page = max(1, -(-result.total_count // PAGE_SIZE))
    return render(
        request, "users/list.html", {"result": result, "last_page": last_page}, staff=staff
    )


async def _new_form(
    request: Request,
    staff: Staff,
    db: AsyncSession,
    values: Mapping[str, object],
    errors: Mapping[str, str],
    status_code: int = 200,
) -> Response:
    context = {
        "values": values,
        "errors": errors,
        "stores": await StoreService(db).list_stores(staff.tenant.id),
        "account_types": list(AccountType),
        "permissions": PERMISSIONS,
    }
    return render(request, "users/new.html", context, staff=staff, status_code=status_code)


@router.get("/users/new")
async def new_user_form(request: Request, staff: SignedInReader, db: ReadSession) -> Response:
    staff.require_tenant_admin()
    values = {"account_type": "REGULAR", "permissions": [], "stores": []}
    return await _new_form(request, staff, db, values, {})


@router.post("/users/new")
async def create_user(request: Request, _: CsrfChecked, staff: SignedIn, db: DbSession) -> Response:
    staff.require_tenant_admin()
    form = await request.form()
    text = {
        name: str(form.get(name, ""))[:320]
        for name in ("user_code", "password", "account_type", "first_name", "last_name",
                     "email", "mobile", "mobile_country_code")
    }  # fmt: skip
    permissions = [p for p in (str(v) for v in form.getlist("permissions")) if p in PERMISSIONS]
    store_uids = [str(v) for v in form.getlist("stores")]
    all_stores = form.get("all_stores") == "on"
    values = {**text, "permissions": permissions, "stores": store_uids, "all_stores": all_stores}
    errors: dict[str, str] = {}
    if text["account_type"] not in AccountType.__members__:
        errors["account_type"] = "Choose the kind of account."
    stores = StoreService(db)
    chosen = []
    for uid in store_uids:
        store = await stores.find_store(staff.tenant.id, uid)
        if store is None:
            errors["stores"] = "One of the chosen stores no longer exists."
        else:
            chosen.append(store)
    if not errors:
        try:
            async with db.begin_nested():
                user = await UserService(db).create(
                    staff.tenant,
                    user_code=text["user_code"],
                    password=text["password"],
                    account_type=AccountType(text["account_type"]),
                    first_name=text["first_name"].strip(),
                    last_name=text["last_name"].strip(),
                    email=text["email"],
                    mobile=text["mobile"],
                    mobile_country_code=text["mobile_country_code"],
                    permissions=permissions,
                    all_stores=all_stores,
                    stores=chosen,
                )
        except ValidationFailed as exc:
            errors = {_FIELDS.get(k, k): v for k, v in exc.errors.items()} or {"form": exc.message}
        except AppError as exc:
            errors = {"form": exc.message}
        else:
            return redirect(request, f"{USERS}/{user.uid}", flash=f"User {user.user_code} created.")
    values["password"] = ""
    return await _new_form(request, staff, db, values, errors, status_code=400)


async def _detail(
    request: Request,
    staff: Staff,
    db: AsyncSession,
    user_uid: str,
    *,
    password_error: str | None = None,
    status_code: int = 200,
) -> Response:
    users = UserService(db)
    user = await users.get_by_uid(staff.tenant, user_uid)
    context = {
        "user": user,
        "roles": await users.store_roles(user),
        "stores": await StoreService(db).list_stores(staff.tenant.id),
        "password_error": password_error,
        "is_self": user.id == staff.user.id,
    }
    return render(request, "users/detail.html", context, staff=staff, status_code=status_code)


@router.get("/users/{user_uid}")
async def user_detail(
    request: Request, user_uid: UserUid, staff: SignedInReader, db: ReadSession
) -> Response:
    staff.require_tenant_admin()
    return await _detail(request, staff, db, user_uid)


@router.post("/users/{user_uid}/password")
async def reset_password(
    request: Request, user_uid: UserUid, _: CsrfChecked, staff: SignedIn, db: DbSession
) -> Response:
    staff.require_tenant_admin()
    form = await request.form()
    password = str(form.get("password", ""))
    users = UserService(db)
    user = await users.get_by_uid(staff.tenant, user_uid)
    if not password:
        return await _detail(
            request, staff, db, user_uid, password_error="Enter the new password.", status_code=400
        )
    if len(password) > 1000:
        return await _detail(
            request,
            staff,
            db,
            user_uid,
            password_error="At most 1,000 characters.",
            status_code=400,
        )
    await users.reset_password(user, password)
    return redirect(
        request,
        f"{USERS}/{user.uid}",
        flash=f"The password of {user.user_code} is changed; every token of the user is revoked.",
    )


@router.post("/users/{user_uid}/deactivate")
async def deactivate_user(
    request: Request, user_uid: UserUid, _: CsrfChecked, staff: SignedIn, db: DbSession
) -> Response:
    staff.require_tenant_admin()
    users = UserService(db)
    user = await users.get_by_uid(staff.tenant, user_uid)
    if user.id == staff.user.id:
        raise ValidationFailed("You cannot deactivate your own account.")
    users.deactivate(user)
    return redirect(
        request, f"{USERS}/{user.uid}", flash=f"{user.user_code} is deactivated and signed out."
    )


@router.post("/users/{user_uid}/activate")
async def activate_user(
    request: Request, user_uid: UserUid, _: CsrfChecked, staff: SignedIn, db: DbSession
) -> Response:
    staff.require_tenant_admin()
    users = UserService(db)
    user = await users.get_by_uid(staff.tenant, user_uid)
    users.activate(user)
    return redirect(request, f"{USERS}/{user.uid}", flash=f"{user.user_code} is active again.")


@router.post("/users/{user_uid}/stores")
async def set_store_access(
    request: Request, user_uid: UserUid, _: CsrfChecked, staff: SignedIn, db: DbSession
) -> Response:
    staff.require_tenant_admin()
    form = await request.form()
    wanted = {str(v) for v in form.getlist("stores")}
    users = UserService(db)
    user = await users.get_by_uid(staff.tenant, user_uid)
    for store in await StoreService(db).list_stores(staff.tenant.id):
        if store.uid in wanted:
            await users.grant_store_access(user, store)
        else:
            await users.revoke_store_access(user, store)
    return redirect(request, f"{USERS}/{user.uid}", flash="Store access saved.")


__all__ = ["router"]
