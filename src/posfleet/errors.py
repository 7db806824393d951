"""The one error tree of posfleet.

Services raise :class:`AppError` subclasses; each dialect renders them into its own wire shape
(Flow: ``{code, message, logId}``; Commerce Engine: ``{message, success: false, code}``).

::

    AppError                  500  (never raised directly)
    ├── BadRequest            400
    │   └── ValidationFailed  400  carries per-field messages
    ├── Unauthorized          401
    ├── Forbidden             403
    ├── NotFound              404
    ├── Conflict              409
    ├── PayloadTooLarge       413
    └── TooManyRequests       429  carries Retry-After
"""

from __future__ import annotations

from collections.abc import Mapping


class AppError(Exception):
    status_code: int = 500
    code: str = "internal_error"
    #: When True the unit of work still commits as this error ends it: the failure is itself
    #: state to keep (a wrong guess charged to a code, a session revoked for token reuse).
    keeps_work: bool = False

    def __init__(
        self, message: str, *, code: str | None = None, keeps_work: bool | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if keeps_work is not None:
            self.keeps_work = keeps_work

    @property
    def headers(self) -> Mapping[str, str]:
        return {}


class BadRequest(AppError):
    status_code = 400
    code = "bad_request"


class ValidationFailed(BadRequest):
    code = "validation_failed"

    def __init__(
        self,
        message: str,
        *,
        errors: Mapping[str, str] | None = None,
        code: str | None = None,
        keeps_work: bool | None = None,
    ) -> None:
        super().__init__(message, code=code, keeps_work=keeps_work)
        self.errors: dict[str, str] = dict(errors or {})


class Unauthorized(AppError):
    status_code = 401
    code = "unauthorized"


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"


class NotFound(AppError):
    status_code = 404
    code = "not_found"


class Conflict(AppError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(AppError):
    status_code = 413
    code = "payload_too_large"


class TooManyRequests(AppError):
    status_code = 429
    code = "too_many_requests"
    keeps_work = True  # the attempt that hit the limit still counts

    def __init__(self, message: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = max(1, retry_after)

    @property
    def headers(self) -> Mapping[str, str]:
        return {"Retry-After": str(self.retry_after)}


class ServerBusy(TooManyRequests):
    """Work shed because it could not start in time (the SQLite write queue, the password-check
    queue, the PostgreSQL pool): the server is overloaded, not broken, and the client may try
    again after ``retry_after`` seconds."""

    code = "server_busy"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, retry_after=retry_after)
