"""Customer match keys and matching rules (DESIGN 6)."""

from __future__ import annotations

import pytest

from seamline.customers import CustomerRecord, match_customer, normalise_email, normalise_phone
from seamline.domain.errors import InvalidInput


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("Ada@Example.COM", "ada@example.com"),
        ("  ADA.Lovelace+shop@Mail.Example.co.uk ", "ada.lovelace+shop@mail.example.co.uk"),
        ("Straße@Example.de", "strasse@example.de"),
    ],
)
def test_email_domain_is_lowercased_and_local_part_case_folded(raw: str, key: str) -> None:
    assert normalise_email(raw) == key


@pytest.mark.parametrize(
    "raw", ["ada", "ada@", "@example.com", "ada@example", "a da@example.com", "ada@@example.com", "ada@-x.com"]
)
def test_invalid_emails_are_refused(raw: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        normalise_email(raw)
    assert caught.value.code == "invalid-email"
    assert caught.value.errors[0].field == "customer.email"


def test_phone_numbers_become_e164() -> None:
    assert normalise_phone("+44 7911 123456") == "+447911123456"
    assert normalise_phone("07911 123456", "gb") == "+447911123456"
    assert normalise_phone("06 12 34 56 78", "FR") == "+33612345678"


@pytest.mark.parametrize(("raw", "region"), [("07911 123456", None), ("+44 12", None), ("call me", "GB")])
def test_invalid_phones_are_refused(raw: str, region: str | None) -> None:
    with pytest.raises(InvalidInput) as caught:
        normalise_phone(raw, region)
    assert caught.value.code == "invalid-phone"


ADA = CustomerRecord("cus_ada", "ada@example.com", "+447911123456")
BO = CustomerRecord("cus_bo", None, "+447911123456")


def test_email_match_wins_and_fills_a_missing_phone() -> None:
    match = match_customer("ada@example.com", None, ADA, [])
    assert (match.customer_id, match.create, match.conflicts) == ("cus_ada", False, [])
    no_phone = CustomerRecord("cus_ada", "ada@example.com", None)
    assert match_customer("ada@example.com", "+33612345678", no_phone, []).set_phone == "+33612345678"


def test_a_phone_only_contact_attaches_by_phone_or_creates() -> None:
    assert match_customer(None, "+447911123456", None, [ADA]).customer_id == "cus_ada"
    created = match_customer(None, "+33612345678", None, [])
    assert (created.customer_id, created.create, created.set_phone) == (None, True, "+33612345678")


def test_a_new_email_joins_a_phone_only_customer() -> None:
    match = match_customer("bo@example.com", "+447911123456", None, [BO])
    assert (match.customer_id, match.set_email, match.conflicts) == ("cus_bo", "bo@example.com", [])


def test_a_phone_never_merges_two_different_emails() -> None:
    match = match_customer("cy@example.com", "+447911123456", None, [ADA])
    assert (match.customer_id, match.create, match.set_email) == (None, True, "cy@example.com")
    assert [(c.kind, c.other_customer_id) for c in match.conflicts] == [("phone-of-another-customer", "cus_ada")]
    other = CustomerRecord("cus_cy", "cy@example.com", None)
    existing = match_customer("cy@example.com", "+447911123456", other, [ADA])
    assert existing.customer_id == "cus_cy"
    assert existing.set_phone is None
    assert [c.other_customer_id for c in existing.conflicts] == ["cus_ada"]


def test_no_key_no_customer() -> None:
    match = match_customer(None, None, None, [])
    assert (match.customer_id, match.create) == (None, False)
