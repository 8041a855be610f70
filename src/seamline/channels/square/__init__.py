"""Square as a POS channel (issue 6): signed webhooks in (``order.updated``, ``inventory.count.updated``),
completed orders mapped to till sales, and catalog/price pushes to the till."""

from seamline.channels.square.client import PRODUCTION_URL, SANDBOX_URL, SquareClient, SquareConfig
from seamline.channels.square.inbound import SOURCE, inbound_message, verify
from seamline.channels.square.mapper import (
    CatalogIds,
    SquareLookups,
    catalog_upsert_body,
    map_inventory_count_updated,
    map_order,
    map_order_updated,
    read_event,
)

__all__ = [
    "PRODUCTION_URL",
    "SANDBOX_URL",
    "SOURCE",
    "CatalogIds",
    "SquareClient",
    "SquareConfig",
    "SquareLookups",
    "catalog_upsert_body",
    "inbound_message",
    "map_inventory_count_updated",
    "map_order",
    "map_order_updated",
    "read_event",
    "verify",
]
