"""One customer across channels (DESIGN 6): match keys and the rules for attaching, never merging blindly."""

from seamline.customers.matching import CustomerRecord, Match, match_customer
from seamline.customers.normalise import normalise_email, normalise_phone

__all__ = ["CustomerRecord", "Match", "match_customer", "normalise_email", "normalise_phone"]
