"""How a Shopify channel is wired from its configuration (see ``seamline.channels.wiring``).

``PUT /v1/channels/{code}`` with ``kind: "shopify"`` and ``settings``:

- ``shop_domain``: ``<shop>.myshopify.com``; webhooks from another shop are refused;
- ``webhook_secrets``: a list, the current secret and, during a rotation, the previous one (write-only);
- ``admin_api_url``: ``https://<shop>.myshopify.com/admin/api/2026-07``, or ``sandbox:`` (anything after
  the colon is ignored) for the in-process sandbox shop of ``shop_domain`` (refused in production);
- ``access_token`` (write-only);
- ``location_map``: Shopify location id → our location code (where refunds restock), over the locations
  ``seamline shopify link`` matched by name;
- ``publish_location_id``: the Shopify location that shows the channel's availability (default: the first
  key of ``location_map``, else the one location ``seamline shopify link`` linked, else the shop's one active
  location; with several and none named, numbers are not pushed and ``wiring.missing`` names
  ``location_map``);
- ``currency``: the channel's currency (orders in another are held; products are priced in it);
- ``accept_test_orders``: false by default; ``max_throttle_wait_seconds``: how long the client waits for the
  cost bucket before handing the delivery back to the dispatcher as rate limited (default 10).

It wires: the availability subscriber (batched, 250 quantities per ``inventorySetQuantities``; a SKU the
shop does not list is skipped, and its numbers are pushed when a publish links it), the product
publisher (``StyleChanged`` → ``productSet``, or archive when discontinued, filling the mapping tables), the
fulfilment pusher (``OrderShipped`` of an order from this channel → ``fulfillmentCreate`` with tracking) and
the inbox handlers of every topic (``handlers``)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx
from sqlalchemy import Connection

from seamline.channels import sandboxes
from seamline.channels.canonical import Tracking
from seamline.channels.shopify import handlers as topic_handlers
from seamline.channels.shopify import mapper
from seamline.channels.shopify.client import Drift, ShopifyClient, ShopifyConfig
from seamline.channels.shopify.connector import availability_subscriber
from seamline.channels.shopify.mapper import UnpublishableStyle, legacy_id
from seamline.channels.wiring import ChannelConfig, Wired, WiringContext
from seamline.domain.errors import InvalidInput
from seamline.integration import (
    AVAILABILITY_CHANGED,
    ChannelError,
    Delivered,
    Delivery,
    DeliveryFailed,
    DeliveryRejected,
    NewEvent,
    Subscriber,
    delivery_outcome,
)
from seamline.integration.availability_batches import coalesce_key
from seamline.integration.catalog_events import style_coalesce_key
from seamline.integration.events import ORDER_SHIPPED, STYLE_CHANGED
from seamline.integration.shared_limits import SharedTokenBucket
from seamline.sandbox.shopify import SandboxConfig, ShopifySandbox
from seamline.service import Seamline
from seamline.service.giftcards import GiftCardDesk
from seamline.service.unit_of_work import UnitOfWork
from seamline.store import catalog_repo, finance_repo, outbox_repo, shopify_repo

API_VERSION = "2026-07"
#: A standard plan's cost bucket (2,000 points, 100 restored a second): where the shared bucket starts.
SHARED_MAXIMUM, SHARED_RESTORE_RATE = 2000.0, 100.0
#: The location of a sandbox shop made for a ``sandbox:`` URL.
SANDBOX_LOCATION = "Sandbox warehouse"

#: A payment named a Shopify gift card none of ours carries: read it from Shopify and link it (issue 17).
GIFT_CARD_NAMED = "ShopifyGiftCardNamed"


def missing(settings: Mapping[str, Any]) -> list[str]:
    """The settings a Shopify channel still needs before it is wired whole (``wiring.missing`` of the answer).
    ``location_map`` is left to the builder: it is derived from the shop when the shop has one location."""
    needed = ["shop_domain", "admin_api_url", "access_token", "webhook_secrets"]
    return [key for key in needed if not settings.get(key)]


def sandbox_for(shop_domain: str, *, access_token: str | None = None) -> ShopifySandbox:
    """The in-process sandbox shop of ``shop_domain``: one per shop per process, made on first use."""
    domain = shop_domain.lower()

    def make() -> ShopifySandbox:
        config = SandboxConfig(shop_domain=domain)
        if access_token:
            config.access_token = access_token
        shop = ShopifySandbox(config)
        # A real shop always has a location; one location makes the channel's publish location unambiguous.
        shop.add_location(SANDBOX_LOCATION)
        return shop

    return sandboxes.instance("shopify", domain, ShopifySandbox, make)


def find_sandbox(shop_domain: str) -> ShopifySandbox | None:
    """The in-process sandbox shop of ``shop_domain`` if this process made or was given one."""
    found = sandboxes.find("shopify", shop_domain.lower())
    return found if isinstance(found, ShopifySandbox) else None


def use_sandbox(sandbox: ShopifySandbox) -> ShopifySandbox:
    """Make ``sandbox`` the in-process shop of its domain (a test or the demo bringing its own clock)."""
    sandboxes.register("shopify", sandbox.config.shop_domain.lower(), sandbox)
    return sandbox


def _setting(config: ChannelConfig, name: str) -> str:
    value = config.settings.get(name)
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"channel {config.code}: settings.{name} is required for a Shopify channel")
    return value.strip()


def build_client(context: WiringContext, config: ChannelConfig) -> ShopifyClient:
    settings = config.settings
    url = _setting(config, "admin_api_url")
    token = _setting(config, "access_token")
    wait = float(settings.get("max_throttle_wait_seconds", 10.0))
    transport = None
    if context.check_url(config.code, "admin_api_url", url):
        domain = _setting(config, "shop_domain")
        transport = sandbox_for(domain, access_token=token).transport()
        url = f"http://{domain}/admin/api/{API_VERSION}"
    # The cost bucket is the shop's (per app and shop), whichever process calls: shared through the database,
    # at a standard plan's size until the shop's own answers correct its rate and level.
    shop = str(settings.get("shop_domain") or url).lower()
    # On the same clock as the client's own model of the bucket (the business clock: the system clock in
    # production), so what Shopify reported and what the shared row restores agree.
    clock = context.app.clock
    points = SharedTokenBucket(
        context.app.engine,
        f"shopify:{shop}:points",
        SHARED_RESTORE_RATE,
        SHARED_MAXIMUM,
        now=lambda: clock.now().timestamp(),
    )
    return ShopifyClient(
        ShopifyConfig(url, token, max_throttle_wait_seconds=wait),
        transport=transport,
        clock=context.app.clock,
        sleep=time.sleep,
        points=points,
    )


def _location_map(config: ChannelConfig) -> dict[str, str]:
    raw = config.settings.get("location_map") or {}
    if not isinstance(raw, Mapping):
        raise InvalidInput(f"channel {config.code}: settings.location_map must map Shopify location ids to codes")
    return {str(legacy_id(key) or key): str(value) for key, value in raw.items()}


def build(context: WiringContext, config: ChannelConfig) -> Wired | None:
    settings = config.settings
    if not settings.get("admin_api_url"):
        # No Admin API yet: nothing is pushed, but deliveries the channel's webhook secret verifies are taken in
        # (an order needs only its verified delivery); pushes start when the Admin API is configured.
        return _inbound_only(context, config) if settings.get("webhook_secrets") else None
    app = context.app
    client = build_client(context, config)
    locations = _location_map(config)
    publish_location = settings.get("publish_location_id") or next(iter(locations), None)
    if publish_location is None:
        locations, publish_location = _derived_locations(app, config, client)
    publish_location = None if publish_location is None else str(legacy_id(publish_location) or publish_location)
    currency = settings.get("currency")
    subscriber_name = f"shopify:{config.code}"
    # No location to publish at: orders and products still flow, numbers are not pushed (and the answer says so).
    wired = Wired(missing=[] if publish_location is not None else ["location_map"])

    if publish_location is not None:
        wired.subscribers.append(
            availability_subscriber(
                config.code,
                client,
                location_id=publish_location,
                item_for_sku=lambda sku: app.read(
                    lambda conn: shopify_repo.inventory_items(conn, config.code, [sku]).get(sku)
                ),
                on_drift=lambda drift: _record_push_drift(app, config.code, drift),
                name=subscriber_name,
                batch=True,
                items_for_skus=lambda skus: app.read(
                    lambda conn: shopify_repo.inventory_items(conn, config.code, skus)
                ),
                skip_unlinked=True,
            )
        )
    outbox = context.integration.outbox

    def repush(uow: UnitOfWork, seen: Sequence[tuple[str, int | None]]) -> None:
        conn = uow.conn
        events = []
        for sku, theirs in seen:
            current = topic_handlers.current_availability(conn, config.code, sku, app.clock.now())
            if current is None:
                continue
            available, atp, paused = current
            payload = {
                "channel": config.code,
                "sku": sku,
                "atp": atp,
                "available": available,
                "paused": paused,
                "seen": theirs,
            }
            events.append(NewEvent(AVAILABILITY_CHANGED, payload, config.code, coalesce_key(config.code, sku)))
        outbox.emit(uow, events)

    def republish(uow: UnitOfWork, styles: Sequence[str]) -> None:
        conn = uow.conn
        events = []
        for code in styles:
            style = catalog_repo.get_style(conn, code)
            if style is not None:
                payload = {"style": code, "version": style.version, "status": style.status}
                events.append(NewEvent(STYLE_CHANGED, payload, config.code, style_coalesce_key(code)))
        outbox.emit(uow, events)

    def push_linked(uow: UnitOfWork, skus: Sequence[str]) -> None:
        # Newly linked variants show nothing yet: push our numbers, with no compare (we never published).
        repush(uow, [(sku, None) for sku in skus])

    def find_gift_cards(uow: UnitOfWork, card_ids: Sequence[str]) -> None:
        outbox.emit(
            uow,
            [
                NewEvent(GIFT_CARD_NAMED, {"channel": config.code, "gift_card_id": card_id}, config.code, None)
                for card_id in card_ids
            ],
        )

    wired.subscribers.append(product_subscriber(app, config.code, client, currency=currency, after_link=push_linked))
    wired.subscribers.append(gift_card_subscriber(app, config.code, client))
    wired.subscribers.append(fulfilment_subscriber(app, config.code, client))
    channel = topic_handlers.ShopifyChannel(
        app=app,
        code=config.code,
        location_map=locations,
        publish_location_id=publish_location,
        currency=str(currency) if currency else None,
        accept_test_orders=bool(settings.get("accept_test_orders", False)),
        subscriber=subscriber_name,
        repush=repush,
        republish=republish,
        find_gift_cards=find_gift_cards,
    )
    wired.handlers.extend(topic_handlers.handlers(channel))

    def catch_up() -> None:
        """Styles that existed before the channel was wired (or changed while it was not) are published, and
        linked SKUs whose shown number is not the ledger's are pushed: only the gap, so a rewire sends little."""

        def work(uow: UnitOfWork) -> None:
            conn = uow.conn
            held = shopify_repo.published_versions(conn, config.code)
            stale = [
                code
                for code, version, status in catalog_repo.style_versions(conn)
                if held.get(code) != version and (code in held or status != "discontinued")
            ]
            republish(uow, stale)
            # Payments held for naming a Shopify gift card we could not read then (no Admin API, a failed read):
            # read those cards again.
            named = sorted(
                {
                    str((hold["figures"] or {}).get("card"))
                    for hold in finance_repo.open_holds_from(conn, f"giftcard:channel:{config.code}:", kind="gift_card")
                    if hold["reason"] == "unknown-gift-card" and str((hold["figures"] or {}).get("card")).isdigit()
                }
            )
            find_gift_cards(uow, named)
            if publish_location is None:
                return
            shown = {
                r["sku"]: r["available"] for r in outbox_repo.published_numbers(conn, subscriber_name, config.code)
            }
            now = app.clock.now()
            behind = []
            for sku in sorted(shopify_repo.inventory_items(conn, config.code)):
                current = topic_handlers.current_availability(conn, config.code, sku, now)
                if current is not None and shown.get(sku) != current[0]:
                    behind.append((sku, None))
            repush(uow, behind)

        app.write(work)

    wired.on_wire.append(catch_up)
    return wired


