"""997s with one 3PL: answer every X12 file it sends with a 997 per functional group (dropped in outbound/
beside our other files, numbered from ``edi_acks_repo.FIRST_ACK_CONTROL_NUMBER`` up, recorded as ``sent``),
and take its 997s for our 940s and 856s (recorded as ``received``, matched to the order or transfer of that
group control number). A 997 that rejects something we sent is a 3PL exception, shown with the channel's
refused files (``GET /v1/threepl/{code}/exceptions``)."""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

from seamline.channels.threepl import acks
from seamline.channels.threepl.client import ThreePLClient
from seamline.channels.threepl.documents import Outcome, Rejected
from seamline.channels.threepl.inbound import InboundFile
from seamline.channels.threepl.mapper import PartnerProfile
from seamline.integration import FunctionHandler, InvalidMessage, StoredMessage
from seamline.service import Seamline
from seamline.service.unit_of_work import UnitOfWork
from seamline.store import edi_acks_repo

log = logging.getLogger("seamline.channels.threepl.acks")


def detail(ack: acks.GroupAck, **extra: Any) -> dict[str, Any]:
    return {**asdict(ack), "reasons": acks.describe(ack), **extra}


class AckExchange:
    def __init__(self, app: Seamline, channel: str, client: ThreePLClient, profile: PartnerProfile) -> None:
        self.app = app
        self.channel = channel
        self.client = client
        self.profile = profile

    def acknowledge(self, file: InboundFile, outcome: Outcome[Any]) -> str | None:
        """Send the 997 of a file as it was read; answers its file name (None: nothing to acknowledge)."""
        answer = acks.acknowledge_file(file.body, outcome)
        if not answer:
            return None
        now = self.app.clock.now()

        def claim(uow: UnitOfWork) -> int:
            conn = uow.conn
            number = edi_acks_repo.next_ack_control_number(conn, self.channel)
            rows = [
                {
                    "channel": self.channel,
                    "direction": "sent",
                    "functional_id": a.functional_id[:2],
                    "group_control_number": a.control_number[:9],
                    "status": a.status,
                    "interchange_control_number": number,
                    "file_name": f"997-{number:09d}.edi",
                    "detail": detail(a, file=file.name),
                    "recorded_at": now,
                }
                for a in answer
            ]
            edi_acks_repo.record(conn, rows, replace=False)
            return number

        number = self.app.write(claim)
        return self.client.send_acknowledgements(answer, control_number=number)

    # -- the 3PL's 997s ---------------------------------------------------------------------------------
    def parse(self, message: StoredMessage) -> tuple[acks.GroupAck, ...]:
        read = acks.read_997(message.body, tuple(self.profile.tolerate))
        if isinstance(read, Rejected):
            raise InvalidMessage("; ".join(str(issue) for issue in read.errors))
        return read.document

    def apply(self, uow: UnitOfWork, command: Any) -> None:
        conn = uow.conn
        now = self.app.clock.now()
        rows = []
        for ack in command:
            document = edi_acks_repo.sent_document(conn, self.channel, ack.functional_id, ack.control_number)
            if document is None:
                log.warning(
                    "3PL %s acknowledged group %s %s, which we have no record of sending",
                    self.channel,
                    ack.functional_id,
                    ack.control_number,
                )
            rows.append(
                {
                    "channel": self.channel,
                    "direction": "received",
                    "functional_id": ack.functional_id[:2],
                    "group_control_number": ack.control_number[:9],
                    "status": ack.status,
                    "interchange_control_number": None,
                    "file_name": None,
                    "detail": detail(ack, document=document),
                    "recorded_at": now,
                }
            )
        edi_acks_repo.record(conn, rows, replace=True)

    def handler(self) -> FunctionHandler:
        return FunctionHandler(self.parse, self.apply)
