"""The scope rules where they live (issue 20): which channels are a store's till channels, and who may file
a sale where. The HTTP matrix in ``tests/integration/test_api_scopes.py`` runs them on both databases."""

from __future__ import annotations

import pytest

from seamline.domain.errors import Forbidden
from seamline.service.principal import Principal, is_till_channel, require_till_channel


def token(*scopes: str) -> Principal:
    return Principal("t", "test", frozenset(scopes))


@pytest.mark.parametrize(
    ("channel", "kind", "sources", "stores", "till"),
    [
        ("pos:STORE-1", None, [], ["STORE-1"], True),  # the store's own, registered or not
        ("pos:STORE-1", None, [], ["STORE-2"], False),
        ("soho-square", "pos", ["STORE-1"], ["STORE-1"], True),
        ("all-tills", "pos", ["STORE-1", "STORE-2"], ["STORE-1", "STORE-2"], True),
        ("soho-square", "pos", ["STORE-1"], ["STORE-1", "STORE-2"], False),  # every store the call names
        ("web", "shopify", ["WH", "STORE-1"], ["STORE-1"], False),  # ships from the store, still not a till's
        ("zalando", "mirakl", ["STORE-1"], ["STORE-1"], False),
        ("unknown", None, [], ["STORE-1"], False),
    ],
)
def test_a_till_channel_is_the_stores_own_or_a_pos_channel_sourcing_it(
    channel: str, kind: str | None, sources: list[str], stores: list[str], till: bool
) -> None:
    assert is_till_channel(channel, kind, sources, stores) is till


def test_a_hold_under_a_channel_that_is_not_a_till_channel_is_forbidden() -> None:
    require_till_channel("soho-square", "pos", ["STORE-1"], ["STORE-1"])
    with pytest.raises(Forbidden) as refused:
        require_till_channel("web", "shopify", ["STORE-1"], ["STORE-1"])
    assert refused.value.code == "insufficient-scope"


@pytest.mark.parametrize(
    ("scopes", "channel", "till", "allowed"),
    [
        (("admin",), "web", False, True),
        (("location:STORE-1",), None, True, True),
        (("location:STORE-2",), None, True, False),
        (("location:STORE-1",), "soho-square", True, True),
        (("location:STORE-1",), "web", False, False),
        (("channel:soho-square",), "soho-square", True, True),
        (("channel:web",), "web", False, False),
        (("channel:soho-square",), None, True, False),
        (("read",), None, True, False),
    ],
)
def test_a_sale_at_store_1_is_filed_by_its_store_or_till_channel_only_under_a_till_channel(
    scopes: tuple[str, ...], channel: str | None, till: bool, allowed: bool
) -> None:
    assert token(*scopes).may_sell("STORE-1", channel, till_channel=till) is allowed
