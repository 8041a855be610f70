"""Apps made in one process share their routes (``api_routes``, ``dashboard_routes``: FastAPI's analysis of
them, done once) and nothing else: each answers from its own service, tokens and dashboard."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from fastapi.testclient import TestClient

from seamline.api import create_app
from seamline.api.app import api_routes
from seamline.service import Settings, bootstrap
from seamline.web.routes import dashboard_routes
from tests.conftest import ADMIN_TOKEN
from tests.integration.helpers import assert_problem

OTHER_TOKEN = "other-app-admin-token-0123456789abcdef0123"


def test_two_apps_in_one_process_share_routes_but_answer_from_their_own_service(
    sqlite_template: Path, tmp_path: Path
) -> None:
    services = []
    for name, token in (("first", ADMIN_TOKEN), ("second", OTHER_TOKEN)):
        path = tmp_path / f"{name}.db"
        shutil.copy(sqlite_template, path)
        services.append(bootstrap(Settings(database_url=f"sqlite:///{path}", admin_token=token), migrate=False))
    try:
        first_app, second_app = (create_app(service) for service in services)
        for shared in (*api_routes(), *dashboard_routes()):
            assert shared in first_app.router.routes
            assert shared in second_app.router.routes
        with (
            TestClient(first_app, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as first,
            TestClient(second_app, headers={"Authorization": f"Bearer {OTHER_TOKEN}"}) as second,
        ):
            put = first.put("/v1/locations/WH", json={"name": "First warehouse", "kind": "warehouse"})
            assert put.status_code == 201, put.text
            assert first.get("/v1/locations/WH").json()["name"] == "First warehouse"
            assert_problem(second.get("/v1/locations/WH"), 404, "unknown-location")
            assert_problem(
                second.get("/v1/locations", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}), 401, "invalid-token"
            )
            # The dashboard: a session opened on the first app is the first app's, unknown to the second.
            first.headers.pop("Authorization")
            form = first.get("/login")
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
            assert csrf is not None
            login = first.post(
                "/login", data={"token": ADMIN_TOKEN, "csrf_token": csrf.group(1)}, follow_redirects=False
            )
            assert login.status_code == 303, login.text
            assert first.get("/stock", follow_redirects=False).status_code == 200
            second.headers.pop("Authorization")
            second.cookies.update(first.cookies)
            assert second.get("/stock", follow_redirects=False).status_code == 303  # to its own login form
    finally:
        for service in services:
            service.engine.dispose()
