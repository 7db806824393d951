"""``posfleet worker``, ``posfleet outbox``, ``posfleet webhooks`` and ``posfleet events``."""

from __future__ import annotations

import asyncio
import json
import signal
from datetime import datetime
from typing import Annotated, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.audit.repository import AuditFilter
from posfleet.audit.service import AuditService
from posfleet.cli_support import in_unit_of_work_with_runtime, run_async
from posfleet.models import OutboxEntry, Tenant
from posfleet.outbox.service import OutboxService
from posfleet.outbox.worker import OutboxWorker
from posfleet.runtime import Runtime
from posfleet.tenants.service import TenantService
from posfleet.webhooks.service import EndpointChanges, WebhookService

T = TypeVar("T")

outbox_app = typer.Typer(help="Messages waiting, sent and dead.", no_args_is_help=True)
webhooks_app = typer.Typer(help="A tenant's webhook endpoints.", no_args_is_help=True)

TenantOpt = Annotated[str, typer.Option("--tenant", help="The tenant's UID")]
EndpointArg = Annotated[str, typer.Argument(help="The endpoint's UID")]


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)
    app.command("events")(events)
    app.add_typer(outbox_app, name="outbox")
    app.add_typer(webhooks_app, name="webhooks")


async def _tenant(session: AsyncSession, uid: str) -> Tenant:
    return await TenantService(session).get_tenant(uid)


def _line(entry: OutboxEntry) -> str:
    what = entry.event_type or "code delivery"
    return (
        f"{entry.uid}  {entry.status.value:<7}  {what:<22}  attempts {entry.attempts}"
        f"  {entry.last_error}".rstrip()
    )


def worker(
    once: Annotated[bool, typer.Option(help="Send what is due now, then stop")] = False,
) -> None:
    """Run the outbox worker as a process of its own (servers also run one unless
    POSFLEET_OUTBOX_WORKER=false)."""

    async def run(runtime: Runtime) -> int:
        loop = OutboxWorker(runtime)
        if once:
            try:
                return await loop.run_once()
            finally:
                await loop.close()
        for number in (signal.SIGTERM, signal.SIGINT):
            asyncio.get_running_loop().add_signal_handler(number, loop.request_stop)
        await loop.run_forever()
        return -1

    handled = run_async(run)
    if handled >= 0:
        typer.echo(f"{handled} message(s) handled")


@outbox_app.command("dead")
def outbox_dead(tenant: TenantOpt) -> None:
    """List the tenant's dead messages, newest first."""

    async def work(session: AsyncSession, runtime: Runtime) -> list[str]:
        owner = await _tenant(session, tenant)
        return [_line(e) for e in await OutboxService(session, runtime).dead(owner.id)]

    for line in in_unit_of_work_with_runtime(work):
        typer.echo(line)


@outbox_app.command("retry")
def outbox_retry(
    tenant: TenantOpt,
    message: Annotated[str, typer.Argument(help="The dead message's id (msg_…)")],
) -> None:
    """Send a dead webhook message again (same webhook-id, fresh retry budget)."""

    async def work(session: AsyncSession, runtime: Runtime) -> str:
        owner = await _tenant(session, tenant)
        return _line(await OutboxService(session, runtime).retry_dead(message, owner.id))

    typer.echo(in_unit_of_work_with_runtime(work))


@webhooks_app.command("add")
def webhooks_add(
    tenant: TenantOpt,
    url: Annotated[str, typer.Option(help="http(s) URL that receives the events")],
    event: Annotated[list[str], typer.Option(help="An event type (repeatable)")],
    description: Annotated[str, typer.Option(help="A note for people")] = "",
) -> None:
    """Register an endpoint; prints its uid and signing secret (shown this once)."""

    async def work(session: AsyncSession, runtime: Runtime) -> tuple[str, str]:
        owner = await _tenant(session, tenant)
        endpoint, secret = await WebhookService(session, runtime).create(
            owner.id, url, event, description=description
        )
        return endpoint.uid, secret

    uid, secret = in_unit_of_work_with_runtime(work)
    typer.echo(f"endpoint {uid}\nsecret {secret}")


@webhooks_app.command("list")
def webhooks_list(tenant: TenantOpt) -> None:
    """The tenant's endpoints."""

    async def work(session: AsyncSession, runtime: Runtime) -> list[str]:
        owner = await _tenant(session, tenant)
        return [
            f"{e.uid}  {'enabled ' if e.enabled else 'disabled'}  {e.url}  {','.join(e.events)}"
            + (f"  ({e.disabled_reason})" if e.disabled_reason else "")
            for e in await WebhookService(session, runtime).of_tenant(owner.id)
        ]

    for line in in_unit_of_work_with_runtime(work):
        typer.echo(line)


