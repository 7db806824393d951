"""Flow v2 device operations: link, device tokens, device info, users and login on the device.

Translation only: each operation parses its request, calls one device-side service and renders
the result.  ``POST /device/token`` answers every refusal with 400 and a body that is both the
spec's ``{error}`` and the generic ``{code, message, logId}``.
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from posfleet.db import session_scope
from posfleet.deviceflow.polling import DevicePollService
from posfleet.devices.device_users import DeviceUserService
from posfleet.devices.info import DeviceInfo, DeviceInfoService
from posfleet.devices.linking import LinkService
from posfleet.errors import Unauthorized, ValidationFailed
from posfleet.flow import device_schemas as wire
from posfleet.flow.auth import DevicePrincipal, bearer_token
from posfleet.flow.schemas import FlowRequest, Paging
from posfleet.http import ClientAddress, DbSession, RuntimeDep, SettingsDep
from posfleet.kit.clock import unix
from posfleet.kit.jwt import TokenType
from posfleet.kit.pagination import PageRequest
from posfleet.models import Device
from posfleet.models.enums import AccountType
from posfleet.rendering import describe_validation_errors
from posfleet.runtime import Runtime
from posfleet.tokens.device_refresh import DeviceRefreshService, DeviceToken, RefreshRefused
from posfleet.tokens.principal import Principal
from posfleet.tokens.service import TokenService

router = APIRouter(prefix="/v2", tags=["Device"])
RequestT = TypeVar("RequestT", bound=FlowRequest)
# Larger page numbers would overflow the database's OFFSET; they are refused as bad input.
MAX_INT32 = 2**31 - 1


def _device(principal: Principal) -> Device:
    if principal.device is None:
        raise Unauthorized("The token does not belong to a device")
    return principal.device


def _json(body: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(body), status_code=status_code, media_type="application/json", headers=headers
    )


@router.post("/device/{deviceCode}/link", summary="Link a physical device")
async def link_device(
    device_code: Annotated[str, Path(alias="deviceCode", max_length=64)],
    body: wire.DeviceLinkRequest,
    session: DbSession,
    runtime: RuntimeDep,
    address: ClientAddress,
) -> Response:
    result = await LinkService(session, runtime).link(
        device_code,
        app_id=body.appId,
        user_code=body.userCode,
        password=body.password,
        system_information=body.systemInformation,
        address=address,
    )
    return _json(
        {
            "expires": unix(result.expires),
            "token": result.token,
            "refreshToken": result.refresh_token,
        }
    )


def _token_refusal(log_id: str, error: RefreshRefused) -> JSONResponse:
    return JSONResponse(
        {"error": error.error, "code": error.code, "message": error.message, "logId": log_id},
        status_code=400,
    )


def _valid(model: type[RequestT], payload: dict[str, Any]) -> RequestT:
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        errors = describe_validation_errors(exc.errors())
        raise RefreshRefused(
            "; ".join(f"{field}: {msg}" for field, msg in errors.items()),
            code="validation_failed",
        ) from exc


@router.post(
    "/device/token",
    summary="Request a new device token",
    # The body is parsed by hand (every refusal is the spec's 400); the document still shows it:
    # a linked device's refresh token, or a device-flow client's deviceIdentifier.
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "oneOf": [
                            wire.DeviceTokenRequest.model_json_schema(),
                            wire.DevicePollRequest.model_json_schema(),
                        ]
                    }
                }
            },
        }
    },
)
async def device_token(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    log_id = str(request.scope.get("state", {}).get("log_id", ""))
    return await token_answer(runtime, await request.body(), log_id)


def is_refresh(payload: Any) -> bool:
    """Whether a token request body asks to redeem a refresh token (not a device-flow poll)."""
    return isinstance(payload, dict) and (
        "appId" in payload or not {"clientId", "deviceIdentifier"} <= payload.keys()
    )


async def token_answer(runtime: Runtime, raw: bytes, log_id: str, payload: Any = None) -> Response:
    """``POST /device/token``'s answer to the body ``raw`` (or its already parsed ``payload``).

    A unit of work of its own, per statement: a redemption reads, then writes at most one
    statement that stands alone (the idle revocation, or the last-used stamp); a poll's writes
    are each one conditional statement (the poll slot, slow_down, the first redemption).  Opened
    here rather than by a dependency: this route is hot, and FastAPI's dependency solving cost
    more than the rest of the request.
    """
    if payload is None:
        try:
            payload = orjson.loads(raw)
        except orjson.JSONDecodeError:
            payload = None
    if not isinstance(payload, dict):
        refusal = RefreshRefused("The request body must be a JSON object", code="bad_request")
        return _token_refusal(log_id, refusal)
    if runtime.writer is not None and is_refresh(payload):
        # A SQLite file: the redemption reads on the reader and writes on the writer, each its
        # own unit of work (tokens/device_refresh.py); it needs no session.
        try:
            body = _valid(wire.DeviceTokenRequest, payload)
            issued = await DeviceRefreshService(None, runtime).redeem(body.appId, body.refreshToken)
        except RefreshRefused as refused:
            return _token_refusal(log_id, refused)
        return _issued(issued)
    async with session_scope(runtime.per_statement_sessionmaker) as session:
        try:
            if not is_refresh(payload):
                poll = _valid(wire.DevicePollRequest, payload)
                issued = await DevicePollService(session, runtime).poll(
                    poll.clientId, poll.deviceIdentifier
                )
            else:
                body = _valid(wire.DeviceTokenRequest, payload)
                issued = await DeviceRefreshService(session, runtime).redeem(
                    body.appId, body.refreshToken
                )
        except RefreshRefused as refused:
            # Answered, not raised, inside the unit of work: what was written before a refusal
            # (a poll's slow_down, an idle token's revocation) is committed with it.
            return _token_refusal(log_id, refused)
    return _issued(issued)


def _issued(issued: DeviceToken) -> Response:
    return _json({"token": issued.token, "token_type": "Bearer", "expires": unix(issued.expires)})


def _etag(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def _render_info(info: DeviceInfo) -> tuple[bytes, str]:
    body = orjson.dumps(wire.device_info(info))
    return body, _etag(body)


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    candidates = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in candidates or etag in candidates


def _info_response(request: Request, body: bytes, etag: str) -> Response:
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if _matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


# The hottest route: no dependencies for FastAPI to solve, and no session at all while the
# token's rows and the rendered body are kept in process (tokens/live.py, devices/info.py).
@router.get(
    "/device",
    summary="Get device information",
    openapi_extra={"security": [{"HTTPBearer": []}]},
)
async def get_device_info(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    token = bearer_token(request.headers.get("authorization"))
    types = (TokenType.DEVICE, TokenType.DEVICE_USER)
    claims = await runtime.decode_token(token, *types)
    kept = _kept_answer(request, runtime, claims)
    if kept is not None:
        return kept
    key = (str(claims.get("ten", "")), str(claims.get("sub", "")))
    reading = runtime.live_devices.reading.get(key)
    if reading is not None and claims.get("typ") == TokenType.DEVICE.value:
        # Another request is reading this device's rows (after a drop, every poller of the
        # device misses at once): wait for it and use what it kept, rather than each reading.
        # What it kept passes the same checks; it stored nothing if a drop came meanwhile.
        await reading.wait()
        kept = _kept_answer(request, runtime, claims)
        if kept is not None:
            return kept
    mine = asyncio.Event() if reading is None else None
    if mine is not None:
        runtime.live_devices.reading[key] = mine
    try:
        # A read session: the token's rows and DeviceInfo's reads need no common snapshot, and
        # on SQLite they must not wait for the writer.
        async with session_scope(runtime.read_sessionmaker) as session:
            principal = await TokenService(session, runtime).authenticate(token, *types, kept=True)
            device = _device(principal)
            DeviceInfoService.note_activity(runtime, device)
            service = DeviceInfoService(session, runtime)
            body, etag = await service.rendered(device, principal.tenant, _render_info)
    finally:
        if mine is not None:
            mine.set()
            del runtime.live_devices.reading[key]
    return _info_response(request, body, etag)


def _kept_answer(request: Request, runtime: Runtime, claims: dict[str, Any]) -> Response | None:
    principal = TokenService.kept_principal(runtime, claims)
    if principal is None:
        return None
    device = _device(principal)
    kept = DeviceInfoService.kept_rendering(runtime, device, principal.tenant, _render_info)
    if kept is None:
        return None
    DeviceInfoService.note_activity(runtime, device)
    return _info_response(request, *kept)


@router.put("/device", status_code=204, summary="Update systemInformation for a device")
async def put_device(
    body: wire.DeviceSystemInformationUpdate,
    principal: DevicePrincipal,
    session: DbSession,
    runtime: RuntimeDep,
) -> Response:
    service = DeviceInfoService(session, runtime)
    device = _device(principal)
    DeviceInfoService.note_activity(runtime, device)
    service.report_system_information(device, body.systemInformation)
    return Response(status_code=204)


def _account_types(values: list[str] | None) -> list[AccountType]:
    wanted = [v.strip() for value in values or [] for v in value.split(",") if v.strip()]
    unknown = [v for v in wanted if v not in AccountType.__members__]
    if unknown:
        raise ValidationFailed(
            "accountType must be one of " + ", ".join(AccountType),
            errors={"accountType": "unknown: " + ", ".join(unknown)},
        )
    return [AccountType(v) for v in dict.fromkeys(wanted)]


@router.get("/device/users", summary="List device users")
async def list_device_users(
    principal: DevicePrincipal,
    session: DbSession,
    runtime: RuntimeDep,
    settings: SettingsDep,
    account_type: Annotated[list[str] | None, Query(alias="accountType")] = None,
    sort_by: Annotated[str | None, Query(alias="sortBy")] = None,
    sort_direction: Annotated[str | None, Query(alias="sortDirection")] = None,
    page_size: Annotated[int | None, Query(alias="pageSize", le=MAX_INT32)] = None,
    page_number: Annotated[int | None, Query(alias="pageNumber", le=MAX_INT32)] = None,
) -> Response:
    page = PageRequest.parse(
        page_number=page_number,
        page_size=page_size,
        sort_by=sort_by,
        sort_direction=sort_direction,
        sortable=frozenset(wire.USER_SORT_FIELDS),
        default_sort="userCode",
        default_size=settings.page_size_default,
        max_size=settings.page_size_max,
    )
    domain_page = PageRequest(
        page.page_number, page.page_size, wire.USER_SORT_FIELDS[page.sort_by], page.sort_direction
    )
    result = await DeviceUserService(session, runtime).page(
        _device(principal), domain_page, _account_types(account_type)
    )
    return _json(
        {
            "items": [wire.device_user(user) for user in result.items],
            "paging": Paging.of(result).model_dump(),
        }
    )


@router.post("/account", summary="Log a user in on the device")
async def login_on_device(
    body: wire.DeviceLoginRequest,
    principal: DevicePrincipal,
    session: DbSession,
    runtime: RuntimeDep,
    address: ClientAddress,
) -> Response:
    login = await DeviceUserService(session, runtime).login(
        _device(principal), principal.tenant, body.userCode, body.password, address=address
    )
    return _json(
        {
            "accessToken": login.access_token,
            "expires": unix(login.expires),
            "tenantUser": wire.device_user(login.user),
        }
    )
