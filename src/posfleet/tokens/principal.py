"""Who is calling: the verified, still-valid holder of a bearer token."""

from __future__ import annotations

from dataclasses import dataclass

from posfleet.kit.jwt import TokenType
from posfleet.models import Device, Tenant, TenantUser

ADMIN_PERMISSIONS = frozenset({"TENANT.ADMIN", "DEVICE"})


@dataclass(frozen=True, slots=True)
class Principal:
    token_type: TokenType
    tenant: Tenant
    user: TenantUser | None = None
    device: Device | None = None

    @property
    def can_manage_devices(self) -> bool:
        """``TENANT.ADMIN`` or the narrower ``DEVICE`` permission."""
        return self.user is not None and bool(ADMIN_PERMISSIONS & set(self.user.permissions))

    @property
    def actor(self) -> str:
        """How audit trails and ``createdBy``/``lastModifiedBy`` name the caller."""
        if self.user is not None:
            return self.user.user_code
        if self.device is not None:
            return f"device:{self.device.uid}"
        return "unknown"
