"""`seamline worker`: deliver events and process the inbox without serving the API (DESIGN 2, 8)."""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer
from rich.console import Console

from seamline.service import bootstrap

console = Console()


def worker(
    transport: Annotated[
        str | None, typer.Option(help="inprocess (this database's queue) or nats (JetStream consumers).")
    ] = None,
    nats_url: Annotated[str | None, typer.Option(help="NATS server (default SEAMLINE_NATS_URL).")] = None,
    health_host: Annotated[str, typer.Option(help="Address of the /healthz, /readyz and /metrics endpoint.")] = (
        "127.0.0.1"
    ),
    health_port: Annotated[
        int, typer.Option(help="Port of that endpoint (0: any free port, printed; -1: no endpoint).")
    ] = 9101,
) -> None:
    """Deliver events and process the inbox without serving the API; run several to share the load. Serves its
    own /healthz (503 when a background thread died), /readyz and /metrics for process managers and scrapes."""
    from dataclasses import replace

    from seamline.channels.wiring import ConnectorWiring
    from seamline.integration import IntegrationSettings, install
    from seamline.integration.health import HealthServer

    settings = IntegrationSettings.from_env()
    if transport is not None:
        settings = replace(settings, transport=transport)
    if nats_url is not None:
        settings = replace(settings, nats_url=nats_url)
    settings.check()
    app = bootstrap()
    integration = install(app, settings)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    integration.start(listen=True)
    wiring = ConnectorWiring(integration)
    wiring.start()
    health = None
    if health_port >= 0:
        health = HealthServer(
            lambda: app.read(lambda conn: conn.exec_driver_sql("SELECT 1").scalar()), health_host, health_port
        )
        health.start()
    names = ", ".join(integration.registry.names()) or "none"
    console.print(f"worker running: transport {settings.transport}, subscribers {names}")
    if health is not None:
        host, port = health.address
        console.print(f"health: http://{host}:{port}/healthz, metrics: http://{host}:{port}/metrics")
    try:
        stop.wait()
    finally:
        if health is not None:
            health.stop()
        wiring.stop()
        integration.stop()
