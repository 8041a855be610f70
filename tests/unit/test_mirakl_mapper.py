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


def _or11_order(**extra: object) -> dict[str, object]:
    return {
        "order_id": "ZL-1-A",
        "order_state": "WAITING_ACCEPTANCE",
        "currency_iso_code": "EUR",
        "created_date": "2026-11-27T08:00:00Z",
        "last_updated_date": "2026-11-27T08:05:00Z",
        "customer": {"customer_id": "C-1", "firstname": "Ada", "lastname": "Lovelace"},
        "order_lines": [
            {
                "order_line_id": "ZL-1-A-1",
                "order_line_state": "WAITING_ACCEPTANCE",
                "offer_sku": "OVS-001-NVY-M",
                "quantity": 2,
                "price": 178.0,
                "refunds": [{"id": "RF-1", "quantity": 1, "amount": 89.0}],
            }
        ],
        **extra,
    }


def test_an_or11_order_is_read_with_its_lines_unit_price_refunds_and_customer() -> None:
    order = mapper.parse_order(_or11_order())
    assert (order.order_id, order.state, order.currency, order.customer_name) == (
        "ZL-1-A",
        "WAITING_ACCEPTANCE",
        "EUR",
        "Ada Lovelace",
    )
    [line] = order.lines
    assert (line.line_id, line.offer_sku, line.qty, line.unit_price, line.refunded, line.live) == (
        "ZL-1-A-1",
        "OVS-001-NVY-M",
        2,
        Decimal("89"),
        1,
        True,
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"order_lines": []}, "order_lines is required"),
        ({"currency_iso_code": None}, "currency_iso_code"),
        ({"last_updated_date": "yesterday"}, "ISO 8601"),
        ({"order_lines": [{"order_line_id": "L1", "offer_sku": "X", "quantity": 1.5}]}, "whole number"),
    ],
)
def test_an_or11_order_that_is_not_the_documented_shape_is_refused_with_the_reason(
    change: dict[str, object], message: str
) -> None:
    with pytest.raises(mapper.MappingError, match=message):
        mapper.parse_order(_or11_order(**change))
