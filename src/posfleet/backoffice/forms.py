"""Form values checked by a service's field model, as the API checks its request bodies."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from pydantic import ValidationError

from posfleet.errors import ValidationFailed
from posfleet.tenants.fields import Fields

F = TypeVar("F", bound=Fields)


def checked(model: type[F], values: Mapping[str, object]) -> F:
    """``values`` as ``model``; its problems as :class:`ValidationFailed` keyed by field."""
    try:
        return model.model_validate(dict(values))
    except ValidationError as exc:
        errors = {
            str(error["loc"][0]) if error["loc"] else "form": error["msg"] for error in exc.errors()
        }
        raise ValidationFailed("Correct the fields marked below.", errors=errors) from None
