"""The API against its own published contract: schemathesis generates requests from ``/openapi.json`` (valid and
invalid ones) and sends them to the ASGI app with an admin token, on SQLite and on PostgreSQL, each seeded with
the conftest world.

Two checks, on every operation: no answer is a 5xx (``not_a_server_error``), and every answer's body matches
the schema the API publishes for that status code (``response_schema_conformance``).

Random strings almost never name a SKU, location, channel or hold that exists, so on their own the generated
requests would nearly all end in 404/422 and the 2xx schemas would go unchecked. Half the valid (positive) cases
are therefore steered: identifiers in the path and in POST bodies are replaced by ones the seeded world has,
and quantities by small ones, so the success paths (holds, movements, stock, availability...) answer too.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from seamline.api import create_app
from seamline.service import Settings, bootstrap
from tests.conftest import ADMIN_TOKEN, _empty_postgres, receive, seed_world

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
# A channel of our own for the steered requests: generated PUTs replace "web" (a channel kind, so a value the
# schema suggests) with no sources at all.
CHANNEL = "flash-sale-7"
SKUS = ("OVS-001-NVY-S", "OVS-001-NVY-M", "OVS-001-NVY-L", "OVS-001-NVY-XL", "OVS-001-NVY-PACK")
LOCATIONS = ("WH", "STORE-1", "STORE-2")
# Path parameters whose value a seeded world can supply (``code`` depends on the resource).
PATH_VALUES: dict[str, tuple[str, ...]] = {"sku": SKUS, "channel": (CHANNEL,)}
CODE_VALUES = {"/v1/styles/": ("OVS-001",), "/v1/locations/": LOCATIONS, "/v1/channels/": (CHANNEL,)}
BODY_VALUES: dict[str, tuple[Any, ...]] = {
    "sku": SKUS,
    "location": LOCATIONS,
    "from": LOCATIONS,
    "to": LOCATIONS,
    "channel": (CHANNEL,),
    "qty": (1, 2, 3),
    "ttl_seconds": (60, 600),
}

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class World:
    api: FastAPI
    hold_id: str


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One application for every operation, on each database: the conftest world, stock everywhere, and a live
    hold to find."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("schemathesis") / "seamline.db"
        path.write_bytes(request.getfixturevalue("sqlite_template").read_bytes())
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("postgres_server_url")
        _empty_postgres(url)
    service = bootstrap(Settings(database_url=url, admin_token=ADMIN_TOKEN), migrate=False)
    api = create_app(service)
    with TestClient(api, headers=AUTH) as client:
        seed_world(client)
        channel = client.put(f"/v1/channels/{CHANNEL}", json={"kind": "web", "sources": ["WH", "STORE-1"]})
        assert channel.status_code == 201, channel.text
        for sku in SKUS[:-1]:
            for location in LOCATIONS:
                receive(client, sku, 500, to=location)
        hold = client.post(
            "/v1/holds", json={"channel": CHANNEL, "lines": [{"sku": "OVS-001-NVY-M", "qty": 1}], "ttl_seconds": 86400}
        )
        assert hold.status_code == 201, hold.text
    yield World(api, hold.json()["id"])
    shutdown_lifespans()  # schemathesis keeps the app's lifespan (its hold batcher) running until told
    service.engine.dispose()


def _steer_body(value: Any, draw: Any) -> Any:
    """Replace identifiers, quantities and TTLs anywhere in a JSON body by seeded or small ones."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            known = BODY_VALUES.get(key)
            if known is not None and not isinstance(item, dict | list):
                out[key] = draw(st.sampled_from(known))
            else:
                out[key] = _steer_body(item, draw)
        return out
    if isinstance(value, list):
        return [_steer_body(item, draw) for item in value]
    return value


def _steer(case: Any, hold_id: str, draw: Any) -> None:
    """Point a GET or POST at seeded data. PUTs are left alone: steered, they would overwrite the seeded style,
    locations or channel (a generated channel has no sources) under every later request."""
    method, path = case.operation.method.upper(), case.operation.path
    if method not in ("GET", "POST"):
        return
    for name in list(case.path_parameters or {}):
        if name == "code":
            known = next((v for prefix, v in CODE_VALUES.items() if path.startswith(prefix)), None)
        elif name == "hold_id":
            known = (hold_id,)
        else:
            known = PATH_VALUES.get(name)
        if known is not None:
            case.path_parameters[name] = draw(st.sampled_from(known))
    if method == "POST" and isinstance(case.body, dict):
        case.body = _steer_body(case.body, draw)
        if path == "/v1/holds":
            case.body.setdefault("channel", CHANNEL)  # lines without a location draw on a channel's sources
        if path == "/v1/movements":  # each kind names one side: a receipt (or a gain) its `to`, the others `from`
            kind = case.body.get("kind")
            side, other = ("to", "from") if kind in ("receipt", "adjustment") else ("from", "to")
            case.body.pop(other, None)
            case.body[side] = draw(st.sampled_from(LOCATIONS))
            if kind == "adjustment":
                case.body["reason"] = "count"


def _exercise(operation: Any, mode: GenerationMode, examples: int, hold_id: str, answered: dict[str, set[int]]) -> None:
    """Send ``examples`` generated requests of one operation and validate every answer; raises on a failure."""

    @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        derandomize=True,  # the same requests every run: the coverage asserted at the end cannot flake
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
    )
    def check(case: Any, data: st.DataObject) -> None:
        if mode is GenerationMode.POSITIVE and data.draw(st.booleans()):
            _steer(case, hold_id, data.draw)
        response = case.call_and_validate(
            headers=AUTH, checks=[not_a_server_error, response_schema_conformance, status_code_conformance]
        )
        answered.setdefault(case.operation.label, set()).add(response.status_code)

    check()


def test_api_answers_no_5xx_and_conforms_to_its_schema(world: World) -> None:
    """Every operation, with valid and with invalid requests; every failure is collected, then reported.

    (The operations are driven through ``APIOperation.as_strategy`` rather than ``schema.parametrize()``: the
    lazy ``from_fixture`` loader reads ``request.node._nodeid``, which pytest 9.2 no longer has.)
    """
    loaded = schemathesis.openapi.from_asgi("/openapi.json", world.api)
    operations = [result.ok() for result in loaded.get_all_operations()]
    assert len(operations) >= 15, [op.label for op in operations]
    failures: dict[str, str] = {}
    answered: dict[str, set[int]] = {}
    for operation in operations:
        for mode, examples in ((GenerationMode.POSITIVE, 15), (GenerationMode.NEGATIVE, 10)):
            try:
                _exercise(operation, mode, examples, world.hold_id, answered)
            except Exception as exc:  # noqa: BLE001 - collected per operation and reported together below
                failures[f"{operation.label} ({mode.value})"] = str(exc)[:3000]
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
    # The steering worked: the ledger's success paths were reached, so their 2xx schemas were checked.
    for label, status in (
        ("POST /v1/holds", 201),
        ("POST /v1/movements", 201),
        ("GET /v1/skus/{sku}", 200),
        ("GET /v1/holds/{hold_id}", 200),
        ("GET /v1/availability/{channel}", 200),
        ("GET /v1/stock", 200),
    ):
        assert status in answered.get(label, set()), (label, answered.get(label))
