"""The 3PL connector as the integration backbone sees it: outbound pick tickets as a ``Subscriber``, inbound
files as inbox messages, and the ``parse`` half of their inbox handlers.

- Out: :func:`pick_ticket_subscriber` drops one 940 (or CSV) per delivered event. The control number is the
  event's outbox sequence, so a redelivery rewrites the same file under the same number (a 3PL that took
  the first copy sees a duplicate interchange control number, which X12 translators refuse by design).
- In: :class:`InboxFiles` stores each taken file in the inbox with ``external_id = "sha256:<checksum>"``
  and its kind as the message type; :func:`parse_message` turns a stored file back into its documents or
  rejects it with every line-level reason.

The ``apply`` halves are in ``apply``; the periodic work (scan the folder, release pick tickets) in ``wiring``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

from seamline.channels.threepl.client import ThreePLClient
from seamline.channels.threepl.documents import Accepted, Outcome, PickTicket, Rejected, ThreePLDocument
from seamline.channels.threepl.dropfolder import DropFolder
from seamline.channels.threepl.inbound import ACK_KIND, InboundFile, TakenFile, identify, read_documents, sha256
from seamline.channels.threepl.mapper import PartnerProfile
from seamline.integration import (
    ChannelError,
    Delivered,
    Delivery,
    DeliveryRejected,
    InboundMessage,
    InvalidMessage,
    Receipt,
    StoredMessage,
    Subscriber,
    delivery_outcome,
)

_MAX_CONTROL_NUMBER = 999_999_999
#: The message type of a file whose kind could not be read: stored all the same, then rejected with why.
UNREADABLE = "unreadable"

PickTicketFromEvent = Callable[[Mapping[str, Any]], PickTicket]


def control_number_for(event_seq: int) -> int:
    """An X12 control number (1..999999999) from an outbox sequence: stable across redeliveries."""
    return (event_seq - 1) % _MAX_CONTROL_NUMBER + 1


def pick_ticket_subscriber(
    name: str,
    client: ThreePLClient,
    *,
    event_types: Iterable[str],
    to_pick_ticket: PickTicketFromEvent,
    channels: Iterable[str] | None = None,
) -> Subscriber:
    """Every event (never coalesced: each is an order to ship) becomes one file in the 3PL's outbound/."""

    def deliver(delivery: Delivery) -> Delivered:
        try:
            ticket = to_pick_ticket(delivery.payload)
        except (KeyError, TypeError, ValueError) as exc:
            raise DeliveryRejected(f"the event is not a pick ticket: {exc}") from exc
        try:
            client.send_pick_tickets([ticket], control_number=control_number_for(delivery.event_seq))
        except ValueError as exc:
            raise DeliveryRejected(f"pick ticket {ticket.order_id} cannot be written: {exc}") from exc
        except ChannelError as exc:
            raise delivery_outcome(exc) from exc
        return Delivered()

    return Subscriber(
        name=name,
        event_types=frozenset(event_types),
        deliver=deliver,
        channels=None if channels is None else frozenset(channels),
        coalesce=False,
    )


class _Inbox(Protocol):
    def receive(self, message: InboundMessage) -> Receipt: ...


def inbound_message(source: str, file: InboundFile) -> InboundMessage:
    return InboundMessage(
        source=source,
        external_id=file.external_id,
        message_type=file.kind,
        body=file.body,
        headers={"file-name": file.name, "sha256": file.checksum},
    )


class InboxFiles:
    """:class:`~seamline.channels.threepl.inbound.ReceivedFiles` backed by the integration inbox."""

    def __init__(self, inbox: _Inbox, source: str) -> None:
        self.inbox = inbox
        self.source = source

    def seen(self, checksum: str) -> bool:
        return False  # the inbox's unique (source, external_id) decides, in the same call that stores

    def receive(self, file: InboundFile, documents: Sequence[ThreePLDocument]) -> bool:
        return not self.inbox.receive(inbound_message(self.source, file)).duplicate


def parse_message(message: StoredMessage, profile: PartnerProfile | None = None) -> tuple[ThreePLDocument, ...]:
    """The inbox handler's ``parse``: the file's documents, or ``InvalidMessage`` with every reason."""
    name = message.headers.get("file-name", message.external_id)
    file = InboundFile(name, sha256(message.body), message.message_type, message.body)
    outcome = read_documents(file, profile)
    if isinstance(outcome, Rejected):
        raise InvalidMessage("; ".join(str(issue) for issue in outcome.errors))
    return outcome.document


#: Told of every X12 file newly stored, with how it read (to answer it with a 997).
Acknowledge = Callable[[InboundFile, Outcome[Any]], object]


def take_into_inbox(
    folder: DropFolder,
    inbox: _Inbox,
    source: str,
    profile: PartnerProfile | None = None,
    acknowledge: Acknowledge | None = None,
) -> list[TakenFile]:
    """One pass over the drop folder's inbound/: every settled file is stored in the inbox (deduplicated by
    its checksum, ``external_id = "sha256:<checksum>"``), then leaves inbound/: to archive/, or to error/
    beside its line-level reasons when it cannot be read. The inbox's handler parses and applies it (and
    rejects an unreadable one with the same reasons), once.

    A file leaves inbound/ only after the inbox stored it, so a crash in between stores it again on the
    next pass, which the checksum answers as a duplicate.

    ``acknowledge`` hears of every new X12 file but a 997 (an acknowledgement is not acknowledged), with how
    it read: a crash before it is called leaves that file without its 997.
    """
    taken: list[TakenFile] = []
    for name in folder.pending():
        body = folder.read(name)
        checksum = sha256(body)
        identified = identify(name, body)
        kind = identified.document.kind if isinstance(identified, Accepted) else UNREADABLE
        file = InboundFile(name, checksum, kind, body)
        receipt = inbox.receive(inbound_message(source, file))
        if receipt.duplicate:
            moved = folder.archive(name, note="duplicate")
            taken.append(TakenFile(name, "duplicate", checksum, f"archive/{moved}", kind))
            continue
        if kind == ACK_KIND:
            moved = folder.archive(name)
            taken.append(TakenFile(name, "received", checksum, f"archive/{moved}", kind))
            continue
        outcome: Outcome[Any] = identified if isinstance(identified, Rejected) else read_documents(file, profile)
        if acknowledge is not None and body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"ISA"):
            acknowledge(file, outcome)
        if isinstance(outcome, Rejected):
            reasons = [f"error: {i}" for i in outcome.errors] + [f"warning: {i}" for i in outcome.warnings]
            moved = folder.reject(name, reasons)
            taken.append(
                TakenFile(name, "rejected", checksum, f"error/{moved}", kind, outcome.errors, outcome.warnings)
            )
            continue
        moved = folder.archive(name)
        taken.append(TakenFile(name, "received", checksum, f"archive/{moved}", kind, (), outcome.warnings))
    return taken
