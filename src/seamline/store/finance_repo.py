"""Finance's SQL (DESIGN 7): the configuration, documents and journal entries (each written once per cause,
keyed by ``source_key``), store-day settlements with their counts, cash movements and processor
transactions, accounting exports, and the reads reconciliation and the sweep need."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, exists, func, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite

from seamline.domain.money import minor_exponent
from seamline.finance.documents import Document, DocumentKind, document_number
from seamline.finance.events import DocumentPosted
from seamline.finance.journal import JournalEntry
from seamline.store.tables import (
    deliveries,
    finance_config,
    finance_documents,
    finance_export_states,
    finance_exports,
    finance_holds,
    journal_entries,
    journal_lines,
    order_lines,
    orders,
    outbox_events,
    processor_transactions,
    return_lines,
    returns,
    settlement_cash_movements,
    settlement_counts,
    settlements,
    skus,
    styles,
)
from seamline.store.upsert import insert_on_conflict
from seamline.store.work import Work


def money(value: Any, currency: str) -> Decimal:
    return Decimal(str(value)).quantize(Decimal(1).scaleb(-minor_exponent(currency)))


def _insert_ignore(conn: Connection, table: Any, values: Mapping[str, Any], key: list[str], returning: Any) -> Any:
    dialect = conn.dialect.name
    stmt: Any
    if dialect == "postgresql":
        stmt = postgresql.insert(table).values(**values).on_conflict_do_nothing(index_elements=key)
    else:
        stmt = sqlite.insert(table).values(**values).on_conflict_do_nothing(index_elements=key)
    return conn.execute(stmt.returning(returning)).scalar_one_or_none()


# ------------------------------------------------------------------------------------------------ config
def get_config(conn: Connection) -> dict[str, Any] | None:
    value = conn.execute(select(finance_config.c.config).where(finance_config.c.id == 1)).scalar_one_or_none()
    return None if value is None else dict(value)


def save_config(conn: Connection, config: Mapping[str, Any], now: datetime) -> None:
    values = {"id": 1, "config": dict(config), "updated_at": now}
    insert_on_conflict(conn, finance_config, ["id"], values, {"config": dict(config), "updated_at": now})


# ------------------------------------------------------------------------------------------------ documents
def insert_document(uow: Work, doc: Document, *, now: datetime, trace_id: str | None = None) -> Document | None:
    """Write the document unless its cause (``source_key``) already posted one; number it from its sequence.
    Answers the numbered document, or None when it was posted before."""
    conn = uow.conn
    body = doc.as_json()
    values = {
        "id": doc.id,
        "kind": doc.kind.value,
        "source_key": doc.source_key,
        "posting": doc.posting.value,
        "currency": doc.currency,
        "total": doc.total,
        "tax_total": doc.tax_total,
        "issued_on": doc.issued_on,
        "store": doc.store,
        "order_id": doc.order_id,
        "return_id": doc.return_id,
        "applies_to": doc.applies_to,
        "body": body,
        "created_at": now,
        "trace_id": trace_id,
        "units": sum(line.qty for line in doc.lines if _order_units(line.order_line_no, line.sku)),
    }
    seq = _insert_ignore(conn, finance_documents, values, ["source_key"], finance_documents.c.seq)
    if seq is None:
        return None
    number = document_number(doc.kind, int(seq))
    numbered = Document.from_json({**body, "number": number})
    conn.execute(
        update(finance_documents).where(finance_documents.c.seq == seq).values(number=number, body=numbered.as_json())
    )
    uow.raise_event(DocumentPosted(numbered.as_json()))
    return numbered


def _doc(row: Any) -> dict[str, Any]:
    body = dict(row["body"])
    body["settlement_id"] = row["settlement_id"]
    body["created_at"] = row["created_at"]
    body["seq"] = int(row["seq"])
    return body


def get_document(conn: Connection, doc_id: str) -> dict[str, Any] | None:
    row = conn.execute(select(finance_documents).where(finance_documents.c.id == doc_id)).mappings().first()
    return None if row is None else _doc(row)


def document_for(conn: Connection, source_key: str) -> dict[str, Any] | None:
    row = conn.execute(select(finance_documents).where(finance_documents.c.source_key == source_key)).mappings().first()
    return None if row is None else _doc(row)


def documents_of_order(conn: Connection, order_id: str, kind: DocumentKind | None = None) -> list[dict[str, Any]]:
    query = select(finance_documents).where(finance_documents.c.order_id == order_id)
    if kind is not None:
        query = query.where(finance_documents.c.kind == kind.value)
    return [_doc(r) for r in conn.execute(query.order_by(finance_documents.c.seq)).mappings()]


def list_documents(
    conn: Connection,
    *,
    kind: str | None = None,
    order_id: str | None = None,
    store: str | None = None,
    settlement_id: str | None = None,
    after_seq: int | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    query = select(finance_documents)
    for column, value in (
        (finance_documents.c.kind, kind),
        (finance_documents.c.order_id, order_id),
        (finance_documents.c.store, store),
        (finance_documents.c.settlement_id, settlement_id),
    ):
        if value is not None:
            query = query.where(column == value)
    if after_seq is not None:
        query = query.where(finance_documents.c.seq > after_seq)
    rows = conn.execute(query.order_by(finance_documents.c.seq).limit(limit)).mappings()
    return [_doc(r) for r in rows]


def till_documents(conn: Connection, store: str, upto: date, settlement_id: str | None) -> list[dict[str, Any]]:
    """A store's till documents for a settlement: those it claimed (closed), or (open) those of its day and
    any earlier day's left unsettled (an offline till's late batch joins the next close)."""
    d = finance_documents.c
    query = select(finance_documents).where(d.posting == "settlement", d.store == store)
    if settlement_id is not None:
        query = query.where(d.settlement_id == settlement_id)
    else:
        query = query.where(d.settlement_id.is_(None), d.issued_on <= upto)
    return [_doc(r) for r in conn.execute(query.order_by(d.seq)).mappings()]


def claim_documents(conn: Connection, ids: Sequence[str], settlement_id: str) -> int:
    if not ids:
        return 0
    result = conn.execute(
        update(finance_documents)
        .where(finance_documents.c.id.in_(list(ids)), finance_documents.c.settlement_id.is_(None))
        .values(settlement_id=settlement_id)
    )
    return int(result.rowcount)


def payments_applied(conn: Connection, order_id: str) -> dict[str, Decimal]:
    """Tender → amount already applied to this order's invoices."""
    out: dict[str, Decimal] = defaultdict(Decimal)
    for doc in documents_of_order(conn, order_id, DocumentKind.PAYMENT):
        for tender in doc["tenders"]:
            out[tender["tender"]] += Decimal(tender["amount"])
    return dict(out)


