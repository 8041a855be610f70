"""The Shopify connector (DESIGN 2, issue 5): ``mapper`` (pure Shopify JSON ↔ canonical), ``inbound``
(signature, headers, parsing by topic), ``client`` (Admin GraphQL over httpx, paced on the cost bucket),
``connector`` (the availability subscriber the dispatcher calls).

The inbox handlers for orders, refunds and fulfilments join ``connector`` once the order queue lands."""
