"""The one base of every request body, in both dialects.

PostgreSQL text cannot hold a NUL character: a body that carries one would reach the database
and fail there (a 500).  Every request model derives from :class:`InputModel`, so the refusal
is a 400 in the dialect's error shape on every engine, and no dialect can forget it.
"""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel, model_validator

NUL_MESSAGE = "text must not contain NUL characters"


def has_nul(value: Any) -> bool:
    """Whether a NUL hides anywhere in ``value``: a string, or the keys and values of the
    dicts and lists of a JSON body."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_nul(v) for v in value)
    return False


class InputModel(BaseModel):
    """A request body: NUL characters in any field it declares are refused.

    Only declared fields are checked: fields a model ignores never reach a service or the
    database, and the served OpenAPI document can state the rule exactly (a ``pattern`` that
    excludes NUL on every string, see ``posfleet/openapi.py``).
    """

    @model_validator(mode="after")
    def _no_nul(self) -> Self:
        for name in type(self).model_fields:
            if has_nul(getattr(self, name)):
                raise ValueError(NUL_MESSAGE)
        return self
