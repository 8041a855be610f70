"""The Mirakl connector (issues 7, 17, 21): ``mapper`` (offers CSV out, import status and error report and
OR11 orders in), ``commerce`` (an order's money as the operator computed it, and the slices a cancellation or
a refund sends back), ``listings`` (listings from the product master in the operator's model), ``client``
(the Seller API over httpx; no OF24), ``connector`` (offer stock: the availability subscriber and the import
cycle), ``catalog`` (listings from the master: OF01 with products), ``orders`` (OR11 pull, OR21, shipments,
OR30 line cancellations, OR28 refunds, OR29)."""
