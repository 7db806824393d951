"""A real webhook receiver on loopback that checks every request with the standardwebhooks
verifier, as an integrator's would, and answers 401 to one that does not verify."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.support.server import free_port


@dataclass
class Received:
    message_id: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    error: str = ""

    @property
    def payload(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass
class WebhookReceiver:
    port: int
    secrets: dict[str, str] = field(default_factory=dict)  # path -> whsec_ secret
    received: list[Received] = field(default_factory=list)
    status: int = 204
    # While set, requests wait (the sender sees a slow endpoint) until it is cleared.
    hold: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.headers.get("x-path") == path]

    def verified(self, path: str) -> list[Received]:
        return [r for r in self.at(path) if r.verified]

    async def wait_for(self, path: str, count: int = 1, within: float = 10.0) -> list[Received]:
        """The verified requests at ``path`` once there are ``count`` of them."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            found = self.verified(path)
            if len(found) >= count:
                return found
            await asyncio.sleep(0.02)
        raise AssertionError(f"{path}: {len(self.verified(path))} of {count} webhooks arrived")


@contextmanager
def running_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver(free_port())

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            path = self.path.strip("/")
            headers = {k.lower(): v for k, v in self.headers.items()}
            headers["x-path"] = path
            secret = receiver.secrets.get(path)
            verified, error = False, "no secret for this path"
            if secret is not None:
                try:
                    Webhook(secret).verify(raw, headers)
                    verified, error = True, ""
                except WebhookVerificationError as exc:
                    error = str(exc)
            with receiver.lock:
                receiver.received.append(
                    Received(headers.get("webhook-id", ""), headers, raw, verified, error)
                )
            while receiver.hold.is_set():
                time.sleep(0.02)
            if not verified:
                self._answer(401, error.encode())
            else:
                self._answer(receiver.status, b"")

        def _answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 256  # a worker opens a connection per message of a round at once

    server = Server(("127.0.0.1", receiver.port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.hold.clear()
        server.shutdown()
        server.server_close()