def _inbound_only(context: WiringContext, config: ChannelConfig) -> Wired:
    """The topic handlers of a channel whose webhooks are verified but whose Admin API is not configured:
    orders, refunds and fulfilments are applied; drift found in an inventory or product delivery is not
    repaired (there is nothing to push with) until the channel is complete, when the catch-up sends it all."""
    settings = config.settings
    currency = settings.get("currency")
    channel = topic_handlers.ShopifyChannel(
        app=context.app,
        code=config.code,
        location_map=_location_map(config),
        publish_location_id=None,
        currency=str(currency) if currency else None,
        accept_test_orders=bool(settings.get("accept_test_orders", False)),
        subscriber=f"shopify:{config.code}",
        repush=lambda conn, seen: None,
        republish=lambda conn, styles: None,
    )
    return Wired(handlers=list(topic_handlers.handlers(channel)))


def _derived_locations(
    app: Seamline, config: ChannelConfig, client: ShopifyClient
) -> tuple[dict[str, str], str | None]:
    """Where to publish when ``location_map`` is not set: the one location ``seamline shopify link`` linked,
    else the shop's one active location (mapped to the channel's source when it has exactly one). Several
    locations are ambiguous: nothing is guessed and ``location_map`` shows as missing."""
    linked = app.read(lambda conn: shopify_repo.location_codes(conn, config.code))
    if linked:
        return linked, (next(iter(linked)) if len(linked) == 1 else None)
    try:
        found = client.locations()
    except (ChannelError, httpx.HTTPError):
        return {}, None
    if len(found) != 1:
        return {}, None
    location_id = str(legacy_id(found[0][0]))
    return ({location_id: config.sources[0]} if len(config.sources) == 1 else {}), location_id


