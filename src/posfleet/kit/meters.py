"""The process's Prometheus meters, in one domain-free place so that any layer may count.

``posfleet.metrics`` serves them at ``/metrics``.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter(
    "posfleet_http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
LATENCY = Histogram(
    "posfleet_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "route"],
    buckets=(0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
OUTBOX_MESSAGES = Counter(
    "posfleet_outbox_messages_total",
    "Outbox send attempts by kind (delivery: email/SMS/WhatsApp codes; webhook) and outcome "
    "(sent; failed, to be retried; dead, retry budget spent)",
    ["kind", "outcome"],
)
RATE_LIMIT_REFUSALS = Counter(
    "posfleet_rate_limit_refusals_total", "Requests refused by a rate limit", ["policy"]
)
OUTBOX_DEPTH = Gauge(
    "posfleet_outbox_depth", "Messages waiting to be sent", multiprocess_mode="mostrecent"
)
OUTBOX_OLDEST = Gauge(
    "posfleet_outbox_oldest_age_seconds",
    "Age of the oldest message waiting to be sent",
    multiprocess_mode="mostrecent",
)
PASSWORD_CHECKS_RUNNING = Gauge(
    "posfleet_password_checks_running", "Password checks running now", multiprocess_mode="livesum"
)
PASSWORD_CHECKS_WAITING = Gauge(
    "posfleet_password_checks_waiting",
    "Password checks waiting for a hashing thread",
    multiprocess_mode="livesum",
)


def count_outcome(kind: str, *, ok: bool, dead: bool) -> None:
    outcome = "sent" if ok else "dead" if dead else "failed"
    OUTBOX_MESSAGES.labels(kind=kind.lower(), outcome=outcome).inc()


def count_refusal(policy: str) -> None:
    RATE_LIMIT_REFUSALS.labels(policy=policy).inc()
