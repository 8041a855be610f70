"""The set-based bulk paths (issue 18) against the row-by-row ones they replace, on SQLite and PostgreSQL:
the chunked catalog import equals one ``put_style`` per style, and ``receive_stock`` equals one
``record_movement`` per line (balances, movements at cost, the moving averages and the cost journals), for
random small catalogs and receipts with bad rows in them."""

from __future__ import annotations

import csv
import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from seamline.api import create_app
from seamline.catalog.gtin import check_digit
from seamline.cli.catalog_import import ImportResult, import_catalog, import_catalog_by_style
from seamline.domain.clock import FixedClock
from seamline.domain.errors import InvalidInput
from seamline.integration import install as install_integration
from seamline.ledger import MovementRequest
from seamline.service import Seamline, Settings, bootstrap
from seamline.service.costing import Costing
from seamline.store.tables import (
    availability_dirty,
    balances,
    finance_documents,
    movements,
    outbox_events,
    prices,
    skus,
    standard_costs,
    stock_costs,
    styles,
    till_catalog_items,
)
from tests.conftest import ADMIN_TOKEN, START, _empty_postgres

COLUMNS = [
    "style_code",
    "style_name",
    "size_scale",
    "colour_code",
    "size",
    "sku",
    "gtin",
    "retail_price",
    "currency",
    "cost",
]
SCALE = ["S", "M", "L"]
COLOURS = ["NVY", "BLK"]


def gtin(serial: int, *, bad: bool = False) -> str:
    body = f"400000{serial:06d}"
    digit = check_digit(body)
    return body + (str((int(digit) + 1) % 10) if bad else digit)


@st.composite
def catalogs(draw: st.DrawFn) -> list[dict[str, str]]:
    """Rows of a catalog CSV: a few styles of a few variants, GTINs drawn from a small pool (so styles clash
    with each other and with the catalog already there), sometimes a bad check digit, size or price."""
    rows: list[dict[str, str]] = []
    for n in draw(st.lists(st.integers(0, 5), min_size=1, max_size=4, unique=True)):
        code = f"ST{n}"
        price = draw(st.sampled_from(["10.00", "12.50", "x"]))  # "x": a bad price on every row of the style
        cells = draw(
            st.lists(
                st.tuples(st.sampled_from(COLOURS), st.sampled_from([*SCALE, "XXL"])),
                min_size=1,
                max_size=4,
                unique=True,
            )
        )
        for colour, size in cells:
            serial = draw(st.integers(0, 12))
            rows.append(
                {
                    "style_code": code,
                    "style_name": f"Style {n}",
                    "size_scale": "|".join(SCALE),
                    "colour_code": colour,
                    "size": size,  # XXL is not in the scale: a bad row
                    "sku": f"{code}-{colour}-{size}",
                    "gtin": draw(st.sampled_from(["", gtin(serial), gtin(serial), gtin(serial, bad=True)])),
                    "retail_price": price,
                    "currency": "EUR",
                    # A variant's standard cost: none, two costs, or a bad one (its style is refused).
                    "cost": draw(st.sampled_from(["", "8.00", "8.5", "-1"])),
                }
            )
    return draw(st.permutations(rows))


def row(code: str, colour: str, size: str, gtin_: str, price: str = "10.00") -> dict[str, str]:
    return {
        "style_code": code,
        "style_name": f"Style {code}",
        "size_scale": "|".join(SCALE),
        "colour_code": colour,
        "size": size,
        "sku": f"{code}-{colour}-{size}",
        "gtin": gtin_,
        "retail_price": price,
        "currency": "EUR",
        "cost": "",
    }