def _record_push_drift(app: Seamline, channel: str, drift: Drift) -> None:
    """A compare-and-set that found another number is drift, unless Shopify already showed the number we
    were pushing (its own sale took the unit off before our number for that sale arrived)."""
    if drift.actual == drift.pushed:
        return
    row = {
        "channel": channel,
        "kind": "inventory",
        "sku": drift.sku,
        "subject": str(legacy_id(drift.inventory_item_id) or drift.inventory_item_id),
        "field": "available",
        "ours": None if drift.expected is None else str(drift.expected),
        "theirs": None if drift.actual is None else str(drift.actual),
        "source": "push",
        "recorded_at": app.clock.now(),
    }
    app.write(lambda uow: shopify_repo.record_drift(uow.conn, [row]))


def _refuse_deleting_their_variants(
    app: Seamline, channel: str, client: ShopifyClient, code: str, product_id: str, style: Any
) -> None:
    """``productSet`` deletes the variants its list leaves out. Variants someone added to the product in
    Shopify (not SKUs of the style, not variants we linked) are the merchant's: the publish is refused with
    their SKUs and ids (a dead letter a person can read, replayable once the style or the shop is changed),
    never run over them."""
    current = client.product_variants(product_id)
    if not current:
        return
    ours = {v.sku for v in style.variants}
    ids = [str(legacy_id(v.variant_id)) for v in current]
    linked = set(app.read(lambda conn: shopify_repo.variant_skus(conn, channel, ids)))  # ours, even if dropped
    theirs = [v for v in current if (v.sku or "") not in ours and str(legacy_id(v.variant_id)) not in linked]
    if theirs:
        names = ", ".join(f"{v.sku or '(no SKU)'} ({legacy_id(v.variant_id)})" for v in theirs)
        raise DeliveryRejected(
            f"style {code}: the Shopify product has {len(theirs)} variant(s) that are not in the master: {names}. "
            "Publishing would delete them; add them to the style (or delete them in Shopify), then replay."
        )


