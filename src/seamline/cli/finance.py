"""`seamline finance`: inventory value at cost as of a date (the same answer as GET /v1/finance/valuation), and
marketplace payouts imported from their reports (as POST /v1/finance/payouts/{channel})."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

finance_app = typer.Typer(
    help="Finance: inventory valuation at cost and its revaluations, marketplace payouts.", no_args_is_help=True
)
console = Console()


@finance_app.command("valuation")
def valuation(
    as_of: Annotated[str | None, typer.Option("--as-of", help="A date (its end, UTC) or an ISO datetime.")] = None,
    location: Annotated[str | None, typer.Option(help="One location (default: every valued location).")] = None,
    by_sku: Annotated[bool, typer.Option("--by-sku", help="List each SKU's value too.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as JSON.")] = False,
) -> None:
    """Inventory value at cost per location as of a date: the sum of the movements at cost by then."""
    from seamline.service import bootstrap
    from seamline.service.costing import Costing

    costing = Costing(bootstrap())
    answer = costing.valuation(as_of=as_of, location=location, by_sku=by_sku, limit=5000)
    items = list(answer.get("items", []))
    while by_sku and answer.get("next_cursor"):
        answer = costing.valuation(
            as_of=as_of, location=location, by_sku=True, cursor=answer["next_cursor"], limit=5000
        )
        items += answer["items"]
    if by_sku:
        answer["items"] = items
        answer.pop("next_cursor", None)
    if as_json:
        console.print_json(json.dumps(answer))
        return
    table = Table("location", *(["sku"] if by_sku else []), "units", "value", "uncosted units")
    for row in items if by_sku else answer["locations"]:
        table.add_row(
            row["location"],
            *([row["sku"]] if by_sku else []),
            str(row["units"]),
            row["value"],
            str(row["uncosted_units"]),
        )
    console.print(table)
    when = answer["as_of"] or "now"
    console.print(f"inventory at cost as of {when}: {answer['total']} {answer['currency']} ({answer['units']} units)")


@finance_app.command("import-payout")
def import_payout(
    channel: Annotated[str, typer.Argument(help="The marketplace channel (an amazon or mirakl channel's code).")],
    report: Annotated[Path, typer.Argument(help="Amazon's settlement report (flat file V2), or Mirakl's TL02 JSON.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as JSON.")] = False,
) -> None:
    """Book the payouts of a marketplace's report once each; exit 1 if they leave discrepancies."""
    from seamline.service import bootstrap
    from seamline.service.payouts import PayoutDesk

    text = report.read_text(encoding="utf-8-sig")
    payload: Any = json.loads(text) if text.lstrip().startswith(("{", "[")) else text
    app = bootstrap()
    desk = PayoutDesk(app)
    answer = app.write(lambda uow: desk.import_report(uow, channel, payload)).as_json()
    if as_json:
        console.print_json(json.dumps(answer))
    else:
        for payout in answer["imported"]:
            console.print(
                f"{channel} payout {payout['id']}: {payout['total']} {payout['currency']} booked as "
                f"{payout['document_number']} (fees {payout['fees']})"
            )
        for payout_id in answer["repeated"]:
            console.print(f"{channel} payout {payout_id}: imported before, nothing booked")
        for found in answer["discrepancies"]:
            console.print(f"[red]{channel} order {found['order_ref']}: {found['problem']}: {found['detail']}[/]")
    if answer["discrepancies"]:
        raise typer.Exit(1)


@finance_app.command("revaluations")
def revaluations(
    sku: Annotated[str | None, typer.Option(help="One SKU.")] = None,
    location: Annotated[str | None, typer.Option(help="One location.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="At most this many, latest first.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as JSON.")] = False,
) -> None:
    """Units received at no cost and revalued once their cost was known (GET /v1/finance/revaluations)."""
    from seamline.service import bootstrap
    from seamline.service.costing import Costing

    items = Costing(bootstrap()).revaluations(sku=sku, location=location, limit=limit)
    if as_json:
        console.print_json(json.dumps({"items": items}))
        return
    table = Table("revalued", "sku", "location", "units", "old unit cost", "new unit cost", "amount", "why")
    for r in items:
        table.add_row(
            r["occurred_at"][:16],
            r["sku"],
            r["location"],
            str(r["units"]),
            r["old_unit_cost"],
            r["new_unit_cost"],
            f"{r['amount']} {r['currency']}",
            r["reason"],
        )
    console.print(table)
