"""A realistic apparel catalog for the demo: styles x colours x sizes, GTINs under GS1's example company
prefix, and ratio prepacks for the wholesale styles."""

from __future__ import annotations

import random
from dataclasses import dataclass

from stdnum import ean

from seamline.catalog import StyleDraft

GS1_EXAMPLE_PREFIX = "0614141"  # GS1's documentation prefix: never a real brand's

SCALES = {
    "alpha": ["XS", "S", "M", "L", "XL", "XXL"],
    "waist": ["28", "30", "32", "34", "36", "38"],
    "dress": ["6", "8", "10", "12", "14", "16"],
}
COLOURS = [
    ("NVY", "Navy"),
    ("BLK", "Black"),
    ("OLV", "Olive"),
    ("ECR", "Ecru"),
    ("RST", "Rust"),
    ("SKY", "Sky blue"),
    ("CHR", "Charcoal"),
    ("SND", "Sand"),
    ("FOR", "Forest"),
    ("BRG", "Burgundy"),
]
STYLES = [
    ("OVS", "Overshirt", "shirts", "alpha"),
    ("OXF", "Oxford shirt", "shirts", "alpha"),
    ("TEE", "Heavyweight tee", "tees", "alpha"),
    ("LST", "Long-sleeve tee", "tees", "alpha"),
    ("HOD", "Loopback hoodie", "sweats", "alpha"),
    ("CRW", "Crewneck sweat", "sweats", "alpha"),
    ("MRN", "Merino crew", "knitwear", "alpha"),
    ("CRD", "Cardigan", "knitwear", "alpha"),
    ("SLJ", "Slim jean", "denim", "waist"),
    ("STJ", "Straight jean", "denim", "waist"),
    ("CHN", "Chino", "trousers", "waist"),
    ("CRG", "Cargo trouser", "trousers", "waist"),
    ("SLD", "Slip dress", "dresses", "dress"),
    ("WRD", "Wrap dress", "dresses", "dress"),
    ("SHD", "Shirt dress", "dresses", "dress"),
    ("CHJ", "Chore jacket", "outerwear", "alpha"),
    ("PFR", "Puffer", "outerwear", "alpha"),
    ("TRC", "Trench coat", "outerwear", "alpha"),
    ("PLO", "Polo", "shirts", "alpha"),
    ("SHT", "Short", "shorts", "waist"),
    ("SKT", "Midi skirt", "skirts", "dress"),
    ("BLZ", "Blazer", "tailoring", "alpha"),
    ("TRS", "Tailored trouser", "tailoring", "waist"),
    ("VST", "Fleece vest", "outerwear", "alpha"),
]
RETAIL = {
    "shirts": 79,
    "tees": 35,
    "sweats": 89,
    "knitwear": 129,
    "denim": 119,
    "trousers": 99,
    "dresses": 139,
    "outerwear": 249,
    "shorts": 59,
    "skirts": 95,
    "tailoring": 229,
}


@dataclass(frozen=True)
class SampleCatalog:
    drafts: list[StyleDraft]
    hot_skus: list[str]
    prepack_skus: list[str]

    @property
    def unit_skus(self) -> list[str]:
        return [v["sku"] for d in self.drafts for v in d.variants]


def gtin13(serial: int) -> str:
    body = f"{GS1_EXAMPLE_PREFIX}{serial:05d}"
    return body + ean.calc_check_digit(body)


def sample_catalog(seed: int = 7, styles: int = 24, season: str = "SS27") -> SampleCatalog:
    rng = random.Random(seed)
    drafts: list[StyleDraft] = []
    serial = 0
    prepacks: list[str] = []
    for n, (prefix, name, category, scale_name) in enumerate(STYLES[:styles], start=1):
        code = f"{prefix}-{n:03d}"
        scale = SCALES[scale_name]
        colours = rng.sample(COLOURS, rng.randint(2, 4))
        variants = []
        for colour, _ in colours:
            for size in scale:
                serial += 1
                variants.append(
                    {"sku": f"{code}-{colour}-{size}", "colour": colour, "size": size, "gtin": gtin13(serial)}
                )
        retail = RETAIL[category]
        draft_prepacks = []
        if n % 4 == 0:  # wholesale styles ship in 1-2-2-1 ratio packs over the middle sizes
            colour = colours[0][0]
            middle = scale[1:5]
            serial += 1
            pack_sku = f"{code}-{colour}-PK6"
            draft_prepacks.append(
                {
                    "sku": pack_sku,
                    "gtin": gtin13(serial),
                    "components": [
                        {"sku": f"{code}-{colour}-{size}", "units": units}
                        for size, units in zip(middle, (1, 2, 2, 1), strict=True)
                    ],
                }
            )
            prepacks.append(pack_sku)
        drafts.append(
            StyleDraft(
                code=code,
                name=f"{colours[0][1]} {name.lower()}" if n == 1 else name,
                season=season,
                category=category,
                size_scale=scale,
                colours=[{"code": c, "name": cn} for c, cn in colours],
                variants=variants,
                prepacks=draft_prepacks,
                prices=[
                    {"list": "retail", "currency": "EUR", "amount": f"{retail}.00"},
                    {"list": "wholesale", "currency": "EUR", "amount": f"{retail * 0.42:.2f}"},
                ],
            )
        )
    first = drafts[0]
    hot = [v["sku"] for v in first.variants if v["colour"] == first.colours[0]["code"] and v["size"] in ("S", "M", "L")]
    return SampleCatalog(drafts, hot, prepacks)
