"""The body of every webhook event, as pydantic models: they document the events in the
OpenAPI (``webhooks`` section) and a test checks that each published event matches its model."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Data(BaseModel):
    # Fields are only ever added: a receiver ignores what it does not know.
    model_config = ConfigDict(extra="forbid")


class DeviceData(_Data):
    deviceUid: str
    name: str
    status: Literal["READY_TO_LINK", "ACTIVE", "BLOCKED"]
    actor: str = Field(description="Who did it: a user code, device:<uid>, cli, system, …")
    changed: dict[str, Any] | None = Field(
        default=None, description="device.updated: the fields the update set, by name"
    )


class DeviceClaimData(DeviceData):
    userUid: str = Field(description="The POS user who claimed or released the device")


class PairingCodeSentData(_Data):
    deliveryUid: str
    deviceUid: str
    channel: Literal["EMAIL", "SMS", "WHATSAPP"]
    destination: str = Field(description="Masked")


class PairingCodeUsedData(_Data):
    deviceUid: str
    name: str


class PosSessionData(_Data):
    sessionUid: str
    userUid: str
    locationUid: str
    reason: str | None = Field(default=None, description="pos_session.ended: why (logout)")


class EndpointDisabledData(_Data):
    endpointUid: str
    url: str
    reason: str


class TestData(_Data):
    endpointUid: str


def _event(name: str, data: type[BaseModel]) -> type[BaseModel]:
    fields: Any = {
        "type": (Literal[name], ...),
        "timestamp": (datetime, Field(description="When it happened (UTC, ISO 8601)")),
        "data": (data, ...),
    }
    from pydantic import create_model

    return create_model(
        "".join(part.capitalize() for part in name.replace(".", "_").split("_")) + "Event",
        **fields,
    )


DATA_OF: dict[str, type[BaseModel]] = {
    "device.created": DeviceData,
    "device.updated": DeviceData,
    "device.linked": DeviceData,
    "device.authorized": DeviceData,
    "device.blocked": DeviceData,
    "device.unblocked": DeviceData,
    "device.link_code_reset": DeviceData,
    "device.deleted": DeviceData,
    "device.claimed": DeviceClaimData,
    "device.released": DeviceClaimData,
    "pairing_code.sent": PairingCodeSentData,
    "pairing_code.used": PairingCodeUsedData,
    "pos_session.started": PosSessionData,
    "pos_session.ended": PosSessionData,
    "endpoint.disabled": EndpointDisabledData,
    "webhook.test": TestData,
}
EVENT_MODELS: dict[str, type[BaseModel]] = {
    name: _event(name, data) for name, data in DATA_OF.items()
}
