"""Device-side tests link many devices from one test address within a minute; the per-address
budgets are raised here so that tests do not spend each other's.  The tests of the budgets
build their own app with small limits and a client address of their own."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from posfleet.config import Settings


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(rate_limit_per_address=1_000_000, login_rate_limit_per_address=1_000_000)