def _order_units(order_line_no: Any, sku: Any) -> bool:
    """A document line that counts units of an order line (shipping and duty lines name one, count none)."""
    return order_line_no is not None and sku not in ("shipping", "duty")


def invoiced_units(conn: Connection, order_id: str) -> dict[int, int]:
    """Order line number → units already invoiced (shipping, fees and duties are lines of no order line)."""
    out: dict[int, int] = defaultdict(int)
    for doc in documents_of_order(conn, order_id, DocumentKind.INVOICE):
        for line in doc["lines"]:
            if _order_units(line.get("order_line_no"), line.get("sku")):
                out[int(line["order_line_no"])] += int(line["qty"])
    return dict(out)


# ------------------------------------------------------------------------------------------------ journal
def insert_entry(
    conn: Connection,
    entry_id: str,
    entry: JournalEntry,
    *,
    now: datetime,
    document_id: str | None = None,
    settlement_id: str | None = None,
    trace_id: str | None = None,
) -> bool:
    """Write the entry and its lines unless its cause already posted one. True when written."""
    values = {
        "id": entry_id,
        "source_key": entry.source_key,
        "entry_date": entry.entry_date,
        "currency": entry.currency,
        "memo": entry.memo,
        "total": entry.total,
        "document_id": document_id,
        "settlement_id": settlement_id,
        "store": entry.store,
        "tender": entry.tender,
        "created_at": now,
        "trace_id": trace_id,
    }
    seq = _insert_ignore(conn, journal_entries, values, ["source_key"], journal_entries.c.seq)
    if seq is None:
        return False
    conn.execute(
        journal_lines.insert(),
        [
            {
                "entry_id": entry_id,
                "line_no": i,
                "account": line.account,
                "debit": line.debit,
                "credit": line.credit,
                "memo": line.memo,
                "tax_code": line.tax_code,
                "tender": line.tender,
            }
            for i, line in enumerate(entry.lines, start=1)
        ],
    )
    return True


