"""One package per sales channel, each with the same files (STYLE.md): ``mapper`` (pure vendor JSON ↔
canonical), ``client`` (httpx, injectable transport), ``inbound`` (verify and parse), ``connector``
(implements the integration Protocol). ``canonical`` holds the objects every mapper shares."""
