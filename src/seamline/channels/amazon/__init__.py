"""The Amazon connector (issue 7): ``mapper`` (pure SP-API JSON ↔ canonical: listings PATCH bodies, listings
feeds and their reports, orders), ``client`` (SP-API over httpx, per-operation token buckets, 429 with
Retry-After), ``inbound`` (orders pulled into the inbox), ``connector`` (the availability subscriber, bulk
catch-up by feed, the order handler)."""