def product_subscriber(
    app: Seamline,
    channel: str,
    client: ShopifyClient,
    *,
    currency: Any,
    after_link: Callable[[UnitOfWork, Sequence[str]], None] | None = None,
) -> Subscriber:
    """``StyleChanged`` → the style's product in the shop (``productSet`` by our handle or the product id we
    hold: the same style published twice is one product), archived when discontinued; the product, variant
    and inventory item ids go into the mapping tables, and ``after_link`` is told which SKUs were linked for
    the first time (in the same transaction)."""

    def deliver(delivery: Delivery) -> Delivered:
        code = str(delivery.payload["style"])

        def read(conn: Connection) -> tuple[Any, dict[str, Any] | None]:
            return catalog_repo.get_style(conn, code), shopify_repo.product_of_style(conn, channel, code)

        style, known = app.read(read)
        if style is None:
            raise DeliveryRejected(f"style {code} does not exist")
        product_id = None if known is None else str(known["product_id"])
        price_currency = str(currency) if currency else next((p.currency for p in style.prices), None)
        try:
            if style.status == "discontinued" and product_id is not None:
                errors = client.archive_product(product_id)
                if errors:
                    raise DeliveryRejected(f"archive refused: {errors}")
                app.write(
                    lambda uow: shopify_repo.save_product(
                        uow.conn,
                        channel,
                        code,
                        product_id=product_id,
                        handle=None if known is None else known["handle"],
                        status="ARCHIVED",
                        version=style.version,
                        now=app.clock.now(),
                    )
                )
                return Delivered()
            if price_currency is None:
                raise DeliveryRejected(f"style {code} has no price to publish")
            if product_id is not None:
                _refuse_deleting_their_variants(app, channel, client, code, product_id, style)
            variables = mapper.product_set_variables(
                style, currency=price_currency, product_id=product_id, channel=channel
            )
            published = client.publish_product(variables)
        except UnpublishableStyle as exc:
            raise DeliveryRejected(str(exc)) from exc
        except ChannelError as exc:
            raise delivery_outcome(exc) from exc
        if not published.ok or published.product_id is None:
            raise DeliveryRejected(f"productSet refused {code}: {list(published.user_errors)}")
        new_id = str(legacy_id(published.product_id))
        links = [
            {
                "sku": v.sku,
                "product_id": new_id,
                "variant_id": str(legacy_id(v.variant_id)),
                "inventory_item_id": str(legacy_id(v.inventory_item_id)),
                "linked_by": "publish",
            }
            for v in published.variants
            if v.sku
        ]

        def save(uow: UnitOfWork) -> None:
            conn = uow.conn
            now = app.clock.now()
            shopify_repo.save_product(
                conn,
                channel,
                code,
                product_id=new_id,
                handle=published.handle,
                status=published.status,
                version=style.version,
                now=now,
            )
            before = shopify_repo.inventory_items(conn, channel, [link["sku"] for link in links])
            shopify_repo.link_variants(conn, channel, links, now)
            fresh = [link["sku"] for link in links if before.get(link["sku"]) != link["inventory_item_id"]]
            if after_link is not None and fresh:
                after_link(uow, fresh)

        app.write(save)
        return Delivered()

    return Subscriber(
        name=f"shopify-products:{channel}",
        event_types=frozenset({STYLE_CHANGED}),
        deliver=deliver,
        channels=frozenset({channel}),
        coalesce=True,
    )


