"""Flow v2 tenant configuration: everything DeviceInfo shows and a device needs, under
``/v2/tenants/{tenantUid}/…``.  Translation only: every rule lives in the tenant services.

The same admin tokens as the device operations, with ``TENANT.ADMIN``; a token of another
tenant gets 403, a row of another tenant 404.  Creates take an ``Idempotency-Key``; lists are
paged.  A change shows in DeviceInfo on the next ``GET /v2/device``: database triggers move the
tenant's ``config_version`` on every row DeviceInfo reads.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from posfleet.apps.service import AppRegistryService
from posfleet.devices.service import DeviceService, Hardware
from posfleet.errors import Forbidden
from posfleet.flow import config_schemas as s
from posfleet.flow.auth import AdminPrincipal
from posfleet.flow.schemas import UID_REGEX, Paging
from posfleet.http import DbSession, RuntimeDep, SettingsDep
from posfleet.kit.idempotency import IdempotencyStore, check_key, request_hash
from posfleet.kit.pagination import Page, PageRequest
from posfleet.models import Printer, Store, TenantUser, Till
from posfleet.models.enums import DenominationMaterial, ReasonKind
from posfleet.tenants.payments import PaymentCatalogService, PaymentMethodFields
from posfleet.tenants.reasons import DenominationFields, ReasonFields, ReasonService
from posfleet.tenants.service import TenantFields, TenantService
from posfleet.tenants.setting_definitions import SettingDefinitionFields, SettingDefinitionService
from posfleet.tenants.stores import PrinterFields, StoreFields, StoreService, TillFields
from posfleet.tokens.principal import Principal
from posfleet.users.service import TENANT_ADMIN, UserChanges, UserService

router = APIRouter(prefix="/v2/tenants/{tenantUid}", tags=["Tenant configuration"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Invalid request; the generic error body `{code, message, logId}`"},
    401: {"description": "Missing, malformed, expired or revoked token"},
    403: {"description": "The token lacks TENANT.ADMIN, or belongs to another tenant"},
    404: {"description": "No such row in this tenant"},
    409: {"description": "The UID, number or zero-amount method is already taken"},
}


async def config_admin(principal: AdminPrincipal) -> Principal:
    """An admin token of the tenant in the path whose user holds ``TENANT.ADMIN``."""
    if principal.user is None or TENANT_ADMIN not in principal.user.permissions:
        raise Forbidden("TENANT.ADMIN permission is required")
    return principal


Admin = Annotated[Principal, Depends(config_admin)]
StoreUid = Annotated[str, Path(alias="storeUid", pattern=UID_REGEX, max_length=64)]
TillUid = Annotated[str, Path(alias="tillUid", pattern=UID_REGEX, max_length=64)]
PrinterUid = Annotated[str, Path(alias="printerUid", pattern=UID_REGEX, max_length=64)]
MethodUid = Annotated[str, Path(alias="paymentMethodUid", pattern=UID_REGEX, max_length=64)]
Kind = Annotated[ReasonKind, Path(alias="kind")]
Code = Annotated[str, Path(alias="code", min_length=1, max_length=64)]
SettingKey = Annotated[str, Path(alias="key", min_length=1, max_length=100)]
Currency = Annotated[str, Path(alias="currencyCode", pattern=r"^[A-Z]{3}$")]
Material = Annotated[DenominationMaterial, Path(alias="material")]
Amount = Annotated[int, Path(alias="denomination", ge=1, le=10**12)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Retrying a create with the same key returns the first answer",
    ),
]


async def _page(
    settings: SettingsDep,
    page_number: Annotated[
        int | None, Query(alias="pageNumber", ge=1, le=1_000_000_000, description="1-based")
    ] = None,
    page_size: Annotated[
        int | None, Query(alias="pageSize", description="Items per page (default 50, at most 500)")
    ] = None,
) -> PageRequest:
    return PageRequest.parse(
        page_number=page_number,
        page_size=page_size,
        sort_by=None,
        sort_direction=None,
        sortable=frozenset({"natural"}),
        default_sort="natural",
        default_size=settings.page_size_default,
        max_size=settings.page_size_max,
    )


Paged = Annotated[PageRequest, Depends(_page)]


def _json(answer: BaseModel, status_code: int = 200) -> Response:
    return Response(
        answer.model_dump_json(by_alias=True),
        status_code=status_code,
        media_type="application/json",
    )


def _list(page: Page[Any], items: list[s.Answer]) -> Response:
    body = {
        "items": [i.model_dump(mode="json", by_alias=True) for i in items],
        "paging": Paging.of(page).model_dump(mode="json"),
    }
    return JSONResponse(body)


async def _create(
    session: DbSession,
    principal: Principal,
    scope: str,
    key: str | None,
    request: dict[str, Any],
    make: Callable[[], Awaitable[BaseModel]],
) -> Response:
    """``make()`` once per ``Idempotency-Key``: a retry gets the first answer back."""
    tenant_id = principal.tenant.id
    store = IdempotencyStore(session)
    if key is not None:
        key = check_key(key)
        answer = await store.claim(tenant_id, scope, key, request_hash(request))
        if answer is not None:
            return JSONResponse(
                answer.body, status_code=answer.status_code, headers={"Idempotent-Replayed": "true"}
            )
    payload = (await make()).model_dump(mode="json", by_alias=True)
    if key is not None:
        await store.complete(tenant_id, scope, key, 201, payload)
    return JSONResponse(payload, status_code=201)


def _body(body: BaseModel, **path: str) -> dict[str, Any]:
    return {"path": path, "body": body.model_dump(mode="json", exclude_unset=True)}


def _op(method: str, path: str, name: str, summary: str, **kwargs: Any) -> Callable[..., Any]:
    return router.api_route(
        path,
        methods=[method],
        operation_id=name,
        summary=summary,
        responses=_ERRORS,
        **kwargs,
    )


# The tenant ---------------------------------------------------------------------------------


@_op("GET", "", "get-tenant-config", "Get the tenant's settings", response_model=s.TenantAnswer)
async def get_tenant(principal: Admin) -> Response:
    return _json(s.TenantAnswer.of(principal.tenant, tenant_uid=principal.tenant.uid))


@_op("PUT", "", "put-tenant-config", "Update the tenant's settings", response_model=s.TenantAnswer)
async def update_tenant(body: s.TenantUpdate, principal: Admin, session: DbSession) -> Response:
    """Partial: only the fields given change."""
    tenant = await TenantService(session).update_tenant(
        principal.tenant.id, s.fields_of(TenantFields, body)
    )
    return _json(s.TenantAnswer.of(tenant, tenant_uid=tenant.uid))


# Stores -------------------------------------------------------------------------------------


def _store(store: Store) -> s.StoreAnswer:
    return s.StoreAnswer.of(store, store_uid=store.uid)


@_op("GET", "/stores", "get-tenants-stores", "List stores", response_model=s.StoreList)
async def list_stores(principal: Admin, session: DbSession, page: Paged) -> Response:
    result = await StoreService(session).page_stores(principal.tenant.id, page)
    return _list(result, [_store(x) for x in result.items])


@_op(
    "POST",
    "/stores",
    "post-tenants-stores",
    "Create a store",
    status_code=201,
    response_model=s.StoreAnswer,
)
async def create_store(
    body: s.StoreCreate, principal: Admin, session: DbSession, key: IdempotencyKey = None
) -> Response:
    """Without ``paymentMethods`` of its own a new store gets a listed CASH method and the
    zero-amount method DeviceInfo needs, so a device placed in it can be served at once."""

    async def make() -> BaseModel:
        store = await StoreService(session).create_store(
            principal.tenant.id, s.fields_of(StoreFields, body), uid=body.store_uid
        )
        return _store(store)

    return await _create(session, principal, "config.stores", key, _body(body), make)


@_op("GET", "/stores/{storeUid}", "get-tenants-store", "Get a store", response_model=s.StoreAnswer)
async def get_store(uid: StoreUid, principal: Admin, session: DbSession) -> Response:
    return _json(_store(await StoreService(session).get_store(principal.tenant.id, uid)))


@_op(
    "PUT", "/stores/{storeUid}", "put-tenants-store", "Update a store", response_model=s.StoreAnswer
)
async def update_store(
    uid: StoreUid, body: s.StoreUpdate, principal: Admin, session: DbSession
) -> Response:
    """Partial: only the fields given change.  ``isActive: false`` disables the store."""
    store = await StoreService(session).update_store(
        principal.tenant.id, uid, s.fields_of(StoreFields, body)
    )
    return _json(_store(store))


@_op(
    "DELETE",
    "/stores/{storeUid}",
    "delete-tenants-store",
    "Delete a store",
    status_code=204,
    response_class=Response,
)
async def delete_store(uid: StoreUid, principal: Admin, session: DbSession) -> Response:
    """Its tills and payment methods go with it; its devices stay, without a store."""
    await StoreService(session).delete_store(principal.tenant.id, uid)
    return Response(status_code=204)


# Tills --------------------------------------------------------------------------------------


async def _till(stores: StoreService, tenant_id: int, till: Till) -> s.TillAnswer:
    store = await stores.get_store_by_id(tenant_id, till.store_id)
    return s.TillAnswer.of(till, till_uid=till.uid, store_uid=store.uid)


@_op(
    "GET",
    "/stores/{storeUid}/tills",
    "get-tenants-store-tills",
    "List a store's tills",
    response_model=s.TillList,
)
async def list_tills(uid: StoreUid, principal: Admin, session: DbSession, page: Paged) -> Response:
    result = await StoreService(session).page_tills(principal.tenant.id, uid, page)
    return _list(result, [s.TillAnswer.of(t, till_uid=t.uid, store_uid=uid) for t in result.items])


@_op(
    "POST",
    "/stores/{storeUid}/tills",
    "post-tenants-store-tills",
    "Create a till in a store",
    status_code=201,
    response_model=s.TillAnswer,
)
async def create_till(
    uid: StoreUid,
    body: s.TillCreate,
    principal: Admin,
    session: DbSession,
    key: IdempotencyKey = None,
) -> Response:
    """``number`` is required and unique in the store; ``name`` defaults to ``Till <number>``."""

    async def make() -> BaseModel:
        till = await StoreService(session).create_till(
            principal.tenant.id, uid, s.fields_of(TillFields, body), uid=body.till_uid
        )
        return s.TillAnswer.of(till, till_uid=till.uid, store_uid=uid)

    return await _create(session, principal, "config.tills", key, _body(body, store=uid), make)


@_op("GET", "/tills/{tillUid}", "get-tenants-till", "Get a till", response_model=s.TillAnswer)
async def get_till(uid: TillUid, principal: Admin, session: DbSession) -> Response:
    stores = StoreService(session)
    till = await stores.get_till(principal.tenant.id, uid)
    return _json(await _till(stores, principal.tenant.id, till))


@_op("PUT", "/tills/{tillUid}", "put-tenants-till", "Update a till", response_model=s.TillAnswer)
async def update_till(
    uid: TillUid, body: s.TillUpdate, principal: Admin, session: DbSession
) -> Response:
    stores = StoreService(session)
    till = await stores.update_till(principal.tenant.id, uid, s.fields_of(TillFields, body))
    return _json(await _till(stores, principal.tenant.id, till))


@_op(
    "DELETE",
    "/tills/{tillUid}",
    "delete-tenants-till",
    "Delete a till",
    status_code=204,
    response_class=Response,
)
async def delete_till(uid: TillUid, principal: Admin, session: DbSession) -> Response:
    """A device bound to it stays in its store, without a till."""
    await StoreService(session).delete_till(principal.tenant.id, uid)
    return Response(status_code=204)


# Printers -----------------------------------------------------------------------------------


async def _printer(stores: StoreService, tenant_id: int, printer: Printer) -> s.PrinterAnswer:
    store_uid = None
    if printer.store_id is not None:
        store_uid = (await stores.get_store_by_id(tenant_id, printer.store_id)).uid
    return s.PrinterAnswer.of(printer, printer_uid=printer.uid, store_uid=store_uid)


@_op("GET", "/printers", "get-tenants-printers", "List printers", response_model=s.PrinterList)
async def list_printers(principal: Admin, session: DbSession, page: Paged) -> Response:
    stores = StoreService(session)
    result = await stores.page_printers(principal.tenant.id, page)
    return _list(result, [await _printer(stores, principal.tenant.id, p) for p in result.items])


@_op(
    "POST",
    "/printers",
    "post-tenants-printers",
    "Create a printer",
    status_code=201,
    response_model=s.PrinterAnswer,
)
async def create_printer(
    body: s.PrinterCreate, principal: Admin, session: DbSession, key: IdempotencyKey = None
) -> Response:
    """A printer of the tenant, or of one store with ``storeUid``."""

    async def make() -> BaseModel:
        stores = StoreService(session)
        printer = await stores.create_printer(
            principal.tenant.id,
            s.fields_of(PrinterFields, body),
            store_uid=body.store_uid,
            uid=body.printer_uid,
        )
        return await _printer(stores, principal.tenant.id, printer)

    return await _create(session, principal, "config.printers", key, _body(body), make)


@_op(
    "GET",
    "/printers/{printerUid}",
    "get-tenants-printer",
    "Get a printer",
    response_model=s.PrinterAnswer,
)
async def get_printer(uid: PrinterUid, principal: Admin, session: DbSession) -> Response:
    stores = StoreService(session)
    printer = await stores.get_printer(principal.tenant.id, uid)
    return _json(await _printer(stores, principal.tenant.id, printer))


@_op(
    "PUT",
    "/printers/{printerUid}",
    "put-tenants-printer",
    "Update a printer",
    response_model=s.PrinterAnswer,
)
async def update_printer(
    uid: PrinterUid, body: s.PrinterUpdate, principal: Admin, session: DbSession
) -> Response:
    stores = StoreService(session)
    printer = await stores.update_printer(
        principal.tenant.id, uid, s.fields_of(PrinterFields, body)
    )
    return _json(await _printer(stores, principal.tenant.id, printer))


@_op(
    "DELETE",
    "/printers/{printerUid}",
    "delete-tenants-printer",
    "Delete a printer",
    status_code=204,
    response_class=Response,
)
async def delete_printer(uid: PrinterUid, principal: Admin, session: DbSession) -> Response:
    await StoreService(session).delete_printer(principal.tenant.id, uid)
    return Response(status_code=204)


# Payment methods ----------------------------------------------------------------------------


@_op(
    "GET",
    "/stores/{storeUid}/payment-methods",
    "get-tenants-store-payment-methods",
    "List a store's payment methods",
    response_model=s.PaymentMethodList,
)
async def list_payment_methods(
    uid: StoreUid, principal: Admin, session: DbSession, page: Paged
) -> Response:
    result = await PaymentCatalogService(session).page_payment_methods(
        principal.tenant.id, uid, page
    )
    items = [
        s.PaymentMethodAnswer.of(m, payment_method_uid=m.uid, store_uid=uid) for m in result.items
    ]
    return _list(result, list(items))


@_op(
    "POST",
    "/stores/{storeUid}/payment-methods",
    "post-tenants-store-payment-methods",
    "Create a payment method in a store",
    status_code=201,
    response_model=s.PaymentMethodAnswer,
)
async def create_payment_method(
    uid: StoreUid,
    body: s.PaymentMethodCreate,
    principal: Admin,
    session: DbSession,
    key: IdempotencyKey = None,
) -> Response:
    """``isZeroAmount: true`` makes it the store's zero-amount method (at most one: 409)."""

    async def make() -> BaseModel:
        method = await PaymentCatalogService(session).create_payment_method(
            principal.tenant.id,
            uid,
            s.fields_of(PaymentMethodFields, body),
            uid=body.payment_method_uid,
        )
        return s.PaymentMethodAnswer.of(method, payment_method_uid=method.uid, store_uid=uid)

    scope = "config.payment-methods"
    return await _create(session, principal, scope, key, _body(body, store=uid), make)