def list_entries(
    conn: Connection,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    account: str | None = None,
    store: str | None = None,
    settlement_id: str | None = None,
    document_id: str | None = None,
    after_seq: int | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    e = journal_entries.c
    query = select(journal_entries)
    if date_from is not None:
        query = query.where(e.entry_date >= date_from)
    if date_to is not None:
        query = query.where(e.entry_date <= date_to)
    if store is not None:
        query = query.where(e.store == store)
    if settlement_id is not None:
        query = query.where(e.settlement_id == settlement_id)
    if document_id is not None:
        query = query.where(e.document_id == document_id)
    if account is not None:
        query = query.where(exists().where(journal_lines.c.entry_id == e.id, journal_lines.c.account == account))
    if after_seq is not None:
        query = query.where(e.seq > after_seq)
    rows = [dict(r) for r in conn.execute(query.order_by(e.seq).limit(limit)).mappings()]
    lines: dict[str, list[dict[str, Any]]] = defaultdict(list)
    if rows:
        currency = {r["id"]: r["currency"] for r in rows}
        for line in conn.execute(
            select(journal_lines)
            .where(journal_lines.c.entry_id.in_(list(currency)))
            .order_by(journal_lines.c.entry_id, journal_lines.c.line_no)
        ).mappings():
            cur = currency[line["entry_id"]]
            lines[line["entry_id"]].append(
                {
                    "account": line["account"],
                    "debit": money(line["debit"], cur),
                    "credit": money(line["credit"], cur),
                    "memo": line["memo"],
                    "tax_code": line["tax_code"],
                    "tender": line["tender"],
                }
            )
    for row in rows:
        row["total"] = money(row["total"], row["currency"])
        row["lines"] = lines[row["id"]]
    return rows


def unbalanced_entries(conn: Connection) -> list[str]:
    """Ids of entries whose lines do not balance (never, unless the table was edited by hand). Compared at
    the stored precision: SQLite sums NUMERIC as binary floats (53.33 + 10.01 is not 63.34 there)."""
    difference = func.sum(journal_lines.c.debit) - func.sum(journal_lines.c.credit)
    rows = conn.execute(
        select(journal_lines.c.entry_id).group_by(journal_lines.c.entry_id).having(func.round(difference, 4) != 0)
    )
    return [r[0] for r in rows]


# ------------------------------------------------------------------------------------------------ settlements
def get_settlement(conn: Connection, store: str, day: date, *, for_update: bool = False) -> dict[str, Any] | None:
    query = select(settlements).where(settlements.c.store == store, settlements.c.business_date == day)
    if for_update and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).mappings().first()
    return None if row is None else dict(row)


def open_settlement(conn: Connection, values: Mapping[str, Any]) -> dict[str, Any]:
    """The store day's settlement, created open if it does not exist yet (concurrent opens agree)."""
    _insert_ignore(conn, settlements, {**values, "status": "open"}, ["store", "business_date"], settlements.c.id)
    found = get_settlement(conn, values["store"], values["business_date"], for_update=True)
    assert found is not None
    return found


