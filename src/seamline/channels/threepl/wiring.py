"""How a 3PL channel is wired from its configuration (see ``seamline.channels.wiring``).

``PUT /v1/channels/{code}`` with ``kind: "threepl"``, the 3PL's location among ``sources`` (or named by the
``location`` setting) and ``settings``:

- ``transport``: ``local`` (the default) or ``sftp``. Local: ``drop_folder``, the directory shared with the
  3PL, under ``SEAMLINE_DROP_ROOT`` (a relative one is taken under it; see ``seamline.service.outbound``;
  ``inbound/``, ``outbound/``, ``archive/``, ``error/`` under it). SFTP: ``sftp_host``,
  ``sftp_port`` (22), ``sftp_username``, ``sftp_password`` and/or ``sftp_private_key`` (the key's text),
  ``sftp_known_host_key`` (the server's public key, ``ssh-ed25519 AAAA...``: any other is refused),
  ``sftp_root`` (the folder holding ``inbound/`` and the others; the login directory by default),
  ``sftp_timeout_seconds`` (30). The session is opened by the first job that needs it and again after it
  dropped; a job that fails (the server away, a refused host key) is logged and runs again next time;
- ``format``: ``x12`` (the default) or ``csv``; for x12 ``sender_id`` and ``receiver_id`` (our and the
  3PL's interchange ids, optionally ``sender_qualifier``/``receiver_qualifier``, ``usage`` T or P);
- ``partner_profile``: ``{"tolerate": ["counts", "control-numbers"], "sku_qualifiers": [...]}``, the
  envelope faults this 3PL is known for that are taken with a warning instead of refused;
- ``ship_from``: the name on our side of outbound documents; ``company_prefix``: the GS1 company prefix
  for carton SSCCs (checked here, so a bad one is refused at wiring, not at the first carton);
- ``send_997`` (true, x12 only): answer every X12 file with a 997 per functional group (see ``ack_exchange``);
  the 3PL's own 997s for our 940s and 856s are always read and recorded;
- ``settle_seconds`` (2), ``scan_every_seconds`` (30), ``release_every_seconds`` (30),
  ``complete_advice`` (true: an inventory advice covers the whole location).

Wired: the inbox handler of every file kind (source ``threepl:<code>``), a job that takes the drop folder's
settled files into the inbox and moves those the inbox rejected on to error/ (``rejections``), a job that
writes a pick ticket (940, or a CSV row set) for every order allocated at the 3PL location that has none yet,
and (x12 with a ``company_prefix``) a job that announces every transfer shipped to the 3PL with an 856 whose
carton carries an SSCC of that prefix.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from seamline.catalog.gs1 import make_sscc
from seamline.channels.threepl import csv_profile
from seamline.channels.threepl.ack_exchange import AckExchange
from seamline.channels.threepl.apply import ThreePLFiles
from seamline.channels.threepl.client import ThreePLClient, ThreePLSettings
from seamline.channels.threepl.connector import UNREADABLE, take_into_inbox
from seamline.channels.threepl.documents import (
    Address,
    AdvanceShipNotice,
    AsnItem,
    AsnOrder,
    AsnPack,
    ItemRef,
    PickLine,
    PickTicket,
)
from seamline.channels.threepl.dropfolder import (
    DropFolder,
    LocalDropFolder,
    SftpConnection,
    SftpDropFolder,
    SftpServer,
)
from seamline.channels.threepl.inbound import ACK_KIND, CSV_PREFIX, X12_PREFIX
from seamline.channels.threepl.mapper import INBOUND_TRANSACTION_SETS, PartnerProfile
from seamline.channels.threepl.rejections import RejectedFiles
from seamline.channels.threepl.x12 import Envelope, Tolerance
from seamline.channels.wiring import ChannelConfig, PeriodicJob, Wired, WiringContext
from seamline.domain.clock import Clock
from seamline.ledger.model import LocationKind
from seamline.service import Seamline
from seamline.service.unit_of_work import UnitOfWork
from seamline.store import catalog_repo, ledger_repo, locations_repo, orders_repo, stock_documents_repo, threepl_repo

#: Every message type a 3PL file is stored under.
MESSAGE_TYPES = (
    *(X12_PREFIX + code for code in sorted(INBOUND_TRANSACTION_SETS)),
    *(CSV_PREFIX + kind for kind in (csv_profile.SHIPMENT_CONFIRMATION, csv_profile.RECEIPT, csv_profile.ADJUSTMENT)),
    CSV_PREFIX + csv_profile.INVENTORY_SNAPSHOT,
    UNREADABLE,
)


def source_for(channel: str) -> str:
    return f"threepl:{channel}"


def partner_profile(value: Any) -> PartnerProfile:
    if value is None:
        return PartnerProfile()
    if not isinstance(value, Mapping):
        raise ValueError("partner_profile is an object: {tolerate: [...], sku_qualifiers: [...]}")
    known = {t.value: t for t in Tolerance}
    tolerate = []
    for name in value.get("tolerate") or ():
        if name not in known:
            raise ValueError(f"partner_profile.tolerate: {name!r} is not one of {', '.join(sorted(known))}")
        tolerate.append(known[name])
    qualifiers = value.get("sku_qualifiers")
    if qualifiers is None:
        return PartnerProfile(tolerate=frozenset(tolerate))
    return PartnerProfile(tolerate=frozenset(tolerate), sku_qualifiers=tuple(str(q) for q in qualifiers))


def exchange_settings(settings: Mapping[str, Any]) -> ThreePLSettings:
    fmt = str(settings.get("format") or settings.get("profile") or "x12")
    if fmt not in ("x12", "csv"):
        raise ValueError(f"format is x12 or csv, not {fmt!r}")
    profile = partner_profile(settings.get("partner_profile"))
    envelope = None
    if settings.get("sender_id") or fmt == "x12":
        if not settings.get("sender_id") or not settings.get("receiver_id"):
            raise ValueError("an x12 3PL needs settings sender_id and receiver_id (the interchange ids)")
        envelope = Envelope(
            sender_id=str(settings["sender_id"]),
            receiver_id=str(settings["receiver_id"]),
            sender_qualifier=str(settings.get("sender_qualifier", "ZZ")),
            receiver_qualifier=str(settings.get("receiver_qualifier", "ZZ")),
            usage=str(settings.get("usage", "P")),
        )
    if settings.get("company_prefix"):
        make_sscc(str(settings["company_prefix"]), 1)  # a prefix that cannot make an SSCC is refused now
    return ThreePLSettings("csv" if fmt == "csv" else "x12", envelope, profile)


def missing(settings: Mapping[str, Any]) -> list[str]:
    """The settings a 3PL channel still needs to exchange files."""
    if str(settings.get("transport") or "local") == "sftp":
        needed = ["sftp_host", "sftp_username", "sftp_known_host_key"]
        found = [key for key in needed if not settings.get(key)]
        if not settings.get("sftp_password") and not settings.get("sftp_private_key"):
            found.append("sftp_password")
    else:
        found = [] if settings.get("drop_folder") else ["drop_folder"]
    if str(settings.get("format") or settings.get("profile") or "x12") == "x12":
        found += [key for key in ("sender_id", "receiver_id") if not settings.get(key)]
    return found


def drop_folder(
    settings: Mapping[str, Any], clock: Clock, *, under: Callable[[str], Path] = Path
) -> tuple[DropFolder, SftpConnection | None] | None:
    """The folder the channel exchanges files through (and its SFTP connection), or None while it has none.
    ``under`` places a local folder (a relative one under the drop root, see ``service.outbound``)."""
    transport = str(settings.get("transport") or "local")
    settle = float(settings.get("settle_seconds", 2.0))
    if transport == "local":
        if not settings.get("drop_folder"):
            return None
        return LocalDropFolder(under(str(settings["drop_folder"])), settle_seconds=settle, clock=clock), None
    if transport != "sftp":
        raise ValueError(f"transport is local or sftp, not {transport!r}")
    missing = [name for name in ("sftp_host", "sftp_username", "sftp_known_host_key") if not settings.get(name)]
    if missing:
        raise ValueError(f"an SFTP 3PL needs settings {', '.join(missing)}")
    server = SftpServer(
        host=str(settings["sftp_host"]),
        username=str(settings["sftp_username"]),
        host_key=str(settings["sftp_known_host_key"]),
        port=int(settings.get("sftp_port") or 22),
        password=str(settings["sftp_password"]) if settings.get("sftp_password") else None,
        private_key=str(settings["sftp_private_key"]) if settings.get("sftp_private_key") else None,
        timeout_seconds=float(settings.get("sftp_timeout_seconds") or 30.0),
    )
    connection = SftpConnection(server)
    root = str(settings.get("sftp_root") or ".")
    return SftpDropFolder(connection, root, settle_seconds=settle, clock=clock), connection


def threepl_location(context: WiringContext, config: ChannelConfig) -> str:
    named = config.settings.get("location")
    kinds = context.app.read(ledger_repo.location_kinds)
    candidates = [str(named)] if named else list(config.sources)
    for code in candidates:
        if kinds.get(code) == LocationKind.THREEPL:
            return code
    if named and named in kinds:
        return str(named)
    raise ValueError("a 3PL channel needs its 3PL location among its sources (or the location setting)")


def pick_ticket_for(conn: Connection, order_id: str, location: str, ship_from: str | None = None) -> PickTicket | None:
    """What the 3PL is to ship of an order: its lines as ordered (a prepack as packs), as far as their units
    are allocated at the 3PL location; a line allocated elsewhere is another location's to ship."""
    order = orders_repo.get_order(conn, order_id)
    if order is None:
        return None
    at_location = dict(threepl_repo.allocated_at(conn, order_id, location))
    open_lines = [line for line in order["lines"] if line.allocated > 0]
    packs = catalog_repo.prepack_map(conn, sorted({line.sku for line in open_lines}))
    wanted: list[tuple[str, int]] = []
    for line in open_lines:
        components = packs.get(line.sku, [(line.sku, 1)])
        qty = min([line.allocated, *(at_location.get(sku, 0) // units for sku, units in components)])
        if qty > 0:
            wanted.append((line.sku, qty))
            for sku, units in components:
                at_location[sku] -= qty * units
    if not wanted:
        return None
    lines = []
    for n, (sku, qty) in enumerate(wanted, start=1):
        row = catalog_repo.get_sku(conn, sku) or {}
        gtin = row.get("gtin")
        lines.append(PickLine(n, ItemRef(sku, str(gtin).zfill(14) if gtin else None), qty))
    name = threepl_repo.customer_name(conn, order_id) or f"{order['channel']} {order['external_id']}"
    return PickTicket(
        order_id=order_id,
        ship_to=Address(name[:60]),
        lines=tuple(lines),
        purchase_order=str(order["external_id"])[:22],
        instructions=f"ship from {ship_from}" if ship_from else "",
    )


def release_pick_tickets(
    app: Seamline, channel: str, location: str, client: ThreePLClient, *, ship_from: str | None = None
) -> list[str]:
    """Claim a control number for every order newly allocated at the 3PL, then write each claimed ticket;
    answers the files written. A ticket claimed but not written (a crash, the folder away) is written on
    the next run under the same number, so the 3PL never sees one order twice under two numbers."""

    def claim(uow: UnitOfWork) -> None:
        conn = uow.conn
        number = threepl_repo.next_control_number(conn, channel)
        today = app.clock.now().date()
        for n, order_id in enumerate(threepl_repo.unsent_orders_at(conn, channel, location, today=today)):
            threepl_repo.claim_pick_ticket(conn, channel, order_id, number + n, app.clock.now())

    app.write(claim)
    written = []
    for row in app.read(lambda conn: threepl_repo.pending_pick_tickets(conn, channel)):
        order_id = str(row["order_id"])
        ticket = app.read(lambda conn: pick_ticket_for(conn, order_id, location, ship_from))  # noqa: B023
        name = "" if ticket is None else client.send_pick_tickets([ticket], control_number=int(row["control_number"]))
        app.write(
            lambda uow: threepl_repo.mark_pick_ticket_sent(uow.conn, channel, order_id, name, app.clock.now())  # noqa: B023
        )
        if name:
            written.append(name)
    return written


def ship_notice_for(
    conn: Connection, transfer_id: str, sscc: str, ship_from: str | None = None
) -> AdvanceShipNotice | None:
    """A transfer on its way to the 3PL as an 856: one carton (its SSCC) holding every line shipped."""
    transfer = stock_documents_repo.get_transfer(conn, transfer_id)
    if transfer is None or transfer["status"] != "in_transit":
        return None
    items = []
    for line in transfer["lines"]:
        if line["qty"] > 0:
            gtin = (catalog_repo.get_sku(conn, line["sku"]) or {}).get("gtin")
            items.append(AsnItem(ItemRef(line["sku"], str(gtin).zfill(14) if gtin else None), int(line["qty"])))
    if not items:
        return None
    names = {row["code"]: row["name"] for row in locations_repo.list_locations(conn)}
    shipped = transfer["shipped_at"]
    return AdvanceShipNotice(
        shipment_id=transfer_id,
        orders=(AsnOrder(purchase_order=transfer_id, packs=(AsnPack(sscc, tuple(items)),)),),
        issued_on=shipped.date() if shipped else None,
        shipped_on=shipped.date() if shipped else None,
        ship_to=Address(str(names.get(transfer["to_location"], transfer["to_location"]))[:60]),
        ship_from=Address((ship_from or str(names.get(transfer["from_location"], transfer["from_location"])))[:60]),
    )


def announce_transfers(
    app: Seamline,
    channel: str,
    location: str,
    client: ThreePLClient,
    company_prefix: str,
    *,
    ship_from: str | None = None,
) -> list[str]:
    """Tell the 3PL what is on its way (856 with each carton's SSCC) for every transfer shipped to it; the
    SSCC's serial is the notice's control number, so a rewrite after a crash carries the same carton number
    as the label already printed from it. Answers the files written."""

    def claim(uow: UnitOfWork) -> None:
        conn = uow.conn
        number = threepl_repo.next_notice_number(conn, channel)
        for n, transfer_id in enumerate(threepl_repo.unannounced_transfers_to(conn, channel, location)):
            sscc = make_sscc(company_prefix, number + n)
            threepl_repo.claim_ship_notice(conn, channel, transfer_id, number + n, sscc, app.clock.now())

    app.write(claim)
    written = []
    for row in app.read(lambda conn: threepl_repo.pending_ship_notices(conn, channel)):
        transfer_id, sscc = str(row["transfer_id"]), str(row["sscc"])
        notice = app.read(lambda conn: ship_notice_for(conn, transfer_id, sscc, ship_from))  # noqa: B023
        name = "" if notice is None else client.send_ship_notices([notice], control_number=int(row["control_number"]))
        app.write(
            lambda uow: threepl_repo.mark_ship_notice_sent(uow.conn, channel, transfer_id, name, app.clock.now())  # noqa: B023
        )
        if name:
            written.append(name)
    return written


def build(context: WiringContext, config: ChannelConfig) -> Wired | None:
    settings = config.settings
    found = drop_folder(settings, context.app.clock, under=context.app.outbound.folder)
    if found is None:
        return None  # not connected yet: the channel's numbers are still kept
    folder, connection = found
    # a job's work on an SFTP folder is one unit on a live session (see SftpConnection.session)
    session: Callable[[], AbstractContextManager[None]] = nullcontext if connection is None else connection.session
    exchange = exchange_settings(settings)
    location = threepl_location(context, config)
    client = ThreePLClient(folder, exchange, clock=context.app.clock)
    files = ThreePLFiles(
        context.app,
        config.code,
        location,
        exchange.profile,
        complete_advice=bool(settings.get("complete_advice", True)),
    )
    source = source_for(config.code)
    ship_from = settings.get("ship_from")
    inbox = context.integration.inbox
    rejected = RejectedFiles(context.app, folder, source)

    exchange_acks = AckExchange(context.app, config.code, client, exchange.profile)
    send_997 = exchange.format == "x12" and bool(settings.get("send_997", True))

    def scan() -> None:
        with session():
            take_into_inbox(folder, inbox, source, exchange.profile, exchange_acks.acknowledge if send_997 else None)
            rejected.move()

    def release() -> None:
        with session():
            release_pick_tickets(
                context.app, config.code, location, client, ship_from=str(ship_from) if ship_from else None
            )

    jobs = [
        PeriodicJob(f"threepl:{config.code}:scan", float(settings.get("scan_every_seconds", 30.0)), scan),
        PeriodicJob(f"threepl:{config.code}:release", float(settings.get("release_every_seconds", 30.0)), release),
    ]
    prefix = settings.get("company_prefix")
    if prefix and exchange.envelope is not None:

        def announce() -> None:
            with session():
                announce_transfers(
                    context.app,
                    config.code,
                    location,
                    client,
                    str(prefix),
                    ship_from=str(ship_from) if ship_from else None,
                )

        every = float(settings.get("release_every_seconds", 30.0))
        jobs.append(PeriodicJob(f"threepl:{config.code}:announce", every, announce))
    return Wired(
        handlers=[
            *((source, message_type, files) for message_type in MESSAGE_TYPES),
            (source, ACK_KIND, exchange_acks.handler()),
        ],
        jobs=jobs,
        on_unwire=[] if connection is None else [connection.close],
    )
