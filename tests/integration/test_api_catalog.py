"""The product master over HTTP (PUT/GET /v1/styles, GET /v1/skus), on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
from typing import Any

from fastapi.testclient import TestClient

from seamline.service import Seamline
from tests.conftest import ONE_DATABASE, OVERSHIRT, receive, seed_world
from tests.integration.helpers import assert_problem, gtin13, tee_style


def overshirt(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(OVERSHIRT)
    body.update(changes)
    return body


def test_put_new_style_is_201_with_version_1_and_get_returns_the_same_definition(client: TestClient) -> None:
    created = client.put("/v1/styles/OVS-001", json=OVERSHIRT)
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["code"], body["name"], body["season"], body["version"]) == ("OVS-001", "Navy overshirt", "SS27", 1)
    assert body["size_scale"] == ["S", "M", "L", "XL"]
    assert body["colours"] == [{"code": "NVY", "name": "Navy"}, {"code": "OLV", "name": "Olive"}]
    assert [v["sku"] for v in body["variants"]] == [
        f"OVS-001-{c}-{s}" for c in ("NVY", "OLV") for s in ["S", "M", "L", "XL"]
    ]
    assert body["prices"] == [
        {"list": "retail", "currency": "EUR", "amount": "89.00"},
        {"list": "wholesale", "currency": "EUR", "amount": "38.00"},
    ]
    fetched = client.get("/v1/styles/OVS-001")
    assert fetched.status_code == 200
    assert fetched.json() == body


def test_identical_put_is_200_and_keeps_the_version(client: TestClient) -> None:
    assert client.put("/v1/styles/OVS-001", json=OVERSHIRT).status_code == 201
    again = client.put("/v1/styles/OVS-001", json=OVERSHIRT)
    assert again.status_code == 200, again.text
    assert again.json()["version"] == 1
    assert client.get("/v1/styles/OVS-001").json()["version"] == 1


def test_put_listing_the_same_definition_in_another_order_keeps_the_version(client: TestClient) -> None:
    assert client.put("/v1/styles/OVS-001", json=OVERSHIRT).status_code == 201
    shuffled = overshirt()
    shuffled["variants"].reverse()
    shuffled["prices"].reverse()
    shuffled["prepacks"][0]["components"].reverse()
    again = client.put("/v1/styles/OVS-001", json=shuffled)
    assert again.status_code == 200, again.text
    assert again.json()["version"] == 1, "order carries no meaning: nothing changed, nothing to publish"


def test_each_change_to_a_style_bumps_the_version_by_one(client: TestClient) -> None:
    assert client.put("/v1/styles/OVS-001", json=OVERSHIRT).json()["version"] == 1
    renamed = client.put("/v1/styles/OVS-001", json=overshirt(name="Navy overshirt, brushed"))
    assert renamed.status_code == 200
    assert renamed.json()["version"] == 2
    repriced = overshirt(name="Navy overshirt, brushed")
    repriced["prices"][0]["amount"] = "95.00"
    assert client.put("/v1/styles/OVS-001", json=repriced).json()["version"] == 3
    style = client.get("/v1/styles/OVS-001").json()
    assert (style["version"], style["name"]) == (3, "Navy overshirt, brushed")
    assert style["prices"][0] == {"list": "retail", "currency": "EUR", "amount": "95.00"}
    assert client.get("/v1/skus/OVS-001-NVY-M").json()["style"]["version"] == 3


def test_get_sku_gives_its_style_colour_size_and_gtin_as_gtin14(client: TestClient) -> None:
    body = overshirt()
    body["variants"][0]["gtin"] = "036000291452"  # a 12-digit UPC-A
    body["variants"][1]["gtin"] = "96385074"  # an EAN-8
    assert client.put("/v1/styles/OVS-001", json=body).status_code == 201
    sku = client.get("/v1/skus/OVS-001-NVY-L")
    assert sku.status_code == 200
    out = sku.json()
    assert out["sku"] == "OVS-001-NVY-L"
    assert out["kind"] == "variant"
    assert out["style"]["code"] == "OVS-001"
    assert out["style"]["name"] == "Navy overshirt"
    assert (out["colour"], out["size"]) == ("NVY", "L")
    assert out["gtin"] == "04000000000006"
    assert client.get("/v1/skus/OVS-001-NVY-S").json()["gtin"] == "00036000291452"
    assert client.get("/v1/skus/OVS-001-NVY-M").json()["gtin"] == "00000096385074"


def test_get_prepack_sku_lists_its_components_and_units(client: TestClient) -> None:
    assert client.put("/v1/styles/OVS-001", json=OVERSHIRT).status_code == 201
    pack = client.get("/v1/skus/OVS-001-NVY-PACK").json()
    assert pack["kind"] == "prepack"
    assert pack["gtin"] == "04000000000068"
    assert sorted((c["sku"], c["units"]) for c in pack["components"]) == [
        ("OVS-001-NVY-L", 2),
        ("OVS-001-NVY-M", 2),
        ("OVS-001-NVY-S", 1),
        ("OVS-001-NVY-XL", 1),
    ]
    style = client.get("/v1/styles/OVS-001").json()
    assert [(p["sku"], p["units"]) for p in style["prepacks"]] == [("OVS-001-NVY-PACK", 6)]


@ONE_DATABASE  # unit: test_catalog_rules, test_gtin
def test_put_style_with_a_bad_gtin_check_digit_is_422_naming_variants_i_gtin_and_writes_nothing(
    client: TestClient,
) -> None:
    body = overshirt()
    body["variants"][2]["gtin"] = "4006381333932"  # last digit should be 1
    response = client.put("/v1/styles/OVS-001", json=body)
    problem = assert_problem(response, 422, "validation-error", "variants[2].gtin")
    assert "check digit" in next(e["message"] for e in problem["errors"] if e["field"] == "variants[2].gtin")
    assert_problem(client.get("/v1/styles/OVS-001"), 404, "unknown-style")
    assert_problem(client.get("/v1/skus/OVS-001-NVY-S"), 404, "unknown-sku")


@ONE_DATABASE  # unit: test_gtin
def test_put_style_with_a_gtin_of_the_wrong_length_or_with_letters_is_422(client: TestClient) -> None:
    body = overshirt()
    body["variants"][0]["gtin"] = "12345"
    body["variants"][1]["gtin"] = "40063813339AB"
    response = client.put("/v1/styles/OVS-001", json=body)
    assert_problem(response, 422, "validation-error", "variants[0].gtin", "variants[1].gtin")
    assert client.get("/v1/styles/OVS-001").status_code == 404


@ONE_DATABASE  # unit: test_catalog_rules
def test_put_style_with_unknown_size_is_422_naming_the_variant_and_writes_nothing(client: TestClient) -> None:
    body = overshirt()
    body["variants"][5]["size"] = "XXL"
    response = client.put("/v1/styles/OVS-001", json=body)
    problem = assert_problem(response, 422, "validation-error", "variants[5].size")
    assert [e["field"] for e in problem["errors"]] == ["variants[5].size"]
    assert_problem(client.get("/v1/styles/OVS-001"), 404, "unknown-style")


def test_invalid_update_of_an_existing_style_is_422_and_leaves_the_stored_version_intact(client: TestClient) -> None:
    assert client.put("/v1/styles/OVS-001", json=OVERSHIRT).status_code == 201
    body = overshirt(name="Renamed")
    body["variants"][0]["size"] = "XXS"
    assert_problem(client.put("/v1/styles/OVS-001", json=body), 422, "validation-error", "variants[0].size")
    style = client.get("/v1/styles/OVS-001").json()
    assert (style["name"], style["version"], len(style["variants"])) == ("Navy overshirt", 1, 8)


@ONE_DATABASE  # unit: test_catalog_rules
def test_two_variants_of_one_style_sharing_a_gtin_is_422_on_the_second(client: TestClient) -> None:
    body = overshirt()
    body["variants"][3]["gtin"] = body["variants"][1]["gtin"]
    response = client.put("/v1/styles/OVS-001", json=body)
    assert_problem(response, 422, "validation-error", "variants[3].gtin")
    assert client.get("/v1/styles/OVS-001").status_code == 404


def test_put_style_reusing_a_gtin_of_another_style_is_422_and_writes_nothing(client: TestClient) -> None:
    assert client.put("/v1/styles/OVS-001", json=OVERSHIRT).status_code == 201
    tee = tee_style()
    taken = OVERSHIRT["variants"][1]["gtin"]  # OVS-001-NVY-M's
    tee["variants"][2]["gtin"] = taken
    response = client.put("/v1/styles/TEE-001", json=tee)
    problem = assert_problem(response, 422, "catalog-conflict", "variants[2].gtin")
    assert "OVS-001-NVY-M" in problem["errors"][0]["message"]
    assert_problem(client.get("/v1/styles/TEE-001"), 404, "unknown-style")
    for variant in tee["variants"]:
        assert_problem(client.get(f"/v1/skus/{variant['sku']}"), 404, "unknown-sku")
    assert client.get("/v1/skus/OVS-001-NVY-M").json()["gtin"] == "0" + taken


def test_put_style_with_a_prepack_gtin_of_another_style_is_422_naming_prepacks_i_gtin(client: TestClient) -> None:
    assert client.put("/v1/styles/OVS-001", json=OVERSHIRT).status_code == 201
    tee = tee_style()
    tee["prepacks"] = [
        {
            "sku": "TEE-001-PACK",
            "gtin": OVERSHIRT["variants"][0]["gtin"],
            "components": [{"sku": "TEE-001-BLK-S", "units": 2}],
        }
    ]
    response = client.put("/v1/styles/TEE-001", json=tee)
    assert_problem(response, 422, "catalog-conflict", "prepacks[0].gtin")
    assert client.get("/v1/styles/TEE-001").status_code == 404
    assert client.get("/v1/skus/TEE-001-PACK").status_code == 404


def test_put_style_with_a_prepack_sku_of_another_style_is_422_and_does_not_take_it_over(client: TestClient) -> None:
    assert client.put("/v1/styles/OVS-001", json=OVERSHIRT).status_code == 201
    tee = tee_style()
    tee["prepacks"] = [{"sku": "OVS-001-NVY-M", "components": [{"sku": "TEE-001-BLK-S", "units": 2}]}]
    response = client.put("/v1/styles/TEE-001", json=tee)
    assert_problem(response, 422, "catalog-conflict", "prepacks[0].sku")
    assert client.get("/v1/styles/TEE-001").status_code == 404
    sku = client.get("/v1/skus/OVS-001-NVY-M").json()
    assert (sku["kind"], sku["style"]["code"], sku["gtin"]) == ("variant", "OVS-001", "05012345678900")


def test_a_gtin_written_as_upc_clashes_with_the_same_gtin_written_as_ean13(client: TestClient) -> None:
    body = overshirt()
    body["variants"][0]["gtin"] = "0036000291452"  # EAN-13 form of UPC 036000291452
    assert client.put("/v1/styles/OVS-001", json=body).status_code == 201
    tee = tee_style()
    tee["variants"][0]["gtin"] = "036000291452"
    assert_problem(client.put("/v1/styles/TEE-001", json=tee), 422, "catalog-conflict", "variants[0].gtin")
    assert client.get("/v1/styles/TEE-001").status_code == 404


def test_put_style_claiming_a_sku_of_another_style_is_422_and_leaves_both_untouched(client: TestClient) -> None:
    assert client.put("/v1/styles/OVS-001", json=OVERSHIRT).status_code == 201
    tee = tee_style()
    tee["variants"][1]["sku"] = "OVS-001-OLV-S"
    response = client.put("/v1/styles/TEE-001", json=tee)
    assert_problem(response, 422, "catalog-conflict", "variants[1].sku")
    assert client.get("/v1/styles/TEE-001").status_code == 404
    sku = client.get("/v1/skus/OVS-001-OLV-S").json()
    assert (sku["style"]["code"], sku["colour"], sku["size"]) == ("OVS-001", "OLV", "S")


def test_dropping_a_variant_discontinues_it_and_removes_it_from_the_style(client: TestClient) -> None:
    seed_world(client)
    receive(client, "OVS-001-OLV-XL", 2)
    body = overshirt()
    body["variants"] = [v for v in body["variants"] if v["sku"] != "OVS-001-OLV-XL"]
    response = client.put("/v1/styles/OVS-001", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["version"] == 2
    style = client.get("/v1/styles/OVS-001").json()
    assert "OVS-001-OLV-XL" not in [v["sku"] for v in style["variants"]]
    assert len(style["variants"]) == 7
    sku = client.get("/v1/skus/OVS-001-OLV-XL")
    assert sku.status_code == 200, "a discontinued SKU is kept: movements reference it forever"
    assert sku.json()["status"] == "discontinued"
    web = client.get("/v1/availability/web", params={"style": "OVS-001"}).json()["items"]
    assert "OVS-001-OLV-XL" not in [i["sku"] for i in web]
    assert client.get("/v1/stock", params={"sku": "OVS-001-OLV-XL"}).json()["items"][0]["on_hand"] == 2


def test_a_dropped_variants_gtin_can_go_to_a_new_variant_of_the_same_style(client: TestClient) -> None:
    assert client.put("/v1/styles/OVS-001", json=OVERSHIRT).status_code == 201
    body = overshirt()
    freed = body["variants"][7]
    body["variants"][7] = {**freed, "sku": "OVS-001-OLV-XL2"}
    response = client.put("/v1/styles/OVS-001", json=body)
    assert response.status_code == 200, response.text
    assert client.get("/v1/skus/OVS-001-OLV-XL2").json()["gtin"] == "0" + freed["gtin"]
    assert client.get("/v1/skus/OVS-001-OLV-XL").json()["gtin"] is None


def test_get_unknown_style_or_sku_is_a_404_problem(client: TestClient) -> None:
    assert_problem(client.get("/v1/styles/NOPE-1"), 404, "unknown-style")
    assert_problem(client.get("/v1/skus/NOPE-1-BLK-M"), 404, "unknown-sku")


@ONE_DATABASE  # unit: test_catalog_rules
def test_put_style_with_an_unknown_colour_or_price_currency_is_422_naming_each_field(client: TestClient) -> None:
    body = overshirt()
    body["variants"][0]["colour"] = "RED"
    body["prices"][0]["currency"] = "eur"
    response = client.put("/v1/styles/OVS-001", json=body)
    assert_problem(response, 422, "validation-error", "variants[0].colour", "prices[0].currency")
    assert client.get("/v1/styles/OVS-001").status_code == 404


@ONE_DATABASE
def test_put_style_with_an_unknown_field_is_422_naming_it(client: TestClient) -> None:
    body = overshirt(colour_way="navy")
    assert_problem(client.put("/v1/styles/OVS-001", json=body), 422, "validation-error", "colour_way")
    body = overshirt()
    body["variants"][0]["barcode"] = gtin13("401234599999")
    assert_problem(client.put("/v1/styles/OVS-001", json=body), 422, "validation-error", "variants[0].barcode")
    assert client.get("/v1/styles/OVS-001").status_code == 404


def test_a_style_put_alone_writes_no_stock(client: TestClient, app: Seamline) -> None:
    assert client.put("/v1/styles/OVS-001", json=OVERSHIRT).status_code == 201
    assert client.get("/v1/stock", params={"style": "OVS-001"}).json() == {"items": []}
    assert app.reconcile().clean
