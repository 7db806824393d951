"""``posfleet pairing``: send a device's pairing code by email, SMS or WhatsApp; retry a failure.

The command queues the message like the API does, then sends it itself and reports the first
attempt; a message that failed but has retries left stays QUEUED for the outbox worker.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Annotated

import typer

from posfleet.cli_support import run_async
from posfleet.db import session_scope
from posfleet.delivery.service import DeliveryService
from posfleet.models import Delivery
from posfleet.models.enums import DeliveryChannel
from posfleet.outbox.worker import OutboxWorker
from posfleet.pairing.service import PairingSent, PairingService
from posfleet.runtime import Runtime
from posfleet.tenants.service import TenantService

pairing_app = typer.Typer(
    help="Pairing codes for Commerce Engine POS devices.", no_args_is_help=True
)


def _send(work: Callable[[PairingService, TenantService], Awaitable[PairingSent]]) -> PairingSent:
    """Queue the code (committed), then send it from this process and report the first
    attempt, so that the operator sees how it went without a server running."""

    async def run(runtime: Runtime) -> PairingSent:
        async with session_scope(runtime.sessionmaker) as session:
            sent = await work(PairingService(session, runtime), TenantService(session))
        worker = OutboxWorker(runtime)
        deadline = time.monotonic() + runtime.settings.outbox_lease_seconds
        try:
            while True:
                await worker.run_once()
                async with runtime.read_sessionmaker() as session:
                    delivery = await DeliveryService(session, runtime).get(sent.delivery.uid)
                # A server's worker may have taken the message first; wait for its attempt.
                if delivery.attempts > 0 or time.monotonic() > deadline:
                    return PairingSent(sent.code, delivery, sent.device)
                await asyncio.sleep(0.1)
        finally:
            await worker.close()

    return run_async(run)


def describe(delivery: Delivery) -> str:
    line = (
        f"delivery {delivery.uid}: {delivery.channel.value} to {delivery.destination_masked} "
        f"via {delivery.transport}: {delivery.status.value}"
    )
    return f"{line} ({delivery.error})" if delivery.error else line


def _report(sent: PairingSent) -> None:
    typer.echo(describe(sent.delivery))
    typer.echo(f"code expires at {sent.code.expires_at.isoformat(timespec='seconds')}")
    if sent.delivery.status.value == "QUEUED":
        typer.echo("the outbox worker retries it with backoff")
    if sent.delivery.status.value == "FAILED":
        raise typer.Exit(code=1)


@pairing_app.command("send")
def pairing_send(
    tenant: Annotated[str, typer.Option("--tenant", help="The tenant's UID")],
    device: Annotated[str, typer.Option("--device", help="The device's UID")],
    email: Annotated[str | None, typer.Option(help="Send the code to this address")] = None,
    phone: Annotated[str | None, typer.Option(help="Send by SMS to +<country><number>")] = None,
    whatsapp: Annotated[bool, typer.Option(help="With --phone: WhatsApp, not SMS")] = False,
) -> None:
    """Issue a new pairing code for a device waiting to link and deliver it to a person."""
    if (email is None) == (phone is None):
        raise typer.BadParameter("give exactly one of --email or --phone")
    if email is not None:
        channel, destination = DeliveryChannel.EMAIL, email
    else:
        channel = DeliveryChannel.WHATSAPP if whatsapp else DeliveryChannel.SMS
        destination = phone or ""

    async def work(service: PairingService, tenants: TenantService) -> PairingSent:
        owner = await tenants.get_tenant(tenant)
        return await service.send(owner, device, channel, destination, "cli")

    _report(_send(work))


@pairing_app.command("retry")
def pairing_retry(
    delivery: Annotated[
        str, typer.Argument(help="The failed delivery's id (after `--` if it starts with -)")
    ],
) -> None:
    """Deliver a failed pairing delivery again (with a fresh code)."""

    async def work(service: PairingService, _tenants: TenantService) -> PairingSent:
        return await service.retry(delivery, "cli")

    _report(_send(work))