@webhooks_app.command("set")
def webhooks_set(
    tenant: TenantOpt,
    endpoint: EndpointArg,
    url: Annotated[str | None, typer.Option(help="A new URL")] = None,
    event: Annotated[list[str] | None, typer.Option(help="Replace the event types")] = None,
    enabled: Annotated[bool | None, typer.Option("--enable/--disable")] = None,
) -> None:
    """Change an endpoint (enabling it again clears its failure record)."""

    async def work(session: AsyncSession, runtime: Runtime) -> str:
        owner = await _tenant(session, tenant)
        service = WebhookService(session, runtime)
        found = await service.get(owner.id, endpoint)
        changed = await service.update(
            found, EndpointChanges(url=url, events=event, enabled=enabled)
        )
        return f"{changed.uid}  {'enabled' if changed.enabled else 'disabled'}  {changed.url}"

    typer.echo(in_unit_of_work_with_runtime(work))


@webhooks_app.command("remove")
def webhooks_remove(tenant: TenantOpt, endpoint: EndpointArg) -> None:
    """Remove an endpoint and its delivery log."""

    async def work(session: AsyncSession, runtime: Runtime) -> None:
        owner = await _tenant(session, tenant)
        service = WebhookService(session, runtime)
        await service.delete(await service.get(owner.id, endpoint))

    in_unit_of_work_with_runtime(work)
    typer.echo(f"endpoint {endpoint} removed")


@webhooks_app.command("test")
def webhooks_test(tenant: TenantOpt, endpoint: EndpointArg) -> None:
    """Queue a webhook.test event for the endpoint."""

    async def work(session: AsyncSession, runtime: Runtime) -> str:
        owner = await _tenant(session, tenant)
        service = WebhookService(session, runtime)
        return (await service.send_test(await service.get(owner.id, endpoint))).uid

    typer.echo(f"queued {in_unit_of_work_with_runtime(work)}")


@webhooks_app.command("log")
def webhooks_log(
    tenant: TenantOpt,
    endpoint: EndpointArg,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 20,
) -> None:
    """The endpoint's latest messages with every attempt's result."""

    async def work(session: AsyncSession, runtime: Runtime) -> list[str]:
        owner = await _tenant(session, tenant)
        found = await WebhookService(session, runtime).get(owner.id, endpoint)
        entries, attempts = await OutboxService(session, runtime).log_of_endpoint(found.id, limit)
        lines = []
        for entry in entries:
            lines.append(_line(entry))
            for a in attempts[entry.id]:
                outcome = "ok" if a.ok else "failed"
                code = a.status_code if a.status_code is not None else "-"
                lines.append(
                    f"    {a.attempted_at.isoformat(timespec='seconds')}  {outcome}"
                    f"  {code}  {a.error}".rstrip()
                )
        return lines

    for line in in_unit_of_work_with_runtime(work):
        typer.echo(line)


@webhooks_app.command("redeliver")
def webhooks_redeliver(
    tenant: TenantOpt,
    endpoint: EndpointArg,
    message: Annotated[str, typer.Argument(help="The message id (msg_…)")],
) -> None:
    """Send a sent or dead message again, under the same webhook-id."""

    async def work(session: AsyncSession, runtime: Runtime) -> str:
        owner = await _tenant(session, tenant)
        service = WebhookService(session, runtime)
        return _line(await service.redeliver(await service.get(owner.id, endpoint), message))

    typer.echo(in_unit_of_work_with_runtime(work))


def events(
    tenant: TenantOpt,
    device: Annotated[str | None, typer.Option(help="Only this device's events")] = None,
    action: Annotated[list[str] | None, typer.Option(help="Only this action (repeatable)")] = None,
    since: Annotated[datetime | None, typer.Option(help="At or after (UTC if no zone)")] = None,
    until: Annotated[datetime | None, typer.Option(help="Before (UTC if no zone)")] = None,
    page: Annotated[int, typer.Option(min=1)] = 1,
    size: Annotated[int, typer.Option(min=1, max=500)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line")] = False,
) -> None:
    """The audit timeline of a tenant (or one device), newest first."""
    from datetime import UTC

    def aware(moment: datetime | None) -> datetime | None:
        return moment.replace(tzinfo=UTC) if moment and moment.tzinfo is None else moment

    async def work(session: AsyncSession, runtime: Runtime) -> list[str]:
        owner = await _tenant(session, tenant)
        f = AuditFilter(owner.id, device, action or (), aware(since), aware(until))
        result = await AuditService(session).timeline(f, page, size)
        lines = []
        for e in result.items:
            if as_json:
                lines.append(
                    json.dumps(
                        {
                            "eventId": e.id,
                            "deviceUid": e.device_uid,
                            "action": e.action,
                            "actor": {"type": e.actor_kind, "name": e.actor},
                            "address": e.address,
                            "at": e.at.isoformat(),
                            "changes": e.changes,
                        },
                        default=str,
                    )
                )
            else:
                lines.append(
                    f"{e.at.isoformat(timespec='seconds')}  {e.device_uid or '-':<22}  "
                    f"{e.action:<26}  {e.actor_kind}:{e.actor}  {e.address or '-'}"
                )
        lines.append(f"page {result.page_number}, {result.total_count} event(s) in all")
        return lines

    for line in in_unit_of_work_with_runtime(work):
        typer.echo(line)
