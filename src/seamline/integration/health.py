"""A worker's own health and metrics endpoint (``seamline worker`` serves no API, so a process manager or an
orchestrator needs somewhere to ask whether it is alive and to scrape it).

``/healthz`` is 200 while every Seamline background thread that was running when the endpoint started is
still alive, 503 naming the dead ones otherwise (a dispatcher that died leaves a process that looks up but
delivers nothing: restart it). ``/readyz`` asks the database. ``/metrics`` is this process's Prometheus text,
unauthenticated like any scrape endpoint: bind it to an internal address (the default is loopback).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

log = logging.getLogger("seamline.integration")


def seamline_threads() -> set[str]:
    return {t.name for t in threading.enumerate() if t.name.startswith("seamline-") and t.is_alive()}


class HealthServer:
    def __init__(self, ping: Callable[[], object], host: str = "127.0.0.1", port: int = 9101) -> None:
        self._ping = ping
        self._watched: set[str] = set()
        self._server = ThreadingHTTPServer((host, port), self._handler())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def health(self) -> tuple[int, dict[str, Any]]:
        dead = sorted(self._watched - seamline_threads())
        if dead:
            return 503, {"status": "unhealthy", "dead_threads": dead}
        return 200, {"status": "ok", "threads": sorted(self._watched)}

    def readiness(self) -> tuple[int, dict[str, Any]]:
        try:
            self._ping()
        except Exception as exc:  # noqa: BLE001 - any failure means not ready; the reason is reported
            return 503, {"status": "unavailable", "reason": type(exc).__name__}
        return 200, {"status": "ready"}

    def start(self) -> None:
        """Watch the background threads running now, and answer from a thread of its own."""
        self._watched = seamline_threads()
        self._thread = threading.Thread(target=self._server.serve_forever, name="health-http", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    self._send(200, generate_latest(), CONTENT_TYPE_LATEST)
                    return
                answers = {"/healthz": server.health, "/readyz": server.readiness}
                if path not in answers:
                    self._send(404, b'{"status": "not found"}', "application/json")
                    return
                status, body = answers[path]()
                self._send(status, json.dumps(body).encode(), "application/json")

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("health endpoint: " + format, *args)

        return Handler
