"""Back-office tests in a real Chromium (Debian's ``/usr/bin/chromium``) against posfleet served
over real HTTP on loopback.

* ``live`` — one posfleet server per database engine for the whole run (tests isolate by tenant),
  with ``live.runtime`` to arrange rows in the same database and ``live.url(path)``; its webhooks
  may go to ``webhook_receiver``, a Standard Webhooks verifier on loopback.
* ``browser`` — one headless Chromium for the whole run; ``page`` — a fresh context (its own
  cookies) and page per test.
* ``office`` — a tenant with a store, a till, a FULL user with TENANT.ADMIN and a REGULAR user.
  ``sign_in(page, live, user)`` signs a user in through the sign-in form.

Playwright drives the system Chromium through ``executable_path`` and never downloads a browser.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from posfleet.config import Environment, Settings
from posfleet.migrations import upgrade
from posfleet.models import Store, Tenant, TenantUser, Till
from posfleet.models.enums import AccountType
from posfleet.runtime import Runtime
from posfleet.tenants.payments import PaymentCatalogService
from tests import factories
from tests.commerce.conftest import GATEWAY_SECRET
from tests.commerce.receivers import GatewayReceiver, SmtpReceiver
from tests.conftest import BACKENDS, TEST_SECRET
from tests.outbox.receiver import WebhookReceiver, running_receiver
from tests.support.cli import empty_database
from tests.support.postgres import PostgresServer
from tests.support.server import running_posfleet

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "correct horse battery"

pytestmark = pytest.mark.browser


@dataclass
class Live:
    """A running posfleet and a runtime over its database."""

    base: str
    backend: str
    runtime: Runtime

    def url(self, path: str) -> str:
        return self.base + path


def live_settings(database_url: str, **delivery: Any) -> Settings:
    return Settings(
        database_url=database_url,
        environment=Environment.TEST,
        secret_key=TEST_SECRET,
        public_base_url="http://127.0.0.1",
        log_level="warning",
        rate_limit_per_address=100_000,
        login_rate_limit_per_address=100_000,
        # A failing code delivery is FAILED at its first attempt, not after the outbox's backoff.
        delivery_max_attempts=1,
        **delivery,
    )


@contextlib.asynccontextmanager
async def serving(settings: Settings, backend: str, workdir: Path) -> AsyncIterator[Live]:
    runtime = Runtime.create(settings)
    await runtime.load_signing_keys()
    try:
        with running_posfleet(settings, workdir) as base:
            yield Live(base, backend, runtime)
    finally:
        await runtime.close()


async def own_database(
    backend: str, pg_server: PostgresServer | None, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """A migrated database of the live server's own: its outbox worker runs for the whole
    session and must not take the messages of other tests' servers and workers."""
    url = empty_database(backend, pg_server, tmp_path_factory.mktemp(f"db-{backend}"))
    # Alembic runs its own event loop: in a thread, beside this fixture's.
    await asyncio.to_thread(upgrade, Settings(database_url=url, secret_key=TEST_SECRET))
    return url


@pytest.fixture(scope="session", params=BACKENDS)
async def live(
    request: pytest.FixtureRequest,
    database_urls: dict[str, str],
    pg_server: PostgresServer | None,
    smtp: SmtpReceiver,
    _gateway_server: GatewayReceiver,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Live]:
    """Codes go by email through the test SMTP server, by SMS and WhatsApp through the gateway;
    webhooks may go to loopback."""
    backend: str = request.param
    if backend not in database_urls:
        pytest.skip("PostgreSQL is not installed (set POSFLEET_TEST_POSTGRES=require to fail)")
    settings = live_settings(
        await own_database(backend, pg_server, tmp_path_factory),
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        sms_gateway_url=_gateway_server.url,
        sms_gateway_secret=GATEWAY_SECRET,
        # Webhook endpoints point at a receiver on loopback.
        webhook_allow_private_addresses=True,
    )
    async with serving(settings, backend, tmp_path_factory.mktemp(f"live-{backend}")) as live:
        yield live


@pytest.fixture(scope="session")
async def live_outbox(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Live]:
    """posfleet with no transport configured: every code goes to the development outbox.  Its
    webhook URLs are guarded as in production (no loopback or private addresses)."""
    settings = live_settings(
        await own_database("sqlite", None, tmp_path_factory), pairing_resend_interval_seconds=0
    )
    async with serving(settings, "sqlite", tmp_path_factory.mktemp("live-outbox")) as live:
        yield live


@pytest.fixture(scope="session")
def webhook_receiver() -> Iterator[WebhookReceiver]:
    with running_receiver() as receiver:
        yield receiver


def _require_chromium() -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is required for the back-office tests: {CHROMIUM} is missing")


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    _require_chromium()
    # Never fetch a browser: the system one is the only one used.
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        await chromium.close()


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    ctx = await browser.new_context(viewport={"width": 768, "height": 1024})
    ctx.set_default_timeout(10_000)
    yield ctx
    await ctx.close()


@pytest.fixture
async def page(context: BrowserContext) -> Page:
    return await context.new_page()


@dataclass
class Office:
    tenant: Tenant
    store: Store
    till: Till
    admin: TenantUser
    cashier: TenantUser


async def make_office(live: Live, name: str = "Test Retail AS") -> Office:
    async with live.runtime.sessionmaker() as session:
        tenant = await factories.tenant(session, name=name)
        store = await factories.store(session, tenant, name="Main Street")
        till = await factories.till(session, store)
        # A device in a store without a zero-amount method is refused GET /v2/device (409).
        await PaymentCatalogService(session).add_defaults(tenant.id, store)
        admin = await factories.user(
            session, tenant, stores=[store], password=PASSWORD, permissions=["TENANT.ADMIN"]
        )
        cashier = await factories.user(
            session, tenant, stores=[store], password=PASSWORD, account_type=AccountType.REGULAR
        )
        await session.commit()
    return Office(tenant, store, till, admin, cashier)


@pytest.fixture
async def office(live: Live) -> Office:
    return await make_office(live)


async def sign_in(page: Page, live: Live, user: TenantUser, tenant_uid: str = "") -> None:
    """Sign ``user`` in through the form, with the keyboard as a user would."""
    await page.goto(live.url("/backoffice/sign-in"))
    await page.get_by_label("User code").fill(user.user_code)
    await page.get_by_label("Password").fill(PASSWORD)
    if tenant_uid:
        await page.get_by_label("Tenant").fill(tenant_uid)
    await page.get_by_label("Password").press("Enter")
    await page.wait_for_load_state("domcontentloaded")