async def _method_answer(session: DbSession, tenant_id: int, method: Any) -> s.PaymentMethodAnswer:
    store = await StoreService(session).get_store_by_id(tenant_id, method.store_id)
    return s.PaymentMethodAnswer.of(method, payment_method_uid=method.uid, store_uid=store.uid)


@_op(
    "GET",
    "/payment-methods/{paymentMethodUid}",
    "get-tenants-payment-method",
    "Get a payment method",
    response_model=s.PaymentMethodAnswer,
)
async def get_payment_method(uid: MethodUid, principal: Admin, session: DbSession) -> Response:
    method = await PaymentCatalogService(session).get_payment_method(principal.tenant.id, uid)
    return _json(await _method_answer(session, principal.tenant.id, method))


@_op(
    "PUT",
    "/payment-methods/{paymentMethodUid}",
    "put-tenants-payment-method",
    "Update a payment method",
    response_model=s.PaymentMethodAnswer,
)
async def update_payment_method(
    uid: MethodUid, body: s.PaymentMethodUpdate, principal: Admin, session: DbSession
) -> Response:
    method = await PaymentCatalogService(session).update_payment_method(
        principal.tenant.id, uid, s.fields_of(PaymentMethodFields, body)
    )
    return _json(await _method_answer(session, principal.tenant.id, method))