# ST1 gives its GTIN up and ST2, later in the same file, takes it: allowed, as one put_style per style allows
# it; ST3 then claims a GTIN ST2 took earlier in the file: refused.
GTIN_MOVES = (
    [row("ST1", "NVY", "S", gtin(1)), row("ST1", "NVY", "M", gtin(2))],
    [row("ST1", "NVY", "S", ""), row("ST2", "BLK", "S", gtin(1)), row("ST3", "NVY", "L", gtin(1))],
)


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture
def fresh_app(database_url: str, tmp_path: Path) -> Iterator[Callable[[], Seamline]]:
    """A factory of applications on an empty database (each call empties it), with the integration layer
    installed so StyleChanged events and the availability journal are written as under ``seamline serve``."""
    made: list[Seamline] = []
    template = Path(database_url.removeprefix("sqlite:///")) if database_url.startswith("sqlite") else None
    pristine = tmp_path / "pristine.db"
    if template is not None:
        shutil.copy(template, pristine)

    def make() -> Seamline:
        for old in made:
            old.engine.dispose()
        if template is not None:
            shutil.copy(pristine, template)
        else:
            _empty_postgres(database_url)
        app = bootstrap(
            Settings(database_url=database_url, admin_token=ADMIN_TOKEN), clock=FixedClock(START), migrate=False
        )
        install_integration(app)
        made.append(app)
        return app

    yield make
    for old in made:
        old.engine.dispose()


def catalog_state(app: Seamline) -> dict[str, Any]:
    def read(conn: Any) -> dict[str, Any]:
        return {
            "styles": [
                tuple(r)
                for r in conn.execute(select(*[c for c in styles.c if c.name != "updated_at"]).order_by(styles.c.code))
            ],
            "skus": [tuple(r) for r in conn.execute(select(skus).order_by(skus.c.sku))],
            "standard_costs": [tuple(r) for r in conn.execute(select(standard_costs).order_by(standard_costs.c.sku))],
            "prices": sorted(
                tuple(r)
                for r in conn.execute(select(prices.c.style_code, prices.c.list, prices.c.currency, prices.c.amount))
            ),
            # The till catalog's version moves per transaction (per style row by row, per chunk in bulk): the
            # items and their content must agree, the version numbers need not.
            "till": [
                tuple(r)
                for r in conn.execute(
                    select(till_catalog_items.c.sku, till_catalog_items.c.digest).order_by(till_catalog_items.c.sku)
                )
            ],
            "style_changed": Counter(
                (r.payload["style"], r.payload["version"], r.payload["status"])
                for r in conn.execute(select(outbox_events.c.payload).where(outbox_events.c.type == "StyleChanged"))
            ),
        }

    return app.read(read)


def summary(result: ImportResult) -> tuple[Any, ...]:
    return (result.rows, dict(result.outcomes), result.errors, result.rejected_styles, result.costs_set)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(before=catalogs(), after=catalogs(), chunk=st.integers(1, 8))
@example(before=GTIN_MOVES[0], after=GTIN_MOVES[1], chunk=8)
def test_the_chunked_import_writes_what_one_put_style_per_style_writes(
    fresh_app: Callable[[], Seamline],
    tmp_path: Path,
    before: list[dict[str, str]],
    after: list[dict[str, str]],
    chunk: int,
) -> None:
    first, second = write_csv(tmp_path / "before.csv", before), write_csv(tmp_path / "after.csv", after)

    row_app = fresh_app()
    row_results = [summary(import_catalog_by_style(row_app, path)) for path in (first, second)]
    row_state = catalog_state(row_app)

    bulk_app = fresh_app()
    bulk_results = [summary(import_catalog(bulk_app, path, chunk_variants=chunk)) for path in (first, second)]
    bulk_state = catalog_state(bulk_app)

    assert bulk_results == row_results
    assert bulk_state == row_state
    again = import_catalog(bulk_app, second, chunk_variants=chunk)
    assert set(again.outcomes) <= {"unchanged"}, "the same file twice changes nothing"
    assert catalog_state(bulk_app) == bulk_state, "and announces nothing"