def fulfilment_subscriber(app: Seamline, channel: str, client: ShopifyClient) -> Subscriber:
    """``OrderShipped`` of an order that came from this channel → ``fulfillmentCreate`` with the tracking.
    A repeat finds nothing open and does nothing; the fulfilment's id is kept so its webhook echo is
    recognised as ours."""

    def deliver(delivery: Delivery) -> Delivered:
        payload = delivery.payload
        external_id = str(payload["external_id"])
        if not external_id.isdigit():
            return Delivered()  # not a Shopify order id (an exchange's order placed here)
        number = payload.get("tracking")
        tracking = Tracking(payload.get("carrier"), str(number)) if number else None
        # A shipment that names its lines (a partial one) fulfils only those; one that does not, what is open.
        shipped = payload.get("lines")
        lines: dict[str, int] | None = None
        if isinstance(shipped, list) and shipped:
            lines = {}
            for line in shipped:
                lines[str(line["sku"])] = lines.get(str(line["sku"]), 0) + int(line["qty"])
        try:
            result = client.create_fulfillment(external_id, tracking, lines=lines)
        except ChannelError as exc:
            raise delivery_outcome(exc) from exc
        if result.fulfillment_ids:
            made = [str(legacy_id(f)) for f in result.fulfillment_ids]
            order_id = str(payload["order_id"])

            def save(uow: UnitOfWork) -> None:
                conn = uow.conn
                now = app.clock.now()
                for fulfillment_id in made:  # their webhook echoes are recognised as ours
                    if shopify_repo.claim_document(conn, channel, "pushed_fulfillment", fulfillment_id, now):
                        shopify_repo.set_document(conn, channel, "pushed_fulfillment", fulfillment_id, order_id)

            app.write(save)
        if result.user_errors:
            raise DeliveryRejected(f"fulfillmentCreate refused: {list(result.user_errors)}")
        return Delivered()

    return Subscriber(
        name=f"shopify-fulfilments:{channel}",
        event_types=frozenset({ORDER_SHIPPED}),
        deliver=deliver,
        channels=frozenset({channel}),
        coalesce=False,
    )


