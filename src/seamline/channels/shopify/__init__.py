"""The Shopify connector (DESIGN 2, issue 5): ``mapper`` (pure Shopify JSON ↔ canonical), ``inbound``
(signature, headers, parsing by topic), ``client`` (Admin GraphQL over httpx, paced on the cost bucket),
``connector`` (the availability subscriber the dispatcher calls), ``handlers`` (the inbox handlers of the
webhook topics), ``wiring`` (all of it built from a channel's settings) and ``link`` (matching a shop's
existing products to our SKUs). ``docs/shopify.md`` is the user's page."""