# ---------------------------------------------------------------------------------------------- receipts
CATALOG_ROWS = [
    {
        "style_code": "RC",
        "style_name": "Receipt tee",
        "size_scale": "|".join(SCALE),
        "colour_code": c,
        "size": s,
        "sku": f"RC-{c}-{s}",
        "gtin": "",
        "retail_price": "10.00",
        "currency": "EUR",
    }
    for c in COLOURS
    for s in SCALE
]
RECEIVABLE = [r["sku"] for r in CATALOG_ROWS]


def ledger_state(app: Seamline) -> dict[str, Any]:
    def read(conn: Any) -> dict[str, Any]:
        # A cost journal's cause names its transaction (``UnitOfWork.token``): the same in both paths but for it.
        skipped = ("id", "recorded_at", "occurred_at", "cost_cause")
        moved = select(*[c for c in movements.c if c.name not in skipped], movements.c.cost_cause)
        at_cost = select(*[c for c in stock_costs.c if c.name != "updated_at"])
        return {
            "balances": [
                tuple(r) for r in conn.execute(select(balances).order_by(balances.c.sku, balances.c.location))
            ],
            "movements": [
                (*r[:-1], r[-1] and r[-1].rsplit(":", 1)[0]) for r in conn.execute(moved.order_by(movements.c.id))
            ],
            "at_cost": [tuple(r) for r in conn.execute(at_cost.order_by(stock_costs.c.sku, stock_costs.c.location))],
            "journal": sorted({(r.sku, r.location) for r in conn.execute(select(availability_dirty))}),
            # One cost journal per receipt and transaction, at the value its movements moved.
            "cost_journals": sorted(
                (r.source_key.rsplit(":", 1)[0], str(Decimal(str(r.total)).quantize(Decimal("0.01"))))
                for r in conn.execute(
                    select(finance_documents.c.source_key, finance_documents.c.total).where(
                        finance_documents.c.source_key.like("cost:%")
                    )
                )
            ),
        }

    return app.read(read)


#: A line's unit cost: none (the standard cost, else the average, else flagged), a cost, or a bad one (-1).
UNIT_COSTS = [None, None, Decimal("2.50"), Decimal("3.3333"), Decimal("0"), Decimal("7.0001"), Decimal("-1")]


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    receipts=st.lists(
        st.lists(
            st.tuples(st.sampled_from([*RECEIVABLE, "NOPE-1"]), st.integers(-1, 5), st.sampled_from(UNIT_COSTS)),
            min_size=1,
            max_size=8,
        ),
        min_size=1,
        max_size=3,
    ),
    where=st.sampled_from(["WH", "supplier"]),
    standard=st.dictionaries(st.sampled_from(RECEIVABLE), st.sampled_from(["1.10", "4.5555", "0"]), max_size=3),
)
@example(  # a SKU received twice in one receipt at two costs, on top of a row averaged before: 1/3 recurring
    receipts=[
        [("RC-NVY-S", 2, Decimal("1.00"))],
        [("RC-NVY-S", 1, Decimal("2.00")), ("RC-NVY-S", 3, None), ("RC-BLK-M", 1, None)],
    ],
    where="WH",
    standard={"RC-BLK-M": "4.5555"},
)
def test_a_bulk_receipt_writes_what_one_record_movement_per_line_writes(
    fresh_app: Callable[[], Seamline],
    tmp_path: Path,
    receipts: list[list[tuple[str, int, Decimal | None]]],
    where: str,
    standard: dict[str, str],
) -> None:
    path = write_csv(tmp_path / "catalog.csv", CATALOG_ROWS)
    states, outcomes = [], []
    for bulk in (False, True):
        app = fresh_app()
        app.write(lambda uow, a=app: a.put_location(uow, "WH", "Warehouse", "warehouse"))
        assert import_catalog(app, path).errors == []
        for sku, cost in sorted(standard.items()):
            app.write(lambda uow, a=app, s=sku, c=cost: Costing(a).set_standard_cost(uow, s, {"unit_cost": c}))
        refused = []
        for n, lines in enumerate(receipts):
            document = f"RCPT-{n}"
            try:
                if bulk:
                    app.write(lambda uow, a=app, ls=lines, d=document: a.receive_stock(uow, where, ls, document=d))
                else:
                    app.write(
                        lambda uow, a=app, ls=lines, d=document: [
                            a.record_movement(
                                uow,
                                MovementRequest("receipt", sku, qty, to_location=where, document=d, unit_cost=cost),
                            )
                            for sku, qty, cost in ls
                        ]
                    )
            except InvalidInput:
                refused.append(n)
        outcomes.append(refused)
        states.append(ledger_state(app))
        assert app.reconcile().clean
    assert outcomes[0] == outcomes[1]
    assert states[0] == states[1]


