"""An inbound 856 read as inbound supply: items resolved by SKU or GTIN (GTIN-14 against the catalog's
shorter forms), units summed per SKU over cartons and orders, unknown items reported, never guessed."""

from __future__ import annotations

from datetime import date

from seamline.channels.threepl.documents import Accepted
from seamline.channels.threepl.mapper import PartnerProfile, read_856
from seamline.channels.threepl.supply import gtin_forms, supply_from_asn
from seamline.channels.threepl.x12 import Tolerance
from seamline.service.b2b import PortalLine
from tests.paths import FIXTURES

EDI = FIXTURES / "edi"


def test_the_walmart_856_fixture_becomes_asn_supply_for_the_items_we_know() -> None:
    outcome = read_856(
        (EDI / "x12_856_edifabric_walmart_sample.edi").read_bytes(),
        PartnerProfile(tolerate=frozenset({Tolerance.COUNTS})),
    )
    assert isinstance(outcome, Accepted)
    [notice] = outcome.document.documents
    supply = supply_from_asn(
        notice, location="WH", expected_on=None, skus={}, gtins={"00008815509183": "OVS-001-NVY-M"}
    )
    assert supply.document.reference == "01140824"
    assert supply.document.kind == "asn"
    assert supply.document.expected_on == date(2005, 10, 15), "no ship date in the notice: its issue date"
    assert supply.document.lines == [PortalLine("OVS-001-NVY-M", 8)], "4 in each of two orders' cartons"
    assert supply.unresolved == ("GTIN 00008815547321", "GTIN 00008815547321")


def test_a_gtin_14_is_looked_up_in_its_shorter_forms() -> None:
    assert gtin_forms("00008815509183") == ["00008815509183", "0008815509183", "008815509183"]
    assert gtin_forms("04006381333931") == ["04006381333931", "4006381333931"]
    assert gtin_forms("14006381333938") == ["14006381333938"]