def gift_card_subscriber(app: Seamline, channel: str, client: ShopifyClient) -> Subscriber:
    """``ShopifyGiftCardNamed`` → the card read from Shopify (``giftCards(query: "id:<id>")``, its ``order`` and
    ``lineItem``) and linked to the card that line issued here, which takes the payments held for naming it
    (``GiftCardDesk.link_channel_card``). A card its sale has not reached us for yet is tried again later (a
    temporary failure), as is one Shopify does not show yet; one Shopify issued by hand (no order line) stays
    held for a person."""

    def deliver(delivery: Delivery) -> Delivered:
        card_id = str(delivery.payload["gift_card_id"])
        if not card_id.isdigit():
            return Delivered()
        try:
            found = [c for c in client.gift_cards(f"id:{card_id}") if c.gift_card_id == card_id]
        except ChannelError as exc:
            raise delivery_outcome(exc) from exc
        if not found:  # Shopify issues a sold card once the order is paid: not readable yet
            raise DeliveryFailed(f"Shopify shows no gift card {card_id} yet")
        if found[0].order_id is None or found[0].line_item_id is None:
            return Delivered()  # issued by hand, not sold on an order: nothing of ours to link it to; held for a person
        card = found[0]
        line_source = f"channel:{channel}:{card.order_id}:line:{card.line_item_id}"
        linked = app.write(
            lambda uow: GiftCardDesk(app).link_channel_card(
                uow, channel, line_source, card_id, last_characters=card.last_characters
            )
        )
        if linked is None:
            raise DeliveryFailed(
                f"Shopify gift card {card_id} was sold on order {card.order_id}, which has issued no card here yet"
            )
        return Delivered()

    return Subscriber(
        name=f"shopify-gift-cards:{channel}",
        event_types=frozenset({GIFT_CARD_NAMED}),
        deliver=deliver,
        channels=frozenset({channel}),
        coalesce=False,
    )
