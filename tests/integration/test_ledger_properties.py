"""The ledger invariants of DESIGN 4.3, held over random operation sequences (hypothesis state machine).

The machine drives the service layer (not HTTP) against a real database and keeps a small in-memory model of
the same ledger: balances per (SKU, location) and holds with their expiry. The model mirrors the documented
algorithm exactly, so every outcome can be predicted: which hold is granted and from which locations, which
movement is refused, and what every balance reads. After every step:

- ``reconcile`` is clean (on hand = movements, reserved = live holds, no negative available, units conserved);
- no sellable balance reads available < 0;
- on hand, reserved (as read and as stored) and available per (SKU, location) equal the model, and so do the
  statuses of the latest holds; channel ATP is compared with the model as a step of its own.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from seamline.catalog import StyleDraft
from seamline.domain.clock import FixedClock
from seamline.domain.errors import Conflict, InvalidInput, Shortage
from seamline.ledger import HoldLineRequest, MovementRequest
from seamline.service import Seamline, Settings, bootstrap
from seamline.service.batcher import BatchSettings, HoldBatcher
from seamline.store import ledger_repo
from tests.conftest import ADMIN_TOKEN, OVERSHIRT, START, _empty_postgres

pytestmark = pytest.mark.slow

SELLABLE = ("WH", "STORE-1", "STORE-2")
# The navy sizes: all four are the prepack's components, so packs and loose units compete for the same rows.
VARIANTS = ("OVS-001-NVY-S", "OVS-001-NVY-M", "OVS-001-NVY-L", "OVS-001-NVY-XL")
PACK = "OVS-001-NVY-PACK"
PACK_COMPONENTS = (("OVS-001-NVY-S", 1), ("OVS-001-NVY-M", 2), ("OVS-001-NVY-L", 2), ("OVS-001-NVY-XL", 1))
# Two channels over the same two locations (STORE-2 is sold only by naming it): one serves a line from the first
# source that has all of it, the other may also split a line across its sources, in the opposite order.
CHANNELS: dict[str, tuple[tuple[str, ...], bool]] = {
    "web": (("WH", "STORE-1"), False),
    "split": (("STORE-1", "WH"), True),
}

Key = tuple[str, str]  # (sku, location)
Lines = list[tuple[str, str, int]]  # (sku, location, qty)
Shorts = list[tuple[str, int, int]]  # (sku, requested, available)


def seed(app: Seamline) -> None:
    """Locations, the overshirt (with its prepack) and the two channels, through the service layer."""
    for code, kind in (("WH", "warehouse"), ("STORE-1", "store"), ("STORE-2", "store")):
        app.write(lambda uow, c=code, k=kind: app.put_location(uow, c, c, k))
    app.write(lambda uow: app.put_style(uow, StyleDraft(code="OVS-001", **OVERSHIRT)))
    for code, (sources, split) in CHANNELS.items():
        body = {"kind": "web", "sources": list(sources), "allow_split": split}
        app.write(lambda uow, c=code, b=body: app.put_channel(uow, c, b))


# ---------------------------------------------------------------------- the model
@dataclass
class ModelHold:
    lines: Lines
    expires_at: datetime
    status: str = "held"  # held, released or expired (as written; "held" past expires_at reads as expired)


class LedgerModel:
    """The ledger as the design describes it, including what is *stored*: a hold past its expiry keeps its units
    in the stored ``reserved`` until something writes its expiry, though every read already leaves them out."""

    def __init__(self) -> None:
        self.on_hand: dict[Key, int] = defaultdict(int)
        self.stored_reserved: dict[Key, int] = defaultdict(int)
        self.holds: dict[str, ModelHold] = {}

    def live_reserved(self, now: datetime) -> dict[Key, int]:
        out: dict[Key, int] = defaultdict(int)
        for hold in self.holds.values():
            if hold.status == "held" and hold.expires_at > now:
                for sku, loc, qty in hold.lines:
                    out[(sku, loc)] += qty
        return out

    def available(self, now: datetime) -> dict[Key, int]:
        """What a read says: on hand less live holds (holds past their expiry count as gone, swept or not)."""
        live = self.live_reserved(now)
        return {(s, loc): self.on_hand[(s, loc)] - live[(s, loc)] for s, loc in itertools.product(VARIANTS, SELLABLE)}

    def end(self, hold_id: str, status: str) -> None:
        hold = self.holds[hold_id]
        hold.status = status
        for sku, loc, qty in hold.lines:
            self.stored_reserved[(sku, loc)] -= qty

    def sweep(self, now: datetime, skus: set[str] | None = None) -> int:
        """Write the expiry of held holds past their time (only those with a line on ``skus``, when given)."""
        due = [
            hid
            for hid, h in self.holds.items()
            if h.status == "held" and h.expires_at <= now and (skus is None or {s for s, _, _ in h.lines} & skus)
        ]
        for hid in due:
            self.end(hid, "expired")
        return len(due)

    @staticmethod
    def demand(lines: list[HoldLineRequest]) -> dict[tuple[str, str | None], int]:
        out: dict[tuple[str, str | None], int] = defaultdict(int)
        for line in lines:
            for sku, units in PACK_COMPONENTS if line.sku == PACK else ((line.sku, 1),):
                out[(sku, line.location)] += line.qty * units
        return out

    def attempt(self, channel: str | None, lines: list[HoldLineRequest]) -> tuple[Lines, Shorts]:
        """One all-or-nothing pass over the *stored* balances, in (sku, location) order: an explicit location
        must have the line; an unlocated line takes the first source with all of it, else (split channel, and
        enough over all sources) parts in source order. Answers the lines taken and the short lines."""
        avail = {k: self.on_hand[k] - self.stored_reserved[k] for k in itertools.product(VARIANTS, SELLABLE)}
        taken: Lines = []
        short: Shorts = []
        for (sku, loc), qty in sorted(self.demand(lines).items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
            if loc is not None:
                if avail[(sku, loc)] >= qty:
                    avail[(sku, loc)] -= qty
                    taken.append((sku, loc, qty))
                else:
                    short.append((sku, qty, max(0, avail[(sku, loc)])))
                continue
            assert channel is not None
            sources, split = CHANNELS[channel]
            whole = next((src for src in sources if avail[(sku, src)] >= qty), None)
            pooled = sum(max(0, avail[(sku, src)]) for src in sources)
            if whole is not None:
                avail[(sku, whole)] -= qty
                taken.append((sku, whole, qty))
            elif split and pooled >= qty:
                remaining = qty
                for src in sources:
                    part = min(remaining, max(0, avail[(sku, src)]))
                    if part:
                        avail[(sku, src)] -= part
                        taken.append((sku, src, part))
                        remaining -= part
            else:
                short.append((sku, qty, pooled))
        return ([], short) if short else (taken, [])

    def place_txn(self, channel: str | None, lines: list[HoldLineRequest], now: datetime) -> tuple[Lines, Shorts]:
        """``place_hold_txn``: try on the stored balances; when short, write the expiry of the short SKUs' lapsed
        holds and, if there were any, try once more. Granted lines in (sku, location) order, as the batcher's:
        both paths decide with ``ledger.batch.decide``."""
        taken, short = self.attempt(channel, lines)
        if short and self.sweep(now, {s for s, _, _ in short}):
            taken, short = self.attempt(channel, lines)
            event(f"hold retried after writing expiries: {'refused' if short else 'granted'}")
        return sorted(taken), short

    def place_batched(self, channel: str | None, lines: list[HoldLineRequest], now: datetime) -> tuple[Lines, Shorts]:
        """The group-commit path: lapsed holds on every SKU asked for are expired first (and stay expired even
        when the request is refused: the batch commits), then one pass; granted lines in (sku, location) order."""
        self.sweep(now, {sku for sku, _ in self.demand(lines)})
        taken, short = self.attempt(channel, lines)
        return sorted(taken), short

    def grant(self, hold_id: str, lines: Lines, expires_at: datetime) -> None:
        self.holds[hold_id] = ModelHold(lines, expires_at)
        for sku, loc, qty in lines:
            self.stored_reserved[(sku, loc)] += qty

    def read_status(self, hold_id: str, now: datetime) -> str:
        hold = self.holds[hold_id]
        return "expired" if hold.status == "held" and hold.expires_at <= now else hold.status


# ---------------------------------------------------------------------- strategies
skus = st.sampled_from(VARIANTS)
sellable = st.sampled_from(SELLABLE)
quantities = st.integers(min_value=1, max_value=6)
hold_lines = st.lists(
    st.builds(
        HoldLineRequest,
        sku=st.sampled_from((*VARIANTS, PACK)),
        qty=st.integers(min_value=1, max_value=3),
        location=st.one_of(st.none(), sellable),
    ),
    min_size=1,
    max_size=4,
)


class LedgerMachine(RuleBasedStateMachine):
    """Subclassed per database: ``fresh_app`` builds a seeded application on an empty database."""

    fresh_app: Callable[[FixedClock], Seamline]

    def __init__(self) -> None:
        super().__init__()
        self.clock = FixedClock(START)
        self.app = type(self).fresh_app(self.clock)
        self.batcher = HoldBatcher(self.app, BatchSettings(window_seconds=0.0))
        self.batcher.start()
        self.model = LedgerModel()
        self.hold_ids: list[str] = []

    def teardown(self) -> None:
        self.batcher.stop()
        self.app.engine.dispose()

    @property
    def now(self) -> datetime:
        return self.clock.now()

    def move(self, request: MovementRequest) -> bool:
        """Post a movement; answers whether it was recorded (False on a shortage, which must write nothing)."""
        try:
            self.app.write(lambda uow: self.app.record_movement(uow, request))
        except Shortage:
            return False
        return True

    # ------------------------------------------------------------------ rules
    @initialize(stock=st.lists(st.integers(min_value=0, max_value=12), min_size=8, max_size=8))
    def opening_stock(self, stock: list[int]) -> None:
        """WH and STORE-1 start with a few units of every size, so holds compete from the first step."""
        for (sku, location), qty in zip(itertools.product(VARIANTS, ("WH", "STORE-1")), stock, strict=True):
            if qty:
                self.receive(sku, location, qty)

    @rule(sku=skus, location=sellable, qty=quantities)
    def receive(self, sku: str, location: str, qty: int) -> None:
        assert self.move(MovementRequest(kind="receipt", sku=sku, qty=qty, to_location=location))
        self.model.on_hand[(sku, location)] += qty

    def _hold(self, channel: str | None, lines: list[HoldLineRequest], ttl: int, *, batched: bool) -> None:
        if channel is None:  # without a channel every line names its location
            lines = [HoldLineRequest(line.sku, line.qty, line.location or "WH") for line in lines]
        call = self.batcher.place_hold if batched else self.app.place_hold_txn
        if channel is not None and any(line.location not in (None, *CHANNELS[channel][0]) for line in lines):
            # A channel draws only on its sources (DESIGN 4.4): refused whole before anything is read or expired.
            with pytest.raises(InvalidInput) as refused:
                call(channel=channel, lines=lines, ttl_seconds=ttl)
            assert any("is not a source of channel" in e.message for e in refused.value.errors)
            event("hold refused: a location outside the channel's sources")
            return
        place = self.model.place_batched if batched else self.model.place_txn
        expected, short = place(channel, lines, self.now)
        try:
            body = call(channel=channel, lines=lines, ttl_seconds=ttl).body
        except Shortage as exc:
            got = [(s.sku, s.requested, s.available) for s in exc.lines]
            assert short, f"refused ({got}), but the model has enough: {expected}"
            assert got == short
            event("hold refused")
            return
        assert not short, f"granted {body['lines']}, but the model is short: {short}"
        assert body["status"] == "held"
        assert [(x["sku"], x["location"], x["qty"]) for x in body["lines"]] == expected
        assert body["expires_at"] == (self.now + timedelta(seconds=ttl)).isoformat().replace("+00:00", "Z")
        self.model.grant(body["id"], expected, self.now + timedelta(seconds=ttl))
        self.hold_ids.append(body["id"])
        event("hold granted")

    @rule(channel=st.sampled_from((None, *CHANNELS)), lines=hold_lines, ttl=st.integers(min_value=1, max_value=60))
    def hold(self, channel: str | None, lines: list[HoldLineRequest], ttl: int) -> None:
        """``place_hold_txn``: one transaction per request."""
        self._hold(channel, lines, ttl, batched=False)

    @rule(channel=st.sampled_from((None, *CHANNELS)), lines=hold_lines, ttl=st.integers(min_value=1, max_value=60))
    def hold_batched(self, channel: str | None, lines: list[HoldLineRequest], ttl: int) -> None:
        """The group-commit batcher behind ``POST /v1/holds``."""
        self._hold(channel, lines, ttl, batched=True)

    @rule(
        sku=skus,
        location=sellable,
        delta=st.sampled_from((-1, 0, 1)),
        batched=st.booleans(),
        ttl=st.integers(min_value=1, max_value=60),
    )
    def hold_at_the_edge(self, sku: str, location: str, delta: int, batched: bool, ttl: int) -> None:
        """Ask for exactly what a read says is available at one row, one less, or one more."""
        qty = max(1, self.model.available(self.now)[(sku, location)] + delta)
        self._hold(None, [HoldLineRequest(sku, qty, location)], ttl, batched=batched)

    @precondition(lambda self: self.hold_ids)
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        hold_id = data.draw(st.sampled_from(self.hold_ids))
        hold = self.model.holds[hold_id]
        try:
            answer = self.app.write(lambda uow: self.app.release_hold(uow, hold_id))
        except Conflict as exc:
            code = exc.code
            assert code == "hold-expired", code
            assert hold.status == "expired" or (hold.status == "held" and hold.expires_at <= self.now)
            event("release refused: expired")
            return
        assert answer["status"] == "released"
        if hold.status == "held":
            assert hold.expires_at > self.now
            self.model.end(hold_id, "released")
            event("released")
        else:
            assert hold.status == "released", "a second release answers the same and returns nothing"
            event("released again")

    @rule(seconds=st.integers(min_value=1, max_value=90))
    def advance_clock(self, seconds: int) -> None:
        self.clock.advance(seconds)

    @rule()
    def sweep(self) -> None:
        assert self.app.sweep_expired() == self.model.sweep(self.now)

    @rule(sku=skus, location=sellable, qty=quantities)
    def adjust_gain(self, sku: str, location: str, qty: int) -> None:
        request = MovementRequest(kind="adjustment", sku=sku, qty=qty, to_location=location, reason="found")
        assert self.move(request)
        self.model.on_hand[(sku, location)] += qty

    @rule(sku=skus, location=sellable, qty=quantities)
    def adjust_loss(self, sku: str, location: str, qty: int) -> None:
        request = MovementRequest(kind="adjustment", sku=sku, qty=qty, from_location=location, reason="shrink")
        self._goods_out(request, sku, location, qty, to="adjustment")

    @rule(sku=skus, location=sellable, qty=quantities)
    def damage(self, sku: str, location: str, qty: int) -> None:
        request = MovementRequest(kind="damage", sku=sku, qty=qty, from_location=location)
        self._goods_out(request, sku, location, qty, to="damaged")

    @rule(sku=skus, location=sellable, delta=st.sampled_from((-1, 0, 1)), damaged=st.booleans())
    def write_off_at_the_edge(self, sku: str, location: str, delta: int, damaged: bool) -> None:
        """Write off exactly what a read says is available at one row, one less, or one more."""
        qty = max(1, self.model.available(self.now)[(sku, location)] + delta)
        if damaged:
            self._goods_out(
                MovementRequest(kind="damage", sku=sku, qty=qty, from_location=location),
                sku,
                location,
                qty,
                to="damaged",
            )
        else:
            request = MovementRequest(kind="adjustment", sku=sku, qty=qty, from_location=location, reason="count")
            self._goods_out(request, sku, location, qty, to="adjustment")

    def _goods_out(self, request: MovementRequest, sku: str, location: str, qty: int, *, to: str) -> None:
        """Goods leaving must be available there; a hold past its expiry no longer counts (DESIGN 4.3: expiry is
        evaluated at read, never left to the sweeper alone), so the movement may take its units."""
        enough = self.model.available(self.now)[(sku, location)] >= qty
        lapsed = self.model.stored_reserved[(sku, location)] - self.model.live_reserved(self.now)[(sku, location)]
        if enough and self.model.on_hand[(sku, location)] - self.model.stored_reserved[(sku, location)] < qty:
            event("goods out that only lapsed holds stood in the way of")
        elif lapsed:
            event("goods out with lapsed holds on the row")
        recorded = self.move(request)
        assert recorded == enough, f"{request}: recorded={recorded}, but the model's available says {enough}"
        event(f"goods out {'recorded' if recorded else 'refused'}")
        if recorded:
            self.model.sweep(self.now, {sku})  # the movement wrote the expiry of the SKU's lapsed holds
            self.model.on_hand[(sku, location)] -= qty
            self.model.on_hand[(sku, to)] += qty

    # ------------------------------------------------------------------ invariants
    @invariant()
    def reconcile_is_clean(self) -> None:
        report = self.app.reconcile()
        assert report.clean, report

    @invariant()
    def balances_match_the_model(self) -> None:
        rows = {(r["sku"], r["location"]): r for r in self.app.stock()}
        live = self.model.live_reserved(self.now)
        for (sku, loc), row in rows.items():
            if row["sellable"]:
                assert row["available"] >= 0, row
                assert row["available"] == row["on_hand"] - row["committed"] - row["reserved"], row
            assert row["on_hand"] == self.model.on_hand[(sku, loc)], row
            assert row["committed"] == 0, row
            assert row["reserved"] == live[(sku, loc)], row
        for key, qty in self.model.on_hand.items():
            assert qty == 0 or key in rows or key[1] == "adjustment", (key, qty)
        stored = self.app.read(ledger_repo.stored_balances)
        for key, qty in self.model.stored_reserved.items():
            assert stored.get(key, (0, 0, 0))[2] == qty, (key, stored.get(key), qty)

    @invariant()
    def holds_read_as_the_model_says(self) -> None:
        for hold_id in self.hold_ids[-4:]:
            assert self.app.get_hold(hold_id)["status"] == self.model.read_status(hold_id, self.now)

    @rule()
    def channel_availability_matches_the_model(self) -> None:
        """A read, not a change: checked as a step (it costs as much as all the invariants together)."""
        avail = self.model.available(self.now)
        for channel, (sources, _) in CHANNELS.items():
            items, _cursor = self.app.availability(channel)
            got = {i["sku"]: i["available"] for i in items}
            want = {s: sum(max(0, avail[(s, loc)]) for loc in sources) for s in VARIANTS}
            want[PACK] = min(want[c] // units for c, units in PACK_COMPONENTS)
            assert {s: got[s] for s in want} == want


# ---------------------------------------------------------------------- the two databases
@pytest.fixture(scope="module")
def seeded_sqlite(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Path:
    """The migrated template with the world seeded once; each example starts from a copy."""
    path = tmp_path_factory.mktemp("seeded") / "seeded.db"
    shutil.copy(sqlite_template, path)
    app = bootstrap(Settings(database_url=f"sqlite:///{path}", admin_token=ADMIN_TOKEN), migrate=False)
    seed(app)
    app.engine.dispose()
    return path


def _run(machine: type[LedgerMachine], max_examples: int, steps: int) -> None:
    """Shrinking is off unless SEAMLINE_HYPOTHESIS_SHRINK=1: each step is a database round trip, and shrinking a
    30-step failure can run past the test time-out; the unshrunk sequence is printed either way."""
    phases = [Phase.explicit, Phase.reuse, Phase.generate, Phase.target]
    if os.environ.get("SEAMLINE_HYPOTHESIS_SHRINK") == "1":
        phases.append(Phase.shrink)
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=max_examples,
            stateful_step_count=steps,
            deadline=None,
            phases=phases,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            database=None,
        ),
    )


def test_ledger_invariants_on_sqlite(seeded_sqlite: Path, tmp_path: Path) -> None:
    counter = itertools.count()

    def fresh_app(clock: FixedClock) -> Seamline:
        path = tmp_path / f"example-{next(counter)}.db"
        shutil.copy(seeded_sqlite, path)
        return bootstrap(
            Settings(database_url=f"sqlite:///{path}", admin_token=ADMIN_TOKEN), clock=clock, migrate=False
        )

    machine = type("SqliteLedgerMachine", (LedgerMachine,), {"fresh_app": staticmethod(fresh_app)})
    _run(machine, max_examples=50, steps=30)


@pytest.fixture
def postgres_url(postgres_server_url: str) -> Iterator[str]:
    yield postgres_server_url
    _empty_postgres(postgres_server_url)


@pytest.mark.postgres
def test_ledger_invariants_on_postgres(postgres_url: str) -> None:
    def fresh_app(clock: FixedClock) -> Seamline:
        _empty_postgres(postgres_url)
        app = bootstrap(Settings(database_url=postgres_url, admin_token=ADMIN_TOKEN), clock=clock, migrate=False)
        seed(app)
        return app

    machine = type("PostgresLedgerMachine", (LedgerMachine,), {"fresh_app": staticmethod(fresh_app)})
    _run(machine, max_examples=15, steps=30)