def close_settlement(conn: Connection, settlement_id: str, figures: Mapping[str, Any], now: datetime) -> bool:
    result = conn.execute(
        update(settlements)
        .where(settlements.c.id == settlement_id, settlements.c.status == "open")
        .values(status="closed", closed_at=now, figures=dict(figures))
    )
    return bool(result.rowcount)


def save_count(conn: Connection, values: Mapping[str, Any]) -> None:
    insert_on_conflict(
        conn,
        settlement_counts,
        ["settlement_id", "tender", "currency"],
        values,
        {k: values[k] for k in ("counted", "cash_float", "counted_at", "counted_by")},
    )


def counts(conn: Connection, settlement_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(settlement_counts)
        .where(settlement_counts.c.settlement_id == settlement_id)
        .order_by(settlement_counts.c.tender, settlement_counts.c.currency)
    ).mappings()
    out = []
    for r in rows:
        row = dict(r)
        row["counted"] = money(row["counted"], row["currency"])
        row["cash_float"] = money(row["cash_float"], row["currency"])
        out.append(row)
    return out


def add_cash_movement(conn: Connection, values: Mapping[str, Any]) -> int:
    return int(
        conn.execute(
            settlement_cash_movements.insert().values(**values).returning(settlement_cash_movements.c.id)
        ).scalar_one()
    )


def cash_movements(conn: Connection, settlement_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(settlement_cash_movements)
        .where(settlement_cash_movements.c.settlement_id == settlement_id)
        .order_by(settlement_cash_movements.c.id)
    ).mappings()
    out = []
    for r in rows:
        row = dict(r)
        row["amount"] = money(row["amount"], row["currency"])
        out.append(row)
    return out


