"""Destinations as people may see them: enough to recognise, not enough to harvest."""

from __future__ import annotations


def mask_email(address: str) -> str:
    """``kari.nordmann@example.com`` → ``k***@example.com``."""
    local, _, domain = address.partition("@")
    if not domain:
        return "***"
    return f"{local[:1]}***@{domain}"


def mask_phone(number: str) -> str:
    """``+4791234567`` → ``+47*****567``: country prefix and the last three digits."""
    digits = number.lstrip("+")
    plus = "+" if number.startswith("+") else ""
    if len(digits) <= 5:
        return plus + "*" * len(digits)
    head = digits[:2] if plus else ""
    return plus + head + "*" * (len(digits) - len(head) - 3) + digits[-3:]


def mask(destination: str) -> str:
    return mask_email(destination) if "@" in destination else mask_phone(destination)
