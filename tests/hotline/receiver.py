"""A real HTTP receiver standing in for the hotline platform's callback URL.

It listens on 127.0.0.1 (a thread with the standard library's server), checks the signature the
way the platform's spec says (HMAC-SHA256 of "{timestamp}.{raw body}", 300 s window) without
gridops' own code, drops repeats by event_id, and records what it accepted in arrival order.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Receiver:
    def __init__(self, secret: str, port: int | None = None) -> None:
        self.secret = secret.encode()
        self.port = port or free_port()
        self.accepted: list[dict[str, Any]] = []  # first delivery of each event_id, in order
        self.deliveries: Counter[str] = Counter()  # every valid POST per event_id
        self.refused_signatures = 0
        self.failing = False  # answer 503 to everything (up, but unhealthy)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hotline/callback"

    def _valid(self, timestamp: str, signature: str, body: bytes) -> bool:
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > 300:
            return False
        expected = "sha256=" + hmac.new(self.secret, timestamp.encode() + b"." + body,
                                        hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, signature)

    def handle(self, headers: Any, body: bytes) -> int:
        with self._lock:
            if not self._valid(headers.get("X-Hotline-Timestamp", ""),
                               headers.get("X-Hotline-Signature", ""), body):
                self.refused_signatures += 1
                return 401
            if self.failing:
                return 503
            document = json.loads(body)
            event_id = document["event_id"]
            self.deliveries[event_id] += 1
            if self.deliveries[event_id] == 1:
                self.accepted.append(document)
            return 200

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status = receiver.handle(self.headers, body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return  # keep test output quiet

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
