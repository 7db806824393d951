"""Flow v2 wire shapes shared by the admin and the device operations (camelCase)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

from posfleet.devices.settings import SettingView
from posfleet.kit.pagination import Page
from posfleet.models import Printer
from posfleet.models.enums import PrinterType, SettingType

UID_REGEX = r"^[A-Za-z0-9_-]+$"
OPTIONAL_UID_REGEX = r"^[A-Za-z0-9_-]*$"


class FlowModel(BaseModel):
    """Request bodies refuse unknown types loudly; responses are built from our own data."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


class FlowRequest(FlowModel):
    """A request body: NUL characters are refused (PostgreSQL text cannot hold them)."""

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        if _has_nul(data):
            raise ValueError("text must not contain NUL characters")
        return data


class Paging(FlowModel):
    pageNumber: int
    pageSize: int
    totalCount: int

    @classmethod
    def of(cls, page: Page[Any]) -> Paging:
        return cls(
            pageNumber=page.page_number, pageSize=page.page_size, totalCount=page.total_count
        )


class GeneralParameter(FlowModel):
    """``GeneralParameterResponseSchema``: a device setting, definition and value merged."""

    key: str
    value: str
    type: SettingType
    allowedValues: list[str]
    validationRegex: str
    name: str
    required: bool

    @classmethod
    def of(cls, view: SettingView) -> GeneralParameter:
        return cls(
            key=view.key,
            value=view.value,
            type=view.type,
            allowedValues=view.allowed_values,
            validationRegex=view.validation_regex,
            name=view.name,
            required=view.required,
        )


class DevicePrinter(FlowModel):
    """``DevicePrinterResponseSchema``."""

    printerUid: str
    name: str
    type: PrinterType

    @classmethod
    def of(cls, printer: Printer) -> DevicePrinter:
        return cls(printerUid=printer.uid, name=printer.name, type=printer.type)
