"""End-to-end tests reuse the Commerce Engine fixtures: real SMTP server, gateway, a world."""

from tests.commerce.conftest import (  # noqa: F401  (fixtures, found by name)
    _gateway_server,
    delivery_settings,
    gateway,
    settings,
    smtp,
    world,
)
