"""Lightspeed Retail (X-Series) as a POS channel (issue 21): signed form-encoded webhooks in (closed sales
become till sales, returns become returns of the sale they name, customers are matched), saved styles out as
variant families with their barcodes and prices, and the till's stock set from the ledger."""

from seamline.channels.lightspeed.client import LightspeedClient, LightspeedConfig
from seamline.channels.lightspeed.inbound import SOURCE, inbound_message, verify
from seamline.channels.lightspeed.mapper import LightspeedLookups, map_sale

__all__ = [
    "SOURCE",
    "LightspeedClient",
    "LightspeedConfig",
    "LightspeedLookups",
    "inbound_message",
    "map_sale",
    "verify",
]
