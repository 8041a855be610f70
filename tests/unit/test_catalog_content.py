"""A style's content (issue 21): validated where it lives, and what each channel is shown."""

from __future__ import annotations

from decimal import Decimal

import pytest

from seamline.catalog.content import ChannelWords, Image, build_content, content_from_json
from seamline.channels.shopify.mapper import description_html

GOOD = {
    "description": "A boxy overshirt in brushed cotton.\n\nTwo chest pockets.",
    "images": [
        {"url": "https://cdn.example.com/ovs-back.jpg", "alt": "Back", "position": 2},
        {"url": "https://cdn.example.com/ovs-front.jpg", "alt": "Front", "position": 1},
    ],
    "care": "Wash at 30 °C",
    "composition": [{"fibre": "Cotton", "percent": "95"}, {"fibre": "elastane", "percent": "5"}],
    "overrides": {"zalando": {"title": "Overshirt - navy"}},
}


def test_good_content_is_kept_and_round_trips_through_its_stored_form() -> None:
    content, errors = build_content(GOOD)
    assert errors == []
    assert content.overrides == {"zalando": ChannelWords("Overshirt - navy", None)}
    assert [f.name for f in content.composition] == ["cotton", "elastane"]
    assert content_from_json(content.as_json()) == content


def test_a_channel_sees_its_own_title_and_the_masters_description_images_in_order() -> None:
    content, _ = build_content(GOOD)
    zalando = content.for_channel("zalando", "Navy overshirt")
    shop = content.for_channel("shop", "Navy overshirt")
    assert (zalando.title, shop.title) == ("Overshirt - navy", "Navy overshirt")
    assert zalando.description == shop.description == GOOD["description"]
    assert [i.alt for i in shop.images] == ["Front", "Back"]
    assert shop.composition_text() == "95% cotton, 5% elastane"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"images": [{"url": "http://cdn.example.com/a.jpg"}]}, "content.images[0].url", "https"),
        (
            {
                "images": [
                    {"url": "https://a.example/1.jpg", "position": 1},
                    {"url": "https://a.example/2.jpg", "position": 1},
                ]
            },
            "content.images",
            "position",
        ),
        ({"composition": [{"fibre": "cotton", "percent": "90"}]}, "content.composition", "100%"),
        ({"composition": [{"fibre": "cotton", "percent": "120"}]}, "content.composition[0].percent", "at most 100"),
        (
            {"composition": [{"fibre": "wool", "percent": "50"}, {"fibre": "Wool", "percent": "50"}]},
            "content.composition",
            "twice",
        ),
        ({"overrides": {"zalando": {"subtitle": "x"}}}, "content.overrides.zalando.subtitle", "not a channel"),
        ({"colour": "navy"}, "content.colour", "not a content field"),
    ],
)
def test_bad_content_names_its_field(change: dict[str, object], field: str, message: str) -> None:
    _, errors = build_content(change)
    assert any(e.field == field and message in e.message for e in errors), errors


def test_no_content_is_empty_and_a_blank_override_is_dropped() -> None:
    content, errors = build_content({"overrides": {"shop": {"title": "  "}}})
    assert errors == []
    assert content.empty
    assert build_content(None)[0].empty


def test_the_shopify_description_escapes_the_text_and_adds_care_and_composition() -> None:
    content, _ = build_content({**GOOD, "description": "Fits <true> to size & more"})
    shown = content.for_channel("shop", "x")
    assert description_html(shown) == (
        "<p>Fits &lt;true&gt; to size &amp; more</p>"
        "<p><strong>Care:</strong> Wash at 30 °C</p>"
        "<p><strong>Composition:</strong> 95% cotton, 5% elastane</p>"
    )
    assert shown.images[0] == Image("https://cdn.example.com/ovs-front.jpg", "Front", 1)
    assert sum(f.percent for f in shown.composition) == Decimal(100)
