"""Form values checked by a service's field model, as the API checks its request bodies, and
the one way a view tries a change and learns what to say beside its form."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.errors import AppError, ValidationFailed
from posfleet.tenants.fields import Fields

F = TypeVar("F", bound=Fields)

#: A form's problems by field name; ``"form"`` for what concerns the whole form.
Problems = dict[str, str]


def checked(model: type[F], values: Mapping[str, object]) -> F:
    """``values`` as ``model``; its problems as :class:`ValidationFailed` keyed by field."""
    try:
        return model.model_validate(dict(values))
    except ValidationError as exc:
        errors = {
            str(error["loc"][0]) if error["loc"] else "form": error["msg"] for error in exc.errors()
        }
        raise ValidationFailed("Correct the fields marked below.", errors=errors) from None


async def attempt(
    db: AsyncSession, work: Callable[[], Awaitable[object]], *, with_message: bool = False
) -> Problems | None:
    """Run ``work`` in a savepoint: ``None`` when it succeeded, else what to show by field.

    A refused change is rolled back alone, so the page can still read the session to show the
    form again.  ``with_message`` puts the error's own sentence above its field problems, for
    services whose message says more than the fields do (the webhook URL guard)."""
    try:
        async with db.begin_nested():
            await work()
    except ValidationFailed as exc:
        if not exc.errors:
            return {"form": exc.message}
        return {"form": exc.message, **exc.errors} if with_message else dict(exc.errors)
    except AppError as exc:
        return {"form": exc.message}
    return None
