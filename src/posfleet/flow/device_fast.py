"""The device side's two hot routes, answered in front of the framework.

``GET /v2/device``, when everything it needs is in process:

The route every device polls costs, on a hit, a dict lookup or three; FastAPI's routing, the
middleware stack and the exception middleware around it cost several times that.  So the
application looks at each request first (:class:`FastDeviceInfo`): a ``GET /v2/device`` with a
bearer token this process has verified (its expiry, type and key checked again), whose tenant and
device rows are kept and known to be unchanged (``tokens/live.py``, ``kit/changes.py``), valid
for the token (credential generation, nonce, status) and whose DeviceInfo body is rendered
(``devices/info.py``) is answered here, with the status, headers and body the route itself would
send, the request-log line and the request metrics.  Anything else (no token, another scheme, a
token not yet verified or expired, a revoked device, a row not kept, a query string, a request
body) goes to the application, which answers it as always, refusals included.

``POST /v2/device/token`` with a refresh token (:class:`FastDeviceToken`): the route's own
function (``flow/device.token_answer``) answers it, refusals included; what is skipped is the
routing, the middleware stack and FastAPI's request handling around it, which cost about as much
as the redemption.  A request that any middleware would answer itself (a body over the limit or
without a length, a query string) or that is not a refresh (a device-flow poll), and any error
the function raises, goes to the application with the body it sent.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable

import orjson
import structlog
from starlette.types import Message, Receive, Scope, Send

from posfleet.devices.info import DeviceInfoService
from posfleet.flow.device import _matches, _render_info, is_refresh, token_answer
from posfleet.kit.clock import unix, utcnow
from posfleet.kit.meters import LATENCY, REQUESTS
from posfleet.models import Device, Tenant
from posfleet.models.enums import DeviceStatus
from posfleet.runtime import EXPIRY_LEEWAY, LIVE_DEVICE_ENTRIES, Runtime

PATH = "/v2/device"
ROUTE = "/v2/device"  # the route template the log line and the metrics name
_DEVICE = "device"  # TokenType.DEVICE's claim value
_BEARER = b"Bearer "
_CACHE_CONTROL = (b"cache-control", b"private, no-cache")
_JSON = (b"content-type", b"application/json")

request_log = structlog.get_logger("posfleet.request")

# What the fast path keeps per device: the kept (tenant, device) entry it was made for, and the
# ETag and body rendered for it.
Rendered = tuple[tuple[Tenant, Device], bytes, bytes, str]


_RANDOM_BATCH = 256


class _LogIds:
    """``uuid.uuid4().hex``, as every other request's log id, from random bytes read 4 kB at a
    time: one system call per 256 ids instead of one per request."""

    def __init__(self) -> None:
        self._ids: list[str] = []

    def next(self) -> str:
        if not self._ids:
            random = os.urandom(16 * _RANDOM_BATCH)
            self._ids = [
                "%032x" % ((int.from_bytes(random[i : i + 16]) & _UUID4_CLEAR) | _UUID4_SET)
                for i in range(0, len(random), 16)
            ]
        return self._ids.pop()


# The version (4) and variant (RFC 4122) bits of a uuid4, as uuid.UUID(version=4) sets them.
_UUID4_CLEAR = ~((0xC000 << 48) | (0xF000 << 64)) & ((1 << 128) - 1)
_UUID4_SET = (0x8000 << 48) | (4 << 76)


class FastDeviceInfo:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.served = 0  # answered here (tests read it)
        self.log_ids = _LogIds()
        self._rendered: dict[tuple[str, str], Rendered] = {}
        self._count = {
            200: REQUESTS.labels(method="GET", route=ROUTE, status="200"),
            304: REQUESTS.labels(method="GET", route=ROUTE, status="304"),
        }
        self._latency = LATENCY.labels(method="GET", route=ROUTE)

    def _rendering(self, key: tuple[str, str], entry: tuple[Tenant, Device]) -> Rendered | None:
        rendered = self._rendered.get(key)
        if rendered is not None and rendered[0] is entry:
            return rendered
        # A new entry (the rows were read again): the body is still the one rendered for them
        # while the device info cache holds it under the rows' versions.
        kept = DeviceInfoService.kept_rendering(self.runtime, entry[1], entry[0], _render_info)
        if kept is None:
            return None
        body, etag = kept
        if len(self._rendered) >= LIVE_DEVICE_ENTRIES:
            self._rendered.clear()
        rendered = (entry, body, etag.encode("latin-1"), etag)
        self._rendered[key] = rendered
        return rendered

    async def __call__(self, scope: Scope, send: Send) -> bool:
        """Answer the request and return True, or return False having sent nothing."""
        started = time.perf_counter()
        if scope["query_string"] or scope.get("root_path"):
            return False
        authorization = if_none_match = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                if authorization is None:
                    authorization = value
            elif name == b"if-none-match":
                if if_none_match is None:
                    if_none_match = value
            elif name == b"content-length" or name == b"transfer-encoding":
                return False  # the body limit is the application's to enforce
        if authorization is None or not authorization.startswith(_BEARER):
            return False
        runtime = self.runtime
        token = authorization[7:].decode("latin-1")
        cached = runtime.claims_cache.get(token)
        if cached is None:
            return False
        signed_by, claims = cached
        if claims.get("typ") != _DEVICE or signed_by not in runtime.codec.keys:
            return False
        now = utcnow()
        if unix(now) > claims["exp"] + EXPIRY_LEEWAY or not runtime.changes_current():
            return False
        tenant_uid = str(claims.get("ten", ""))
        key = (tenant_uid, str(claims["sub"]))
        entry = runtime.live_devices.get(key)
        if entry is None:
            return False
        device = entry[1]
        if (
            device.credential_generation != claims.get("gen")
            or device.credential_nonce != claims.get("cid", "")
            or device.status is not DeviceStatus.ACTIVE
        ):
            return False
        rendered = self._rendering(key, entry)
        if rendered is None:
            return False
        _, body, etag_bytes, etag = rendered
        runtime.activity.note(device.id, device.last_activity_at, now)
        log_id = self.log_ids.next()
        status = 200
        try:
            if if_none_match is not None and _matches(if_none_match.decode("latin-1"), etag):
                status = 304
                headers = [(b"etag", etag_bytes), _CACHE_CONTROL, (b"x-log-id", log_id.encode())]
                body = b""
            else:
                headers = [
                    (b"etag", etag_bytes),
                    _CACHE_CONTROL,
                    (b"content-length", str(len(body)).encode()),
                    _JSON,
                    (b"x-log-id", log_id.encode()),
                ]
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            self.served += 1
        finally:
            elapsed = time.perf_counter() - started
            self._count[status].inc()
            self._latency.observe(elapsed)
            request_log.info(
                "request",
                logId=log_id,
                method="GET",
                route=ROUTE,
                status=status,
                duration_ms=round(elapsed * 1000, 1),
                tenant=tenant_uid,
                # What the request context binds for every other request.
                log_id=log_id,
            )
        return True


TOKEN_PATH = "/v2/device/token"
_NO_STORE = (b"cache-control", b"no-store")
Replay = Callable[[Receive], Awaitable[None]]


class FastDeviceToken:
    def __init__(self, runtime: Runtime, log_ids: _LogIds) -> None:
        self.runtime = runtime
        self.max_bytes = runtime.settings.max_body_bytes
        self.served = 0  # answered here (tests read it)
        self.log_ids = log_ids
        self._latency = LATENCY.labels(method="POST", route=TOKEN_PATH)

    async def __call__(self, scope: Scope, receive: Receive, send: Send, app: Replay) -> bool:
        """Answer the request and return True; or hand it to ``app`` (with what was read of
        its body) and return True; or return False having read nothing."""
        started = time.perf_counter()
        if scope["query_string"] or scope.get("root_path"):
            return False
        length = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                if length is not None or not value.isdigit():
                    return False
                length = int(value)
            elif name == b"transfer-encoding":
                return False
        if length is None or length > self.max_bytes:
            return False
        read: list[Message] = []
        chunks = []
        while True:
            message = await receive()
            read.append(message)
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        raw = b"".join(chunks)

        async def replay() -> Message:
            return read.pop(0) if read else await receive()

        try:
            payload = orjson.loads(raw)
        except orjson.JSONDecodeError:
            payload = None
        if read[-1]["type"] != "http.request" or not is_refresh(payload):
            await app(replay)
            return True
        log_id = self.log_ids.next()
        # As the request context binds it for every other request: lines logged below carry it.
        structlog.contextvars.bind_contextvars(log_id=log_id)
        try:
            response = await token_answer(self.runtime, raw, log_id, payload)
        except Exception:
            # Its unit of work rolled back: the application answers (and logs) the error.
            structlog.contextvars.unbind_contextvars("log_id")
            await app(replay)
            return True
        status = response.status_code
        try:
            headers = [*response.raw_headers, _NO_STORE, (b"x-log-id", log_id.encode())]
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": response.body})
            self.served += 1
        finally:
            elapsed = time.perf_counter() - started
            REQUESTS.labels(method="POST", route=TOKEN_PATH, status=str(status)).inc()
            self._latency.observe(elapsed)
            request_log.info(
                "request",
                logId=log_id,
                method="POST",
                route=TOKEN_PATH,
                status=status,
                duration_ms=round(elapsed * 1000, 1),
                tenant=None,
            )
            structlog.contextvars.unbind_contextvars("log_id")
        return True
