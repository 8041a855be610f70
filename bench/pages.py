"""Dashboard page times on a catalog of a few thousand SKUs, next to the same app's /healthz.

    python bench/pages.py [--styles 120] [--colours 5] [--sizes 5] [--rounds 7]

Builds a fresh SQLite database through the HTTP API (``styles`` x ``colours`` x ``sizes`` SKUs, stock for a
tenth of the styles), logs in to the dashboard as a browser does, and times each page in-process
(``TestClient``: no network), the median of ``rounds`` requests after one warm-up. The anchor is GET
/healthz through the same client in the same run: the fixed cost of a request through the stack, so the
ratios say what the page itself costs on whatever machine ran it. Prints one JSON document.
(The dashboard tests check what the pages show on this catalog; how fast they are is measured here.)
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from seamline.api import create_app
from seamline.service import Settings, bootstrap

TOKEN = "bench-admin-token-0123456789abcdef0123456789"
PAGES = (
    "/integration",
    "/integration/live",
    "/stock",
    "/stock?q=number+11",
    "/stock?after=BIG-0050",
    "/stock?style=BIG-0010",
    "/orders",
    "/exceptions",
    "/kpis",
    "/kpis/live",
)


def ok(response: Any) -> None:
    if response.status_code >= 400:
        raise SystemExit(f"{response.request.method} {response.request.url}: {response.status_code} {response.text}")


def build_catalog(client: TestClient, styles: int, colours: int, sizes: int) -> int:
    ok(client.put("/v1/locations/WH", json={"name": "Central warehouse", "kind": "warehouse"}))
    ok(client.put("/v1/channels/web", json={"kind": "shopify", "sources": ["WH"]}))
    scale = [f"S{i:02d}" for i in range(sizes)]
    for n in range(styles):
        code = f"BIG-{n:04d}"
        body = {
            "name": f"Style number {n}",
            "season": "SS27",
            "category": "tees",
            "size_scale": scale,
            "colours": [{"code": f"C{c}", "name": f"Colour {c}"} for c in range(colours)],
            "variants": [
                {"sku": f"{code}-C{c}-{s}", "colour": f"C{c}", "size": s} for c in range(colours) for s in scale
            ],
            "prices": [{"list": "retail", "currency": "EUR", "amount": "19.00"}],
        }
        ok(client.put(f"/v1/styles/{code}", json=body))
    for n in range(0, styles, 10):  # stock for a tenth of the styles is enough rows to matter
        for c in range(colours):
            for s in scale:
                movement = {"kind": "receipt", "sku": f"BIG-{n:04d}-C{c}-{s}", "qty": 5, "to": "WH"}
                ok(client.post("/v1/movements", json=movement))
    return styles * colours * sizes


def log_in(client: TestClient) -> None:
    client.headers.pop("Authorization", None)
    form = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    if csrf is None:
        raise SystemExit("no CSRF token on /login")
    answer = client.post(
        "/login", data={"token": TOKEN, "csrf_token": csrf.group(1), "next": "/stock"}, follow_redirects=False
    )
    if answer.status_code != 303:
        raise SystemExit(f"login failed: {answer.status_code}")


def median_ms(client: TestClient, path: str, rounds: int) -> float:
    ok(client.get(path))  # warm the statement cache
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        ok(client.get(path))
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--styles", type=int, default=120)
    parser.add_argument("--colours", type=int, default=5)
    parser.add_argument("--sizes", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'pages.db'}"
        service = bootstrap(Settings(database_url=url, admin_token=TOKEN))
        with TestClient(create_app(service), headers={"Authorization": f"Bearer {TOKEN}"}) as client:
            skus = build_catalog(client, args.styles, args.colours, args.sizes)
            healthz = median_ms(client, "/healthz", args.rounds)
            log_in(client)
            pages = {}
            for path in PAGES:
                ms = median_ms(client, path, args.rounds)
                pages[path] = {"median_ms": round(ms, 2), "x_healthz": round(ms / healthz, 1)}
        service.engine.dispose()
    result = {
        "benchmark": "dashboard pages",
        "skus": skus,
        "rounds": args.rounds,
        "anchor": {"path": "/healthz", "median_ms": round(healthz, 3)},
        "pages": pages,
        "slowest": max(pages, key=lambda p: pages[p]["median_ms"]),
        "machine": {"python": sys.version.split()[0], "platform": platform.platform()},
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