@_op(
    "DELETE",
    "/payment-methods/{paymentMethodUid}",
    "delete-tenants-payment-method",
    "Delete a payment method",
    status_code=204,
    response_class=Response,
)
async def delete_payment_method(uid: MethodUid, principal: Admin, session: DbSession) -> Response:
    await PaymentCatalogService(session).delete_payment_method(principal.tenant.id, uid)
    return Response(status_code=204)


# Reasons ------------------------------------------------------------------------------------


@_op(
    "GET",
    "/reasons/{kind}",
    "get-tenants-reasons",
    "List discount or return reasons",
    response_model=s.ReasonList,
)
async def list_reasons(kind: Kind, principal: Admin, session: DbSession, page: Paged) -> Response:
    result = await ReasonService(session).page_reasons(principal.tenant.id, kind, page)
    return _list(result, [s.ReasonAnswer.of(r) for r in result.items])


@_op(
    "POST",
    "/reasons",
    "post-tenants-reasons",
    "Create a discount or return reason",
    status_code=201,
    response_model=s.ReasonAnswer,
)
async def create_reason(
    body: s.ReasonCreate, principal: Admin, session: DbSession, key: IdempotencyKey = None
) -> Response:
    async def make() -> BaseModel:
        reason = await ReasonService(session).create_reason(
            principal.tenant.id, s.fields_of(ReasonFields, body)
        )
        return s.ReasonAnswer.of(reason)

    return await _create(session, principal, "config.reasons", key, _body(body), make)


