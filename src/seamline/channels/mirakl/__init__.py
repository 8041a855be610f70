"""The Mirakl connector (issue 7): ``mapper`` (offers CSV out, import status and error report in),
``client`` (OF01/OF02/OF03 over httpx; no OF24), ``connector`` (the availability subscriber and the import
cycle). Mirakl pushes nothing we take in here: orders (OR11) join when the order flow needs them."""
