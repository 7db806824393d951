"""Statuses and kinds of the domain, stored as their string values."""

from __future__ import annotations

from enum import StrEnum


class DeviceStatus(StrEnum):
    READY_TO_LINK = "READY_TO_LINK"
    ACTIVE = "ACTIVE"
    BLOCKED = "BLOCKED"


class AppCode(StrEnum):
    CLIENT = "CLIENT"
    ASSISTANT = "ASSISTANT"
    UNKNOWN = "UNKNOWN"


class AccountType(StrEnum):
    FULL = "FULL"
    REGULAR = "REGULAR"
    SUPPORT = "SUPPORT"
    INTEGRATION = "INTEGRATION"


class UserStatus(StrEnum):
    ACTIVE = "ACTIVE"
    INACTIVE = "INACTIVE"


class PrinterType(StrEnum):
    LABEL = "LABEL"
    RECEIPT = "RECEIPT"
    GENERAL = "GENERAL"


class PaymentTerminal(StrEnum):
    NONE = "NONE"
    ADYEN = "ADYEN"
    PAYEX = "PAYEX"
    STRIPE = "STRIPE"
    NETS = "NETS"
    VERIFONE = "VERIFONE"


class PaymentVisibility(StrEnum):
    FEATURED = "FEATURED"
    LISTED = "LISTED"
    HIDDEN = "HIDDEN"


class PaymentCode(StrEnum):
    CASH = "CASH"
    INVOICE = "INVOICE"
    VIPPS = "VIPPS"
    ADYEN_CARD = "ADYEN_CARD"
    PAYEX_CARD = "PAYEX_CARD"
    SANTANDER = "SANTANDER"
    EXTERNAL = "EXTERNAL"
    TRANSFER_MONEY = "TRANSFER_MONEY"
    FLOWGIFTCARD = "FLOWGIFTCARD"
    STORE_CREDIT = "STORE_CREDIT"
    STRIPE_CARD = "STRIPE_CARD"
    TWO_INVOICE = "TWO_INVOICE"
    NETS_CARD = "NETS_CARD"
    VERIFONE_CARD = "VERIFONE_CARD"
    FOREIGN_CASH = "FOREIGN_CASH"
    SWISH = "SWISH"
    DINTERO_PAYMENT_LINK = "DINTERO_PAYMENT_LINK"
    BRITANNIA = "BRITANNIA"
    PREPAYMENT = "PREPAYMENT"


class ReasonKind(StrEnum):
    DISCOUNT = "DISCOUNT"
    RETURN = "RETURN"


class DenominationMaterial(StrEnum):
    COIN = "COIN"
    NOTE = "NOTE"


class SettingType(StrEnum):
    STRING = "STRING"
    INTEGER = "INTEGER"
    DECIMAL = "DECIMAL"
    BOOL = "BOOL"
    ENUM = "ENUM"


class CodeState(StrEnum):
    """Life of a single-use secret: live until spent, revoked, or locked by failed guesses."""

    LIVE = "LIVE"
    SPENT = "SPENT"
    REVOKED = "REVOKED"
    LOCKED = "LOCKED"


class GrantState(StrEnum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    DENIED = "DENIED"
    REDEEMED = "REDEEMED"


class SessionState(StrEnum):
    LIVE = "LIVE"
    LOGGED_OUT = "LOGGED_OUT"
    REVOKED = "REVOKED"


class DeliveryChannel(StrEnum):
    EMAIL = "EMAIL"
    SMS = "SMS"
    WHATSAPP = "WHATSAPP"


class DeliveryStatus(StrEnum):
    QUEUED = "QUEUED"
    SENT = "SENT"
    FAILED = "FAILED"


class DeliveryPurpose(StrEnum):
    PAIRING_CODE = "PAIRING_CODE"
    OTP = "OTP"


class OutboxKind(StrEnum):
    DELIVERY = "DELIVERY"
    WEBHOOK = "WEBHOOK"


class OutboxStatus(StrEnum):
    PENDING = "PENDING"
    SENT = "SENT"
    DEAD = "DEAD"