@_op(
    "GET",
    "/reasons/{kind}/{code}",
    "get-tenants-reason",
    "Get a reason",
    response_model=s.ReasonAnswer,
)
async def get_reason(kind: Kind, code: Code, principal: Admin, session: DbSession) -> Response:
    reason = await ReasonService(session).get_reason(principal.tenant.id, kind, code)
    return _json(s.ReasonAnswer.of(reason))


@_op(
    "PUT",
    "/reasons/{kind}/{code}",
    "put-tenants-reason",
    "Update a reason's description or position",
    response_model=s.ReasonAnswer,
)
async def update_reason(
    kind: Kind, code: Code, body: s.ReasonUpdate, principal: Admin, session: DbSession
) -> Response:
    reason = await ReasonService(session).update_reason(
        principal.tenant.id, kind, code, s.fields_of(ReasonFields, body)
    )
    return _json(s.ReasonAnswer.of(reason))


@_op(
    "DELETE",
    "/reasons/{kind}/{code}",
    "delete-tenants-reason",
    "Delete a reason",
    status_code=204,
    response_class=Response,
)
async def delete_reason(kind: Kind, code: Code, principal: Admin, session: DbSession) -> Response:
    await ReasonService(session).delete_reason(principal.tenant.id, kind, code)
    return Response(status_code=204)


