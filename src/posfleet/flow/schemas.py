"""Flow v2 wire shapes shared by the admin and the device operations (camelCase)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from posfleet.devices.settings import SettingView
from posfleet.kit.input import InputModel
from posfleet.kit.pagination import Page
from posfleet.models import Printer
from posfleet.models.enums import PrinterType, SettingType

UID_REGEX = r"^[A-Za-z0-9_-]+$"
OPTIONAL_UID_REGEX = r"^[A-Za-z0-9_-]*$"


class FlowModel(BaseModel):
    """Request bodies refuse unknown types loudly; responses are built from our own data."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")


class FlowRequest(FlowModel, InputModel):
    """A Flow request body: the shared input rules (``kit/input.py``) in Flow's naming."""


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
