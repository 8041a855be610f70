"""Send documents to the 3PL: render them in the partner's format (X12 or CSV) and drop them, atomically,
in the drop folder's outbound/.

A file's name is derived from its control number, so an at-least-once redelivery of the same outbox event
(with the same control number, kept by the caller with the delivery) rewrites the same file instead of
adding a second pick ticket beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from seamline.channels.threepl import csv_profile
from seamline.channels.threepl.acks import GroupAck, write_997
from seamline.channels.threepl.documents import AdvanceShipNotice, PickTicket
from seamline.channels.threepl.dropfolder import DropFolder
from seamline.channels.threepl.mapper import PartnerProfile, write_856, write_940
from seamline.channels.threepl.x12 import Envelope
from seamline.domain.clock import Clock, SystemClock
from seamline.integration.channel_errors import ChannelUnavailable


@dataclass(frozen=True, slots=True)
class ThreePLSettings:
    """One 3PL's exchange settings (from the channel's ``settings``)."""

    format: Literal["x12", "csv"]
    #: Who we are and who the 3PL is in X12 envelopes; required for the x12 format.
    envelope: Envelope | None = None
    profile: PartnerProfile = field(default_factory=PartnerProfile)

    def __post_init__(self) -> None:
        if self.format == "x12" and self.envelope is None:
            raise ValueError("the x12 format needs an envelope (sender and receiver ids)")


class ThreePLClient:
    def __init__(self, folder: DropFolder, settings: ThreePLSettings, clock: Clock | None = None) -> None:
        self.folder = folder
        self.settings = settings
        self.clock = clock or SystemClock()

    def send_pick_tickets(self, tickets: Sequence[PickTicket], *, control_number: int) -> str:
        """Drop pick tickets (a 940 interchange, or a CSV file); returns the file name."""
        if self.settings.format == "csv":
            name = f"pick-tickets-{control_number:09d}.csv"
            data = csv_profile.write_pick_tickets(tickets)
        else:
            assert self.settings.envelope is not None
            name = f"940-{control_number:09d}.edi"
            data = write_940(
                tickets,
                self.settings.envelope,
                interchange_control_number=control_number,
                group_control_number=control_number,
                at=self.clock.now(),
            )
        self._drop(name, data.encode())
        return name

    def send_acknowledgements(self, acks: Sequence[GroupAck], *, control_number: int) -> str:
        """Drop a 997 interchange answering the groups the 3PL sent; returns the file name."""
        if self.settings.envelope is None:
            raise ValueError("997s are X12: configure the envelope")
        name = f"997-{control_number:09d}.edi"
        data = write_997(self.settings.envelope, acks, interchange_control_number=control_number, at=self.clock.now())
        self.folder.put(name, data.encode())
        return name

    def send_ship_notices(self, notices: Sequence[AdvanceShipNotice], *, control_number: int) -> str:
        """Drop an 856 (inbound stock the 3PL should expect, with its cartons' SSCCs)."""
        if self.settings.envelope is None:
            raise ValueError("ship notices are sent as X12 856: configure the envelope")
        name = f"856-{control_number:09d}.edi"
        data = write_856(
            notices,
            self.settings.envelope,
            interchange_control_number=control_number,
            group_control_number=control_number,
            at=self.clock.now(),
        )
        self._drop(name, data.encode())
        return name

    def _drop(self, name: str, data: bytes) -> None:
        try:
            self.folder.put(name, data)
        except OSError as exc:  # the folder (a disk, an SFTP server) is away: the file is written on a retry
            raise ChannelUnavailable(f"drop folder unavailable: {exc}") from exc