# Currency denominations ---------------------------------------------------------------------


@_op(
    "GET",
    "/currency-denominations",
    "get-tenants-currency-denominations",
    "List coins and notes",
    response_model=s.DenominationList,
)
async def list_denominations(principal: Admin, session: DbSession, page: Paged) -> Response:
    result = await ReasonService(session).page_denominations(principal.tenant.id, page)
    return _list(result, [s.DenominationAnswer.of(d) for d in result.items])


@_op(
    "POST",
    "/currency-denominations",
    "post-tenants-currency-denominations",
    "Add a coin or note (minor units; currency defaults to the tenant's)",
    status_code=201,
    response_model=s.DenominationAnswer,
)
async def add_denomination(
    body: s.DenominationCreate, principal: Admin, session: DbSession, key: IdempotencyKey = None
) -> Response:
    async def make() -> BaseModel:
        added = await ReasonService(session).add_denomination(
            principal.tenant.id, s.fields_of(DenominationFields, body)
        )
        return s.DenominationAnswer.of(added)

    return await _create(session, principal, "config.denominations", key, _body(body), make)


@_op(
    "DELETE",
    "/currency-denominations/{currencyCode}/{material}/{denomination}",
    "delete-tenants-currency-denomination",
    "Remove a coin or note",
    status_code=204,
    response_class=Response,
)
async def delete_denomination(
    currency: Currency,
    material: Material,
    amount: Amount,
    principal: Admin,
    session: DbSession,
) -> Response:
    await ReasonService(session).delete_denomination(
        principal.tenant.id, amount, material, currency
    )
    return Response(status_code=204)


