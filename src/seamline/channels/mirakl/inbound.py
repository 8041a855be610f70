"""Mirakl in: nothing yet. Offer stock only goes out (``connector``); OF02/OF03 answers are read by the
client. Orders (OR11 ``GET /api/orders``, accepted with OR21) join here when marketplace order intake is
extended to Mirakl operators; ``OfferStock`` lines that Mirakl refuses come back through the error report."""
