"""The 3PL connector: pick tickets out, shipment confirmations, receipts, inventory advice and adjustments
in, over a watched drop folder (local or SFTP) in X12 EDI or CSV, with GS1 SSCCs on cartons.

Modules: ``documents`` (canonical documents and read outcomes), ``x12`` (envelopes), ``mapper`` (X12 <->
documents), ``csv_profile`` (CSV <-> documents), ``variance`` (846 against the ledger), ``dropfolder``
(the transport), ``inbound`` (take files once), ``client`` (drop files for the 3PL).
"""

from seamline.channels.threepl.client import ThreePLClient, ThreePLSettings
from seamline.channels.threepl.documents import (
    Accepted,
    Address,
    AdjustmentLine,
    AdvanceShipNotice,
    AsnItem,
    AsnOrder,
    AsnPack,
    InventoryAdjustment,
    InventorySnapshot,
    Issue,
    ItemRef,
    Outcome,
    PickLine,
    PickTicket,
    ReceivedLine,
    Rejected,
    ShipmentConfirmation,
    ShippedLine,
    StockLevel,
    StockReceipt,
    ThreePLDocument,
)
from seamline.channels.threepl.dropfolder import (
    DropFolder,
    LocalDropFolder,
    SftpConnection,
    SftpDropFolder,
    SftpServer,
    connect_sftp,
)
from seamline.channels.threepl.inbound import InboundFile, RememberedChecksums, TakenFile, take_inbound
from seamline.channels.threepl.mapper import PartnerProfile, X12Documents, read_x12
from seamline.channels.threepl.variance import Variance, VarianceReport, variance_report
from seamline.channels.threepl.x12 import Envelope, Tolerance

__all__ = [
    "Accepted",
    "Address",
    "AdjustmentLine",
    "AdvanceShipNotice",
    "AsnItem",
    "AsnOrder",
    "AsnPack",
    "DropFolder",
    "Envelope",
    "InboundFile",
    "InventoryAdjustment",
    "InventorySnapshot",
    "Issue",
    "ItemRef",
    "LocalDropFolder",
    "Outcome",
    "PartnerProfile",
    "PickLine",
    "PickTicket",
    "ReceivedLine",
    "Rejected",
    "RememberedChecksums",
    "SftpConnection",
    "SftpDropFolder",
    "SftpServer",
    "ShipmentConfirmation",
    "ShippedLine",
    "StockLevel",
    "StockReceipt",
    "TakenFile",
    "ThreePLClient",
    "ThreePLDocument",
    "ThreePLSettings",
    "Tolerance",
    "Variance",
    "VarianceReport",
    "X12Documents",
    "connect_sftp",
    "read_x12",
    "take_inbound",
    "variance_report",
]
