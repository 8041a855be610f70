"""The Mirakl mapper: offers files in the modes we allow (never REPLACE), import status, error reports."""

from __future__ import annotations

from decimal import Decimal

import pytest

from seamline.channels.mirakl import mapper


def test_a_partial_update_file_carries_only_sku_and_quantity() -> None:
    data = mapper.offers_csv([mapper.OfferStock("OVS-001-NVY-M", 4), mapper.OfferStock("OVS-001-NVY-L", 0)])
    assert data.decode() == "sku;quantity\nOVS-001-NVY-M;4\nOVS-001-NVY-L;0\n"
    header, rows = mapper.read_offers_csv(data)
    assert header == ["sku", "quantity"]
    assert rows[1] == {"sku": "OVS-001-NVY-L", "quantity": "0"}


def test_a_normal_file_needs_the_whole_offer_and_replace_is_never_written() -> None:
    full = mapper.OfferStock("OVS-001-NVY-M", 4, "4006381333931", "EAN", Decimal("89"))
    assert mapper.offers_csv([full], mode="NORMAL").decode().splitlines() == [
        "sku;product-id;product-id-type;price;quantity;state;update-delete",
        "OVS-001-NVY-M;4006381333931;EAN;89.00;4;11;update",
    ]
    with pytest.raises(ValueError, match="NORMAL import row needs"):
        mapper.offers_csv([mapper.OfferStock("X", 1)], mode="NORMAL")
    with pytest.raises(ValueError, match="REPLACE"):
        mapper.offers_csv([full], mode="REPLACE")
    with pytest.raises(ValueError, match="whole number"):
        mapper.offers_csv([mapper.OfferStock("X", -1)])


def test_import_status_and_error_report_are_read_with_their_counts_and_reasons() -> None:
    status = mapper.parse_import_status(
        {
            "import_id": 2001,
            "status": "COMPLETE",
            "lines_read": 3,
            "lines_in_success": 2,
            "lines_in_error": 1,
            "has_error_report": True,
        }
    )
    assert status.finished
    assert (status.lines_in_success, status.lines_in_error) == (2, 1)
    assert not mapper.parse_import_status({"import_id": 1, "status": "RUNNING"}).finished
    report = mapper.parse_error_report(
        b"sku;quantity;error-line;error-message\nGHOST;3;2;The offer with sku 'GHOST' does not exist\n"
    )
    assert report == [mapper.ErrorLine(2, "GHOST", "The offer with sku 'GHOST' does not exist")]
    with pytest.raises(mapper.MappingError):
        mapper.parse_error_report(b"sku;quantity\nA;1\n")
    with pytest.raises(mapper.MappingError):
        mapper.parse_import_status({"status": "COMPLETE"})