def import_processor_transactions(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> tuple[int, list[str]]:
    """Store transactions not seen before; answers (how many were new, ids imported before elsewhere)."""
    added = 0
    for row in rows:
        key = _insert_ignore(
            conn, processor_transactions, row, ["processor", "external_id"], processor_transactions.c.external_id
        )
        added += key is not None
    ids = [str(r["external_id"]) for r in rows]
    first = {r["external_id"]: r["settlement_id"] for r in rows}
    elsewhere = [
        r.external_id
        for r in conn.execute(
            select(processor_transactions.c.external_id, processor_transactions.c.settlement_id).where(
                processor_transactions.c.external_id.in_(ids)
            )
        )
        if r.settlement_id != first[r.external_id]
    ]
    return added, sorted(elsewhere)


def processor_rows(conn: Connection, settlement_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(processor_transactions)
        .where(processor_transactions.c.settlement_id == settlement_id)
        .order_by(processor_transactions.c.created, processor_transactions.c.external_id)
    ).mappings()
    out = []
    for r in rows:
        row = dict(r)
        for key in ("amount", "fee", "net"):
            row[key] = money(row[key], row["currency"])
        out.append(row)
    return out


# ------------------------------------------------------------------------------------------------ exports
def get_export(conn: Connection, target: str, document_id: str) -> dict[str, Any] | None:
    row = (
        conn.execute(
            select(finance_exports).where(
                finance_exports.c.target == target, finance_exports.c.document_id == document_id
            )
        )
        .mappings()
        .first()
    )
    return None if row is None else dict(row)


def save_export(conn: Connection, values: Mapping[str, Any]) -> None:
    insert_on_conflict(conn, finance_exports, ["target", "document_id"], values, None)


# ------------------------------------------------------------------------------------------------ the sweep
def unposted_sales(conn: Connection, limit: int) -> list[str]:
    """Closed till sales without their sales receipt."""
    has_doc = exists().where(
        finance_documents.c.order_id == orders.c.id, finance_documents.c.kind == DocumentKind.SALES_RECEIPT.value
    )
    rows = conn.execute(select(orders.c.id).where(orders.c.kind == "pos", ~has_doc).order_by(orders.c.seq).limit(limit))
    return [r.id for r in rows]


def unposted_returns(conn: Connection, limit: int) -> list[str]:
    has_doc = exists().where(
        finance_documents.c.return_id == returns.c.id, finance_documents.c.kind == DocumentKind.CREDIT_NOTE.value
    )
    rows = conn.execute(select(returns.c.id).where(~has_doc).order_by(returns.c.created_at, returns.c.id).limit(limit))
    return [r.id for r in rows]


def uninvoiced_orders(conn: Connection, limit: int) -> list[str]:
    """Orders (not till sales) whose shipped value exceeds what their invoices total; an order with the
    channel's numbers is invoiced at them (below list when discounted), so for it units count: shipped units
    beyond those its invoices carry (a posting that failed, one held for a person)."""
    shipped_units = (
        select(func.coalesce(func.sum(order_lines.c.shipped), 0))
        .where(order_lines.c.order_id == orders.c.id)
        .scalar_subquery()
    )
    invoiced = (
        select(func.coalesce(func.sum(finance_documents.c.units), 0))
        .where(finance_documents.c.order_id == orders.c.id, finance_documents.c.kind == DocumentKind.INVOICE.value)
        .scalar_subquery()
    )
    channel_rows = conn.execute(
        select(orders.c.id)
        .where(
            orders.c.kind != "pos",
            orders.c.commerce.is_not(None),
            shipped_units > invoiced,
        )
        .order_by(orders.c.seq)
        .limit(limit)
    )
    out = [r.id for r in channel_rows]
    return out + [i for i in _uninvoiced_at_list(conn, limit) if i not in out][: max(0, limit - len(out))]


def _uninvoiced_at_list(conn: Connection, limit: int) -> list[str]:
    shipped = (
        select(order_lines.c.order_id, func.sum(order_lines.c.shipped * order_lines.c.unit_price).label("value"))
        .where(order_lines.c.shipped > 0)
        .group_by(order_lines.c.order_id)
        .subquery()
    )
    invoiced = (
        select(finance_documents.c.order_id, func.sum(finance_documents.c.total).label("value"))
        .where(finance_documents.c.kind == DocumentKind.INVOICE.value)
        .group_by(finance_documents.c.order_id)
        .subquery()
    )
    rows = conn.execute(
        select(orders.c.id)
        .join(shipped, shipped.c.order_id == orders.c.id)
        .outerjoin(invoiced, invoiced.c.order_id == orders.c.id)
        .where(
            orders.c.kind != "pos",
            orders.c.commerce.is_(None),
            shipped.c.value > func.coalesce(invoiced.c.value, literal(0)),
        )
        .order_by(orders.c.seq)
        .limit(limit)
    )
    return [r.id for r in rows]


# ------------------------------------------------------------------------------------------------ reconciliation
def pos_sale_totals(conn: Connection) -> list[tuple[str, str, Decimal]]:
    rows = conn.execute(
        select(orders.c.id, orders.c.currency, orders.c.total).where(orders.c.kind == "pos").order_by(orders.c.seq)
    )
    return [(r.id, r.currency, money(r.total, r.currency)) for r in rows]


def return_totals(conn: Connection) -> list[tuple[str, str, Decimal]]:
    value = (
        select(return_lines.c.return_id, func.sum(return_lines.c.amount).label("value"))
        .group_by(return_lines.c.return_id)
        .subquery()
    )
    rows = conn.execute(
        select(returns.c.id, returns.c.currency, value.c.value)
        .join(value, value.c.return_id == returns.c.id)
        .where(returns.c.commerce.is_(None))  # a channel's refund is checked against what it refunded
        .order_by(returns.c.created_at, returns.c.id)
    )
    return [(r.id, r.currency, money(r.value, r.currency)) for r in rows]


def shipped_totals(conn: Connection) -> list[tuple[str, str, Decimal]]:
    rows = conn.execute(
        select(orders.c.id, orders.c.currency, func.sum(order_lines.c.shipped * order_lines.c.unit_price))
        .join(order_lines, order_lines.c.order_id == orders.c.id)
        # Orders with the channel's numbers are checked against the channel's total (``channel_orders``).
        .where(orders.c.kind != "pos", order_lines.c.shipped > 0, orders.c.commerce.is_(None))
        .group_by(orders.c.id, orders.c.currency)
    )
    return [(r[0], r[1], money(r[2], r[1])) for r in rows]


def document_totals(
    conn: Connection, kinds: Iterable[DocumentKind]
) -> list[tuple[str, str | None, str | None, Decimal]]:
    """(kind, order id, return id, total) of every document of these kinds."""
    d = finance_documents.c
    rows = conn.execute(
        select(d.kind, d.order_id, d.return_id, d.total, d.currency).where(d.kind.in_([k.value for k in kinds]))
    )
    return [(r.kind, r.order_id, r.return_id, money(r.total, r.currency)) for r in rows]


def settled_totals(conn: Connection) -> dict[str, dict[str, Any]]:
    """Per closed settlement: its figures and the documents it claimed, for the tie-back of totals."""
    out: dict[str, dict[str, Any]] = {}
    for row in conn.execute(select(settlements).where(settlements.c.status == "closed")).mappings():
        out[row["id"]] = {"store": row["store"], "business_date": row["business_date"], "figures": row["figures"]}
    return out


def unsettled_till_documents(conn: Connection, before: date) -> int:
    d = finance_documents.c
    return int(
        conn.execute(
            select(func.count())
            .select_from(finance_documents)
            .where(d.posting == "settlement", d.settlement_id.is_(None), d.issued_on < before)
        ).scalar_one()
    )


# ------------------------------------------------------------------------------------------------ catalog facts
def sku_facts(conn: Connection, codes: Iterable[str]) -> dict[str, dict[str, Any]]:
    """SKU → its style, the style's name and tax class, colour and size: what a document line says."""
    wanted = sorted(set(codes))
    if not wanted:
        return {}
    rows = conn.execute(
        select(skus.c.sku, skus.c.style_code, skus.c.colour, skus.c.size, styles.c.name, styles.c.tax_class)
        .join(styles, styles.c.code == skus.c.style_code)
        .where(skus.c.sku.in_(wanted))
    )
    return {r.sku: dict(r._mapping) for r in rows}


# ------------------------------------------------------------------------------------------------ holds
def hold(conn: Connection, values: Mapping[str, Any]) -> None:
    """Hold a document for a person (once per cause; a repeat refreshes the reason and the figures)."""
    keep = {name: values[name] for name in ("reason", "detail", "figures")}
    insert_on_conflict(
        conn, finance_holds, ["source_key"], {**values, "resolved_at": None}, {**keep, "resolved_at": None}
    )


def get_hold(conn: Connection, source_key: str) -> dict[str, Any] | None:
    row = conn.execute(select(finance_holds).where(finance_holds.c.source_key == source_key)).mappings().first()
    return None if row is None else dict(row)


def hold_exists(conn: Connection, source_key: str) -> bool:
    """Whether this cause was ever held (open or resolved)."""
    found = conn.execute(select(finance_holds.c.source_key).where(finance_holds.c.source_key == source_key))
    return found.first() is not None


def resolve_hold(conn: Connection, source_key: str, now: datetime) -> None:
    conn.execute(
        update(finance_holds)
        .where(finance_holds.c.source_key == source_key, finance_holds.c.resolved_at.is_(None))
        .values(resolved_at=now)
    )


def list_holds(conn: Connection, *, open_only: bool = True, limit: int = 500) -> list[dict[str, Any]]:
    query = select(finance_holds)
    if open_only:
        query = query.where(finance_holds.c.resolved_at.is_(None))
    return [dict(r) for r in conn.execute(query.order_by(finance_holds.c.created_at).limit(limit)).mappings()]


def open_holds_from(conn: Connection, prefix: str, *, kind: str) -> list[dict[str, Any]]:
    """The open holds of ``kind`` whose cause (``source_key``) starts with ``prefix``, oldest first."""
    query = select(finance_holds).where(
        finance_holds.c.resolved_at.is_(None),
        finance_holds.c.kind == kind,
        finance_holds.c.source_key.startswith(prefix, autoescape=True),
    )
    return [dict(r) for r in conn.execute(query.order_by(finance_holds.c.created_at)).mappings()]


# ------------------------------------------------------------------------------------------------ channel totals
def channel_orders(conn: Connection) -> list[dict[str, Any]]:
    """Orders that carry the channel's numbers: id, currency, status, the commerce and shipped/qty units."""
    units = (
        select(
            order_lines.c.order_id,
            func.sum(order_lines.c.shipped).label("shipped"),
            func.sum(order_lines.c.qty - order_lines.c.cancelled).label("open"),
        )
        .group_by(order_lines.c.order_id)
        .subquery()
    )
    rows = conn.execute(
        select(orders.c.id, orders.c.currency, orders.c.status, orders.c.commerce, units.c.shipped, units.c.open)
        .join(units, units.c.order_id == orders.c.id)
        .where(orders.c.commerce.is_not(None), orders.c.kind != "pos")
        .order_by(orders.c.seq)
    ).mappings()
    return [dict(r) for r in rows]


def channel_returns(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(returns.c.id, returns.c.order_id, returns.c.currency, returns.c.commerce)
        .where(returns.c.commerce.is_not(None))
        .order_by(returns.c.created_at, returns.c.id)
    ).mappings()
    return [dict(r) for r in rows]


def documents_by_kind(conn: Connection, kinds: Iterable[DocumentKind]) -> list[dict[str, Any]]:
    """id, number, kind, order, return, currency, stored total, and the body's total and lines."""
    d = finance_documents.c
    rows = conn.execute(
        select(d.id, d.number, d.kind, d.order_id, d.return_id, d.currency, d.total, d.body)
        .where(d.kind.in_([k.value for k in kinds]))
        .order_by(d.seq)
    ).mappings()
    out = []
    for r in rows:
        row = dict(r)
        row["total"] = money(row["total"], row["currency"])
        out.append(row)
    return out


# ------------------------------------------------------------------------------------------------ export states
EXPORT_STATES = ("pending", "exported", "refused", "dead")


def set_export_state(
    conn: Connection,
    target: str,
    document_id: str,
    status: str,
    *,
    now: datetime,
    external_id: str | None = None,
    messages: Sequence[str] = (),
    remote_total: Decimal | None = None,
) -> None:
    """A document's export state on one connection; every call counts as an attempt."""
    s = finance_export_states.c
    values = {
        "target": target,
        "document_id": document_id,
        "status": status,
        "external_id": external_id,
        "messages": list(messages),
        "remote_total": remote_total,
        "attempts": 1,
        "updated_at": now,
    }
    update_values: dict[str, Any] = {
        "status": status,
        "messages": list(messages),
        "attempts": s.attempts + 1,
        "updated_at": now,
    }
    if external_id is not None:
        update_values["external_id"] = external_id
    if remote_total is not None:
        update_values["remote_total"] = remote_total
    insert_on_conflict(conn, finance_export_states, ["target", "document_id"], values, update_values)


def exportable(conn: Connection) -> Any:
    """Documents an accounting system is told about: not a till's (its store's settlement journal is)."""
    d = finance_documents.c
    return (d.kind != DocumentKind.SALES_RECEIPT.value) & ~(
        (d.kind == DocumentKind.CREDIT_NOTE.value) & (d.posting == "settlement")
    )


def export_states(
    conn: Connection,
    target: str,
    *,
    status: str | None = None,
    kind: str | None = None,
    ids: Iterable[str] | None = None,
    statuses: Sequence[str] | None = None,
    after_seq: int | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Each exportable document with its state on ``target`` (``pending`` when nothing was tried), in
    posting order. ``status`` filters; ``dead`` is read by the caller from the dead letters."""
    d, s = finance_documents.c, finance_export_states.c
    state = func.coalesce(s.status, literal("pending"))
    query = (
        select(
            d.seq,
            d.id,
            d.number,
            d.kind,
            d.currency,
            d.total,
            d.issued_on,
            d.order_id,
            d.created_at,
            state.label("status"),
            s.external_id,
            s.messages,
            s.remote_total,
            s.attempts,
            s.updated_at,
        )
        .select_from(finance_documents.outerjoin(finance_export_states, (s.document_id == d.id) & (s.target == target)))
        .where(exportable(conn))
    )
    if status is not None:
        query = query.where(state == status)
    if statuses is not None:
        query = query.where(state.in_(list(statuses)))
    if ids is not None:
        query = query.where(d.id.in_(sorted(ids)))
    if kind is not None:
        query = query.where(d.kind == kind)
    if after_seq is not None:
        query = query.where(d.seq > after_seq)
    out = []
    for r in conn.execute(query.order_by(d.seq).limit(limit)).mappings():
        row = dict(r)
        row["total"] = money(row["total"], row["currency"])
        if row["remote_total"] is not None:
            row["remote_total"] = money(row["remote_total"], row["currency"])
        row["messages"] = list(row["messages"] or [])
        row["attempts"] = int(row["attempts"] or 0)
        out.append(row)
    return out


def exported_states(conn: Connection) -> list[dict[str, Any]]:
    """Every recorded state of every connection, with the document's total (for the reconcile)."""
    d, s = finance_documents.c, finance_export_states.c
    rows = conn.execute(
        select(s.target, s.document_id, s.status, s.remote_total, s.messages, d.number, d.total, d.currency)
        .join(finance_documents, d.id == s.document_id)
        .order_by(s.target, d.seq)
    ).mappings()
    out = []
    for r in rows:
        row = dict(r)
        row["total"] = money(row["total"], row["currency"])
        if row["remote_total"] is not None:
            row["remote_total"] = money(row["remote_total"], row["currency"])
        out.append(row)
    return out


def dead_documents(conn: Connection, target: str) -> set[str]:
    """Documents whose delivery to ``target`` was dead-lettered (refused for good or out of attempts)."""
    rows = conn.execute(
        select(outbox_events.c.payload)
        .join(deliveries, deliveries.c.event_id == outbox_events.c.id)
        .where(deliveries.c.subscriber == target, deliveries.c.status == "dead")
    )
    out: set[str] = set()
    for (payload,) in rows:
        document = (payload or {}).get("document") if isinstance(payload, Mapping) else None
        if isinstance(document, Mapping) and document.get("id"):
            out.add(str(document["id"]))
    return out


def count_exports(conn: Connection, target: str) -> dict[str, int]:
    d, s = finance_documents.c, finance_export_states.c
    state = func.coalesce(s.status, literal("pending"))
    rows = conn.execute(
        select(state, func.count())
        .select_from(finance_documents.outerjoin(finance_export_states, (s.document_id == d.id) & (s.target == target)))
        .where(exportable(conn))
        .group_by(state)
    )
    return {str(r[0]): int(r[1]) for r in rows}


def document_bodies(conn: Connection, ids: Sequence[str]) -> list[dict[str, Any]]:
    if not ids:
        return []
    rows = conn.execute(
        select(finance_documents).where(finance_documents.c.id.in_(list(ids))).order_by(finance_documents.c.seq)
    ).mappings()
    return [_doc(r) for r in rows]


def export_attempts(conn: Connection, target: str, document_id: str) -> int:
    """Changes of the document's export state on ``target`` that were not an export (0 when none)."""
    s = finance_export_states.c
    row = conn.execute(select(s.status, s.attempts).where(s.target == target, s.document_id == document_id)).first()
    if row is None or row.status == "exported":
        return 0
    return int(row.attempts)