# Device setting definitions -----------------------------------------------------------------


@_op(
    "GET",
    "/device-settings",
    "get-tenants-device-settings",
    "List device setting definitions",
    response_model=s.SettingDefinitionList,
)
async def list_setting_definitions(principal: Admin, session: DbSession, page: Paged) -> Response:
    result = await SettingDefinitionService(session).page_setting_definitions(
        principal.tenant.id, page
    )
    return _list(result, [s.SettingDefinitionAnswer.of(d) for d in result.items])


@_op(
    "POST",
    "/device-settings",
    "post-tenants-device-settings",
    "Define a device setting",
    status_code=201,
    response_model=s.SettingDefinitionAnswer,
)
async def define_setting(
    body: s.SettingDefinitionCreate,
    principal: Admin,
    session: DbSession,
    key: IdempotencyKey = None,
) -> Response:
    async def make() -> BaseModel:
        definition = await SettingDefinitionService(session).define_setting(
            principal.tenant.id, s.fields_of(SettingDefinitionFields, body)
        )
        return s.SettingDefinitionAnswer.of(definition)

    return await _create(session, principal, "config.device-settings", key, _body(body), make)


@_op(
    "GET",
    "/device-settings/{key}",
    "get-tenants-device-setting",
    "Get a device setting definition",
    response_model=s.SettingDefinitionAnswer,
)
async def get_setting_definition(key: SettingKey, principal: Admin, session: DbSession) -> Response:
    definition = await SettingDefinitionService(session).get_setting_definition(
        principal.tenant.id, key
    )
    return _json(s.SettingDefinitionAnswer.of(definition))


@_op(
    "PUT",
    "/device-settings/{key}",
    "put-tenants-device-setting",
    "Update a device setting definition",
    response_model=s.SettingDefinitionAnswer,
)
async def update_setting_definition(
    key: SettingKey, body: s.SettingDefinitionUpdate, principal: Admin, session: DbSession
) -> Response:
    definition = await SettingDefinitionService(session).update_setting_definition(
        principal.tenant.id, key, s.fields_of(SettingDefinitionFields, body)
    )
    return _json(s.SettingDefinitionAnswer.of(definition))


@_op(
    "DELETE",
    "/device-settings/{key}",
    "delete-tenants-device-setting",
    "Delete a device setting definition",
    status_code=204,
    response_class=Response,
)
async def delete_setting_definition(
    key: SettingKey, principal: Admin, session: DbSession
) -> Response:
    await SettingDefinitionService(session).delete_setting_definition(principal.tenant.id, key)
    return Response(status_code=204)


# Apps ---------------------------------------------------------------------------------------


@_op(
    "GET",
    "/apps",
    "get-tenants-apps",
    "List the POS apps devices may link with",
    response_model=s.AppList,
)
async def list_apps(principal: Admin, session: DbSession, page: Paged) -> Response:
    """The registry is shared by every tenant and kept by the operator (`posfleet app …`)."""
    apps = list(await AppRegistryService(session).list_apps())
    shown = apps[page.offset : page.offset + page.page_size]
    result = Page(shown, page.page_number, page.page_size, len(apps))
    return _list(result, [s.AppAnswer.of(a) for a in shown])


# Users and their store access ---------------------------------------------------------------

UserUid = Annotated[str, Path(alias="userUid", pattern=UID_REGEX, max_length=64)]


async def _user_answer(session: DbSession, user: TenantUser) -> s.UserAnswer:
    roles = [] if user.all_stores else await UserService(session).store_roles(user)
    return s.UserAnswer.of(user, user_uid=user.uid, store_uids=[r.store.uid for r in roles])


async def _stores(session: DbSession, tenant_id: int, uids: list[str]) -> list[Store]:
    stores = StoreService(session)
    return [await stores.get_store(tenant_id, uid) for uid in dict.fromkeys(uids)]


