"""Render the back office's main pages into docs/images/ (run through scripts/screenshots)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.async_api import Page, async_playwright  # noqa: E402

from posfleet.config import Environment, Settings  # noqa: E402
from tests.support.server import running_posfleet, settings_environment  # noqa: E402

IMAGES = ROOT / "docs" / "images"
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


async def shoot(base: str, manifest: dict) -> None:
    flow = manifest["flow"]
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=ARGS
        )
        context = await browser.new_context(viewport={"width": 1024, "height": 800})
        page = await context.new_page()

        async def save(name: str, target: Page = page) -> None:
            await target.screenshot(path=IMAGES / f"backoffice-{name}.png", full_page=True)
            print(f"  docs/images/backoffice-{name}.png")

        await page.goto(base + "/backoffice/sign-in")
        await save("sign-in")
        await page.get_by_label("User code").fill(flow["admin"]["userCode"])
        await page.get_by_label("Password").fill(flow["admin"]["password"])
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_url("**/backoffice/devices")
        await save("devices")

        await page.get_by_label("Search").fill("oslo")
        await page.get_by_label("Status").select_option("ACTIVE")
        await page.get_by_role("button", name="Show devices").click()
        await page.wait_for_url("**q=oslo**")
        await page.get_by_role("link", name="Oslo Kasse 1").click()
        await page.get_by_role("button", name="Block").click()
        await page.get_by_role("button", name="Unblock").click()
        await page.get_by_role("heading", name="Audit timeline").wait_for()
        await save("device")

        await page.goto(base + f"/backoffice/devices/{flow['readyDevice']['deviceUid']}")
        await page.get_by_label("Send by").select_option("SMS")
        await page.get_by_label("Email address or mobile number").fill("+47 912 34 567")
        await page.get_by_role("button", name="Send a pairing code").click()
        await page.locator("#deliveries").wait_for()
        await save("pairing")

        await page.goto(base + f"/backoffice/devices/{flow['readyDevice']['deviceUid']}/edit")
        await save("edit")

        await page.goto(base + "/backoffice/devices/new")
        await page.get_by_label("Name").fill("Oslo till 5")
        await page.get_by_label("Store").select_option(flow["storeUid"])
        await page.get_by_role("button", name="Create device").click()
        await page.locator("#link-card").wait_for()
        await save("link-card")

        await page.goto(base + "/backoffice/users")
        await save("users")
        await page.goto(base + "/backoffice/stores")
        await save("stores")

        with receiving() as receiver_url:
            await page.goto(base + "/backoffice/webhooks")
            await page.get_by_label("URL", exact=True).fill(receiver_url)
            await page.get_by_label("Description (optional)").fill("ERP integration")
            for event in ("device.created", "device.blocked", "device.deleted"):
                await page.get_by_label(event, exact=True).check()
            await page.get_by_role("button", name="Add endpoint").click()
            await page.get_by_role("link", name="Go to the endpoint").click()
            await page.get_by_role("button", name="Send a test event").click()
            for _ in range(50):
                await page.reload()
                if "HTTP 204" in await page.locator("main").inner_text():
                    break
                await asyncio.sleep(0.2)
            await save("webhooks")

        tablet = await browser.new_context(viewport={"width": 768, "height": 1024})
        tablet_page = await tablet.new_page()
        await tablet_page.context.add_cookies(await context.cookies())
        await tablet_page.goto(base + "/backoffice/devices")
        await save("devices-768", tablet_page)
        await browser.close()


@contextlib.contextmanager
def receiving() -> Iterator[str]:
    """A webhook receiver on loopback that answers 204 to every POST; yields its URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/posfleet-events"
    finally:
        server.shutdown()
        server.server_close()


def main() -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="posfleet-screens-") as tmp:
        work = Path(tmp)
        settings = Settings(
            database_url=f"sqlite+aiosqlite:///{work / 'screens.db'}",
            secret_key="screenshots-" + "s" * 40,
            environment=Environment.DEVELOPMENT,
            log_level="warning",
            # The pictured webhook endpoint is a receiver on this machine.
            webhook_allow_private_addresses=True,
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("POSFLEET_")}
        env.update(settings_environment(settings))
        posfleet = str(ROOT / ".venv" / "bin" / "posfleet")
        subprocess.run([posfleet, "db", "upgrade"], env=env, check=True, cwd=work)
        manifest_path = work / "manifest.json"
        subprocess.run(
            [posfleet, "demo", "--manifest", str(manifest_path)],
            env=env,
            check=True,
            cwd=work,
            stdout=subprocess.DEVNULL,
        )
        manifest = json.loads(manifest_path.read_text())
        with running_posfleet(settings, work) as base:
            asyncio.run(shoot(base, manifest))


if __name__ == "__main__":
    main()
