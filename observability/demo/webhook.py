"""Demo layer (I/O): a local webhook receiver for Alertmanager's webhook notifications.

Alertmanager POSTs a JSON payload (version "4": status, receiver, groupLabels, alerts[] with labels,
annotations, startsAt, ...) to the configured URL. The demo counts the alerts it received by name so the live
summary and the smoke check can show that an alert travelled rule → Prometheus → Alertmanager → receiver.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class WebhookInbox:
    """What the receiver got: every payload, and the alert names seen firing."""

    payloads: list[dict[str, Any]] = field(default_factory=list)
    firing: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, payload: dict[str, Any]) -> None:
        with self.lock:
            self.payloads.append(payload)
            for alert in payload.get("alerts") or []:
                name = (alert.get("labels") or {}).get("alertname")
                if alert.get("status") == "firing" and isinstance(name, str):
                    self.firing.add(name)

    def firing_names(self) -> set[str]:
        with self.lock:
            return set(self.firing)

    def count(self) -> int:
        with self.lock:
            return len(self.payloads)


class WebhookReceiver:
    """An HTTP server on 127.0.0.1 (port picked by the kernel) that records Alertmanager webhooks."""

    def __init__(self) -> None:
        self.inbox = WebhookInbox()
        inbox = self.inbox

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                return None

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    payload = json.loads(self.rfile.read(length) or b"{}")
                except json.JSONDecodeError:
                    self.send_response(400)
                    self.end_headers()
                    return
                if isinstance(payload, dict):
                    inbox.record(payload)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/alerts"
        self._thread = threading.Thread(target=self._server.serve_forever, name="demo-webhook", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