@_op("GET", "/users", "get-tenants-users", "List users", response_model=s.UserList)
async def list_users(principal: Admin, session: DbSession, page: Paged) -> Response:
    users = list(await UserService(session).list_users(principal.tenant.id))
    shown = users[page.offset : page.offset + page.page_size]
    result = Page(shown, page.page_number, page.page_size, len(users))
    return _list(result, [await _user_answer(session, u) for u in shown])


@_op(
    "POST",
    "/users",
    "post-tenants-users",
    "Create a user",
    status_code=201,
    response_model=s.UserAnswer,
)
async def create_user(
    body: s.UserCreate, principal: Admin, session: DbSession, key: IdempotencyKey = None
) -> Response:
    """A REGULAR user's ``password`` is a PIN of 4 digits; anyone else's at least 12
    characters mixing letters, digits or other characters.  It is stored as a hash only."""

    async def make() -> BaseModel:
        user = await UserService(session).create(
            principal.tenant,
            uid=body.user_uid,
            user_code=body.user_code,
            password=body.password,
            account_type=body.account_type,
            first_name=body.first_name,
            last_name=body.last_name,
            email=body.email,
            mobile=body.mobile,
            mobile_country_code=body.mobile_country_code,
            language_code=body.language_code,
            permissions=body.permissions,
            all_stores=body.all_stores,
            stores=await _stores(session, principal.tenant.id, body.store_uids),
        )
        return await _user_answer(session, user)

    # The password is part of what the key guards, but only as a hash of the whole request.
    return await _create(session, principal, "config.users", key, _body(body), make)


@_op("GET", "/users/{userUid}", "get-tenants-user", "Get a user", response_model=s.UserAnswer)
async def get_user(uid: UserUid, principal: Admin, session: DbSession) -> Response:
    user = await UserService(session).get_by_uid(principal.tenant, uid)
    return _json(await _user_answer(session, user))


@_op("PUT", "/users/{userUid}", "put-tenants-user", "Update a user", response_model=s.UserAnswer)
async def update_user(
    uid: UserUid, body: s.UserUpdate, principal: Admin, session: DbSession
) -> Response:
    """Partial.  ``status: INACTIVE`` disables the user and ends the tokens issued to them."""
    users = UserService(session)
    user = await users.get_by_uid(principal.tenant, uid)
    if body.password is not None:
        await users.set_password(user, body.password)
    await users.update(
        user,
        UserChanges(
            first_name=body.first_name,
            last_name=body.last_name,
            email=body.email,
            mobile=body.mobile,
            mobile_country_code=body.mobile_country_code,
            status=body.status,
            permissions=body.permissions,
            all_stores=body.all_stores,
        ),
    )
    if body.store_uids is not None:
        wanted = await _stores(session, principal.tenant.id, body.store_uids)
        have = [r.store for r in await users.store_roles(user)] if not user.all_stores else []
        for store in have:
            if store.id not in {w.id for w in wanted}:
                await users.revoke_store_access(user, store)
        for store in wanted:
            await users.grant_store_access(user, store)
    return _json(await _user_answer(session, user))


@_op(
    "DELETE",
    "/users/{userUid}",
    "delete-tenants-user",
    "Delete a user",
    status_code=204,
    response_class=Response,
)
async def delete_user(uid: UserUid, principal: Admin, session: DbSession) -> Response:
    users = UserService(session)
    await users.delete(await users.get_by_uid(principal.tenant, uid))
    return Response(status_code=204)


# Devices' vendor facts ----------------------------------------------------------------------

DeviceUid = Annotated[str, Path(alias="deviceUid", pattern=UID_REGEX, max_length=64)]


@_op(
    "PUT",
    "/devices/{deviceUid}/hardware",
    "put-tenants-device-hardware",
    "Update a device's vendor facts",
    response_model=s.HardwareAnswer,
)
async def update_hardware(
    uid: DeviceUid,
    body: s.HardwareUpdate,
    principal: Admin,
    session: DbSession,
    runtime: RuntimeDep,
) -> Response:
    devices = DeviceService(session, runtime)
    device = await devices.get(principal.tenant.id, uid)
    hardware = Hardware(
        vendor=body.vendor,
        model_number=body.model_number,
        mac_address=body.mac_address,
        external_device_id=body.external_device_id,
    )
    await devices.describe_hardware(device, hardware, principal.actor)
    answer = s.HardwareAnswer.of(
        device, device_uid=device.uid, mac_address=device.mac_address or ""
    )
    return _json(answer)
