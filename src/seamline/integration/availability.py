"""Real-time availability (DESIGN 4.4): a before-commit hook that, for the balance rows a transaction
changed, recomputes ATP for every channel sourcing those locations and writes ``AvailabilityChanged`` (and
``ListingPaused``/``ListingResumed`` when ATP crosses the pause threshold) into the outbox, in the same
transaction. Prepacks whose components changed are recomputed too.

Only a changed number is an event: the last computed (atp, paused) per (channel, sku) is kept in
``channel_availability``, whose row lock also serialises recomputation of one (channel, sku) on PostgreSQL.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import Connection

from seamline.domain.clock import Clock
from seamline.integration.events import AVAILABILITY_CHANGED, LISTING_PAUSED, LISTING_RESUMED, NewEvent
from seamline.integration.outbox import Outbox
from seamline.ledger import channel_atp
from seamline.ledger.atp import ChannelPolicy, prepack_atp
from seamline.store import channels_repo, ledger_repo, marketplace_repo, outbox_repo


def coalesce_key(channel: str, sku: str) -> str:
    return f"availability:{channel}:{sku}"


class AvailabilityPublisher:
    def __init__(self, outbox: Outbox, clock: Clock) -> None:
        self.outbox = outbox
        self.clock = clock

    def __call__(self, conn: Connection) -> None:
        touched = set(ledger_repo.touched(conn))
        if touched:
            self.publish(conn, touched)

    def publish(self, conn: Connection, touched: set[tuple[str, str]]) -> list[str]:
        """Emit events for the (channel, sku) pairs whose availability these balance rows may have changed."""
        touched_locations: dict[str, set[str]] = defaultdict(set)  # sku -> locations changed
        for sku, location in touched:
            touched_locations[sku].add(location)
        packs = outbox_repo.packs_containing(conn, touched_locations)
        unit_skus = set(touched_locations) | {c for comps in packs.values() for c, _ in comps}
        policies = channels_repo.policies(conn, skus=sorted(unit_skus | set(packs)))
        targets: dict[str, tuple[ChannelPolicy, set[str]]] = {}
        for policy in policies:
            sources = set(policy.sources)
            skus = {s for s, locs in touched_locations.items() if locs & sources}
            skus |= {
                p for p, comps in packs.items() if any(touched_locations.get(c, set()) & sources for c, _ in comps)
            }
            if skus:
                targets[policy.code] = (policy, skus)
        if not targets:
            return []
        now = self.clock.now()
        keys = [(channel, sku) for channel, (_, skus) in targets.items() for sku in skus]
        last = outbox_repo.lock_availability(conn, keys, now)
        # Read balances only after the locks: on PostgreSQL this statement sees every transaction that
        # recomputed these pairs before us, so the number we publish includes their changes.
        locations = sorted({loc for policy, _ in targets.values() for loc in policy.sources})
        needed = sorted({s for _, skus in targets.values() for s in skus if s not in packs} | unit_skus)
        available: dict[str, dict[str, int]] = defaultdict(dict)
        for balance in ledger_repo.read_balances(conn, now, skus=needed, locations_in=locations):
            available[balance.sku][balance.location] = balance.available
        events: list[NewEvent] = []
        saved: list[tuple[str, str, int, bool, int]] = []
        crossings: list[tuple[int, str]] = []  # (index in events, ListingPaused | ListingResumed)
        for channel in sorted(targets):
            policy, skus = targets[channel]
            for sku in sorted(skus):
                if sku in packs:
                    component_atp = {c: channel_atp(policy, c, available[c], policies).atp for c, _ in packs[sku]}
                    atp = prepack_atp(component_atp, packs[sku])
                    paused = policy.pause_below > 0 and atp < policy.pause_below
                else:
                    result = channel_atp(policy, sku, available[sku], policies)
                    atp, paused = result.atp, result.paused
                before_atp, before_paused = last.get((channel, sku), (None, None))
                if before_atp == atp and before_paused == paused:
                    continue
                payload = {
                    "channel": channel,
                    "sku": sku,
                    "atp": atp,
                    "available": 0 if paused else atp,
                    "paused": paused,
                    "pause_below": policy.pause_below,
                }
                index = len(events)
                events.append(NewEvent(AVAILABILITY_CHANGED, payload, channel, coalesce_key(channel, sku)))
                if (before_paused is None and paused) or (before_paused is not None and before_paused != paused):
                    kind = LISTING_PAUSED if paused else LISTING_RESUMED
                    crossing = {"channel": channel, "sku": sku, "atp": atp, "pause_below": policy.pause_below}
                    crossings.append((len(events), kind))
                    events.append(NewEvent(kind, crossing, channel, f"listing:{channel}:{sku}"))
                saved.append((channel, sku, atp, paused, index))
        if not events:
            return []
        ids = self.outbox.emit(conn, events)
        by_index = dict(enumerate(ids))
        outbox_repo.save_availability(conn, [(c, s, atp, paused, by_index[i]) for c, s, atp, paused, i in saved], now)
        # The pause log (issue 7): each crossing is recorded with the state change, keyed by its event.
        marketplace_repo.record_pauses(
            conn,
            [
                {
                    **{k: events[i].payload[k] for k in ("channel", "sku", "atp", "pause_below")},
                    "action": "paused" if kind == LISTING_PAUSED else "restored",
                    "event_id": by_index[i],
                    "at": now,
                }
                for i, kind in crossings
            ],
        )
        return ids