def test_a_b2b_supply_received_in_parts_writes_what_one_record_movement_per_line_writes(
    fresh_app: Callable[[], Seamline], tmp_path: Path
) -> None:
    """Receiving inbound supply (``POST /v1/inbound-supply/{ref}/receive``) goes through the set-based receipt
    path, per location of the supply; in two parts under one document (no replay of the second part), it leaves
    the balances, movements and availability journal that one ``record_movement`` per line leaves."""
    path = write_csv(tmp_path / "catalog.csv", CATALOG_ROWS)
    parts = [[("RC-NVY-S", 2), ("RC-BLK-L", 3)], None]  # then everything still to come
    lines = {"RC-NVY-S": ("WH", 5), "RC-BLK-L": ("STORE", 3), "RC-NVY-M": ("STORE", 4), "RC-BLK-S": ("WH", 1)}
    states = []
    for bulk in (False, True):
        app = fresh_app()
        app.write(lambda uow, a=app: a.put_location(uow, "WH", "Warehouse", "warehouse"))
        app.write(lambda uow, a=app: a.put_location(uow, "STORE", "Store", "store"))
        assert import_catalog(app, path).errors == []
        if bulk:
            with TestClient(create_app(app), headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as client:
                for location in ("WH", "STORE"):
                    body = {
                        "kind": "po",
                        "location": location,
                        "expected_on": "2027-01-15",
                        "lines": [{"sku": s, "qty": q} for s, (loc, q) in sorted(lines.items()) if loc == location],
                    }
                    assert client.put(f"/v1/inbound-supply/PO-{location}", json=body).is_success
                for part in parts:
                    for location in ("WH", "STORE"):
                        mine = None if part is None else [(s, q) for s, q in part if lines[s][0] == location]
                        if mine == []:
                            continue
                        body = {} if mine is None else {"lines": [{"sku": s, "qty": q} for s, q in mine]}
                        answer = client.post(f"/v1/inbound-supply/PO-{location}/receive", json=body)
                        assert answer.status_code == 200, answer.text
                        written = {(m["sku"], m["qty"]) for m in answer.json()["movements"]}
                        expected = mine or [
                            (s, q - dict(parts[0] or []).get(s, 0))
                            for s, (loc, q) in lines.items()
                            if loc == location and q > dict(parts[0] or []).get(s, 0)
                        ]
                        assert written == set(expected), "the answer lists the movements written"
        else:
            first = dict(parts[0] or [])
            for sku, (location, qty) in sorted(lines.items()):
                for units in (first.get(sku, 0), qty - first.get(sku, 0)):
                    if units:
                        request = MovementRequest(
                            "receipt", sku, units, to_location=location, document=f"PO-{location}"
                        )
                        app.write(lambda uow, a=app, r=request: a.record_movement(uow, r))
        state = ledger_state(app)
        # The bulk path writes a location's lines together; the API's request names the trace (its tenth column).
        state["movements"] = sorted((m[:9] + m[10:] for m in state["movements"]), key=repr)
        states.append(state)
        assert app.reconcile().clean
    assert states[0] == states[1]
    assert states[1]["balances"], "stock arrived"
