"""Device setting values checked against the tenant's setting definitions."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from posfleet.errors import ValidationFailed
from posfleet.models import DeviceSettingDefinition
from posfleet.models.enums import SettingType

_INTEGER = re.compile(r"-?\d{1,18}")
_DECIMAL = re.compile(r"-?\d{1,18}(\.\d{1,18})?")
_BOOL = frozenset({"true", "false"})


@dataclass(frozen=True, slots=True)
class SettingView:
    """A definition merged with the device's value, as both dialects show it."""

    key: str
    value: str
    type: SettingType
    allowed_values: list[str]
    validation_regex: str
    name: str
    required: bool


def problem(definition: DeviceSettingDefinition, value: str) -> str | None:
    """Why ``value`` does not satisfy ``definition``, or None when it does."""
    kind = SettingType(definition.type)
    if kind is SettingType.INTEGER and not _INTEGER.fullmatch(value):
        return "must be a whole number"
    if kind is SettingType.DECIMAL and not _DECIMAL.fullmatch(value):
        return "must be a decimal number"
    if kind is SettingType.BOOL and value not in _BOOL:
        return "must be true or false"
    if kind is SettingType.ENUM and value not in definition.allowed_values:
        return "must be one of " + ", ".join(definition.allowed_values)
    if definition.validation_regex:
        try:
            if not re.fullmatch(definition.validation_regex, value):
                return f"must match {definition.validation_regex}"
        except re.error:
            return "cannot be checked: the setting's validation pattern is broken"
    return None


def merge(
    definitions: Sequence[DeviceSettingDefinition],
    current: Mapping[int, str],
    given: Sequence[tuple[str, str]],
) -> dict[int, str]:
    """The device's new values: ``current`` with ``given`` applied, every rule checked."""
    by_key = {d.key: d for d in definitions}
    values = dict(current)
    errors: dict[str, str] = {}
    for key, value in given:
        definition = by_key.get(key)
        if definition is None:
            errors[f"settings.{key}"] = "is not a setting of this tenant"
            continue
        reason = problem(definition, value)
        if reason:
            errors[f"settings.{key}"] = reason
        else:
            values[definition.id] = value
    for definition in definitions:
        if definition.required and not values.get(definition.id, definition.default_value):
            errors.setdefault(f"settings.{definition.key}", "is required")
    if errors:
        raise ValidationFailed(
            "Invalid device settings: " + "; ".join(f"{k} {v}" for k, v in errors.items()),
            errors=errors,
        )
    return values


def views(
    definitions: Sequence[DeviceSettingDefinition], values: Mapping[int, str]
) -> list[SettingView]:
    return [
        SettingView(
            key=d.key,
            value=values.get(d.id, d.default_value),
            type=SettingType(d.type),
            allowed_values=list(d.allowed_values),
            validation_regex=d.validation_regex,
            name=d.name,
            required=d.required,
        )
        for d in definitions
    ]
