"""Typed parameters of the tenant services: one model per kind of row.

A ``*Fields`` model holds every column a caller may set.  Creating a row uses the model's
defaults for the fields not given; a partial update changes exactly the fields the caller set
(``model_fields_set``), so "leave alone" and "set to the default" stay different things.  The
same models, in camelCase, are the admin API's bodies and the entries of a tenant file.
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints
from pydantic.alias_generators import to_camel

from posfleet.models.base import UID_LENGTH, UID_PATTERN

_UID = re.compile(UID_PATTERN)

Uid = Annotated[str, StringConstraints(min_length=1, max_length=UID_LENGTH, pattern=UID_PATTERN)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Country = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}$")]
OptionalUid = Annotated[str, StringConstraints(max_length=64, pattern=r"^[A-Za-z0-9_-]*$")]


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("must be a tz database name such as Europe/Oslo") from None
    return value


def _regex(value: str) -> str:
    if value:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"is not a regular expression ({exc})") from None
    return value


Timezone = Annotated[str, AfterValidator(_timezone)]
Regex = Annotated[str, StringConstraints(max_length=500), AfterValidator(_regex)]


def check_uid(uid: str) -> str | None:
    """Why ``uid`` is not a valid UID (Flow's ``^[A-Za-z0-9-_]+``, at most 64), or ``None``."""
    if not uid or len(uid) > UID_LENGTH or not _UID.match(uid):
        return f"must be 1 to {UID_LENGTH} letters, digits, '-' or '_'"
    return None


class Fields(BaseModel):
    """Unknown fields are an error: a typo must not be dropped silently."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True
    )

    def given(self) -> dict[str, Any]:
        """The fields the caller set, by column name: what a partial update changes."""
        return {name: getattr(self, name) for name in sorted(self.model_fields_set)}

    def values(self) -> dict[str, Any]:
        """Every field, given or default, by column name: what a new row gets."""
        return {name: getattr(self, name) for name in type(self).model_fields}
