"""ORM tables, one module each.  Importing this package registers every table on ``Base``."""

from posfleet.models.api_key import ApiKey
from posfleet.models.audit_event import AuditEvent
from posfleet.models.base import Base
from posfleet.models.currency_denomination import CurrencyDenomination
from posfleet.models.delivery import Delivery
from posfleet.models.device import Device
from posfleet.models.device_count import DeviceCount
from posfleet.models.device_flow_access import DeviceFlowAccess
from posfleet.models.device_flow_allowed_client import DeviceFlowAllowedClient
from posfleet.models.device_flow_client import DeviceFlowClient
from posfleet.models.device_grant import DeviceGrant
from posfleet.models.device_printer import DevicePrinter
from posfleet.models.device_refresh_token import DeviceRefreshToken
from posfleet.models.device_setting_definition import DeviceSettingDefinition
from posfleet.models.device_setting_value import DeviceSettingValue
from posfleet.models.idempotency_record import IdempotencyRecord
from posfleet.models.integration_token import IntegrationToken
from posfleet.models.link_code import LinkCode
from posfleet.models.otp_challenge import OtpChallenge
from posfleet.models.outbox_attempt import OutboxAttempt
from posfleet.models.outbox_entry import OutboxEntry
from posfleet.models.outbox_message import OutboxMessage
from posfleet.models.pairing_code import PairingCode
from posfleet.models.pos_refresh_token import PosRefreshToken
from posfleet.models.pos_session import PosSession
from posfleet.models.printer import Printer
from posfleet.models.rate_limit_bucket import RateLimitBucket
from posfleet.models.reason import Reason
from posfleet.models.registered_app import RegisteredApp
from posfleet.models.sign_in_attempts import SignInAttempts
from posfleet.models.signing_key import SigningKey
from posfleet.models.store import Store
from posfleet.models.store_payment_method import StorePaymentMethod
from posfleet.models.tenant import Tenant
from posfleet.models.tenant_user import TenantUser
from posfleet.models.till import Till
from posfleet.models.user_store_access import UserStoreAccess
from posfleet.models.webhook_endpoint import WebhookEndpoint

__all__ = [
    "ApiKey",
    "AuditEvent",
    "Base",
    "CurrencyDenomination",
    "Delivery",
    "Device",
    "DeviceCount",
    "DeviceFlowAccess",
    "DeviceFlowAllowedClient",
    "DeviceFlowClient",
    "DeviceGrant",
    "DevicePrinter",
    "DeviceRefreshToken",
    "DeviceSettingDefinition",
    "DeviceSettingValue",
    "IdempotencyRecord",
    "IntegrationToken",
    "LinkCode",
    "OtpChallenge",
    "OutboxAttempt",
    "OutboxEntry",
    "OutboxMessage",
    "PairingCode",
    "PosRefreshToken",
    "PosSession",
    "Printer",
    "RateLimitBucket",
    "Reason",
    "RegisteredApp",
    "SignInAttempts",
    "SigningKey",
    "Store",
    "StorePaymentMethod",
    "Tenant",
    "TenantUser",
    "Till",
    "UserStoreAccess",
    "WebhookEndpoint",
]
