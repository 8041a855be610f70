"""The balance rows a write may touch, declared before it runs (issue 16): a group commit locks the rows of
all its requests first, in the one global order, so that two batches never hold rows the other wants.
Over-declaring costs a lock; under-declaring only gives back the old risk of a retried deadlock."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection

from seamline.service.group_commit import LockKeys
from seamline.store import catalog_repo, channels_repo, ledger_repo

Key = tuple[str, str]


def stock_rows(conn: Connection, skus: Iterable[str], locations: Iterable[str]) -> set[Key]:
    """Each SKU, and each component of those that are prepacks (stock is kept in units), at each location,
    and the rows of the lapsed holds on them."""
    wanted = set(skus)
    units = wanted | {component for parts in catalog_repo.prepack_map(conn, wanted).values() for component, _ in parts}
    # The write expires the lapsed holds on its SKUs first, giving back units wherever they were held: their
    # rows are locked with the others, or that expiry would lock them later, out of the global order.
    return {(sku, location) for sku in units for location in set(locations)} | ledger_repo.lapsed_hold_rows(conn, units)


def sale_rows(location: str, skus: Iterable[str]) -> LockKeys:
    """A till sale takes its lines from its own store."""
    wanted = list(skus)
    return lambda conn: stock_rows(conn, wanted, [location])


def order_rows(channel: str, skus: Iterable[str]) -> LockKeys:
    """An order allocates (or commits its hold) at any of its channel's sources."""
    wanted = list(skus)

    def rows(conn: Connection) -> set[Key]:
        sourcing = channels_repo.sourcing(conn, channel)
        return stock_rows(conn, wanted, sourcing[0]) if sourcing is not None else set()

    return rows
