"""A style's content: what a storefront or marketplace shows beside the numbers (issue 21).

A description, images (each a URL with its order and alt text), care instructions and the composition, and
per-channel overrides where a channel needs its own words (a marketplace's title rules, a shorter
description). Pure: validated here, stored by ``store.catalog_repo``, published by each channel's mapper
through ``for_channel``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from seamline.domain.errors import FieldError

MAX_DESCRIPTION = 20_000
MAX_TITLE = 255
MAX_IMAGES = 50
MAX_ALT = 512
MAX_URL = 2_000


@dataclass(frozen=True)
class Image:
    url: str
    alt: str | None = None
    #: 1 is the main image; images are shown in this order.
    position: int = 1


@dataclass(frozen=True)
class Fibre:
    name: str
    percent: Decimal


@dataclass(frozen=True)
class ChannelWords:
    """A channel's own words for the style; what is None falls back to the master's."""

    title: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class StyleContent:
    description: str | None = None
    images: tuple[Image, ...] = ()
    care: str | None = None
    composition: tuple[Fibre, ...] = ()
    #: Channel code → its own words.
    overrides: Mapping[str, ChannelWords] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return self == StyleContent()

    def for_channel(self, channel: str | None, name: str) -> PublishedContent:
        """What ``channel`` shows: its override's title and description over the master's (``name`` is the
        style's name), images in order."""
        words = self.overrides.get(channel) if channel is not None else None
        return PublishedContent(
            title=(words.title if words and words.title else name),
            description=(words.description if words and words.description else self.description),
            images=tuple(sorted(self.images, key=lambda i: i.position)),
            care=self.care,
            composition=self.composition,
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "images": [{"url": i.url, "alt": i.alt, "position": i.position} for i in self.images],
            "care": self.care,
            "composition": [{"fibre": f.name, "percent": str(f.percent)} for f in self.composition],
            "overrides": {
                code: {"title": w.title, "description": w.description} for code, w in sorted(self.overrides.items())
            },
        }


@dataclass(frozen=True)
class PublishedContent:
    title: str
    description: str | None
    images: tuple[Image, ...]
    care: str | None
    composition: tuple[Fibre, ...]

    def composition_text(self) -> str | None:
        """``95% cotton, 5% elastane`` (None without a composition)."""
        if not self.composition:
            return None
        return ", ".join(f"{_percent(f.percent)}% {f.name}" for f in self.composition)


def _percent(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _text(raw: Mapping[str, Any], key: str, path: str, limit: int, errors: list[FieldError]) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        errors.append(FieldError(f"{path}.{key}", "must be text"))
        return None
    value = value.strip()
    if len(value) > limit:
        errors.append(FieldError(f"{path}.{key}", f"must be at most {limit} characters"))
        return None
    return value or None


def _url_ok(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "https" and bool(parts.hostname) and len(url) <= MAX_URL


def build_content(raw: Mapping[str, Any] | None, path: str = "content") -> tuple[StyleContent, list[FieldError]]:
    """Validate ``raw`` (the API's or the import's ``content``) into a ``StyleContent``; answers the errors
    found instead of raising, so the style's other errors are reported with them."""
    errors: list[FieldError] = []
    if raw is None:
        return StyleContent(), errors
    if not isinstance(raw, Mapping):
        return StyleContent(), [FieldError(path, "must be an object")]
    unknown = sorted(set(raw) - {"description", "images", "care", "composition", "overrides"})
    for key in unknown:
        errors.append(FieldError(f"{path}.{key}", "is not a content field"))
    description = _text(raw, "description", path, MAX_DESCRIPTION, errors)
    care = _text(raw, "care", path, 2_000, errors)

    images: list[Image] = []
    raw_images = raw.get("images") or []
    if not isinstance(raw_images, list):
        errors.append(FieldError(f"{path}.images", "must be a list"))
        raw_images = []
    if len(raw_images) > MAX_IMAGES:
        errors.append(FieldError(f"{path}.images", f"at most {MAX_IMAGES} images"))
    for i, entry in enumerate(raw_images[:MAX_IMAGES]):
        here = f"{path}.images[{i}]"
        if not isinstance(entry, Mapping) or not isinstance(entry.get("url"), str):
            errors.append(FieldError(f"{here}.url", "is required"))
            continue
        url = str(entry["url"]).strip()
        if not _url_ok(url):
            errors.append(FieldError(f"{here}.url", "must be an https URL"))
            continue
        alt = _text(entry, "alt", here, MAX_ALT, errors)
        position = entry.get("position")
        if position is None:
            position = i + 1
        if not isinstance(position, int) or isinstance(position, bool) or position < 1:
            errors.append(FieldError(f"{here}.position", "must be a whole number from 1"))
            continue
        images.append(Image(url, alt, position))
    positions = [i.position for i in images]
    if len(set(positions)) != len(positions):
        errors.append(FieldError(f"{path}.images", "two images share a position"))
    if len({i.url for i in images}) != len(images):
        errors.append(FieldError(f"{path}.images", "the same image twice"))

    composition: list[Fibre] = []
    raw_fibres = raw.get("composition") or []
    if not isinstance(raw_fibres, list):
        errors.append(FieldError(f"{path}.composition", "must be a list"))
        raw_fibres = []
    for i, entry in enumerate(raw_fibres):
        here = f"{path}.composition[{i}]"
        name = entry.get("fibre") if isinstance(entry, Mapping) else None
        if not isinstance(name, str) or not name.strip():
            errors.append(FieldError(f"{here}.fibre", "is required"))
            continue
        try:
            percent = Decimal(str(entry.get("percent")))
        except InvalidOperation:
            errors.append(FieldError(f"{here}.percent", "must be a number"))
            continue
        if not percent.is_finite() or not Decimal(0) < percent <= Decimal(100):
            errors.append(FieldError(f"{here}.percent", "must be more than 0 and at most 100"))
            continue
        composition.append(Fibre(name.strip().lower(), percent))
    if composition and sum((f.percent for f in composition), Decimal(0)) != Decimal(100):
        total = _percent(sum((f.percent for f in composition), Decimal(0)))
        errors.append(FieldError(f"{path}.composition", f"must add up to 100%, not {total}%"))
    if len({f.name for f in composition}) != len(composition):
        errors.append(FieldError(f"{path}.composition", "names a fibre twice"))

    overrides: dict[str, ChannelWords] = {}
    raw_overrides = raw.get("overrides") or {}
    if not isinstance(raw_overrides, Mapping):
        errors.append(FieldError(f"{path}.overrides", "must be an object of channel code → words"))
        raw_overrides = {}
    for channel, words in sorted(raw_overrides.items()):
        here = f"{path}.overrides.{channel}"
        if not isinstance(words, Mapping):
            errors.append(FieldError(here, "must be an object with title and/or description"))
            continue
        for key in sorted(set(words) - {"title", "description"}):
            errors.append(FieldError(f"{here}.{key}", "is not a channel's words field"))
        title = _text(words, "title", here, MAX_TITLE, errors)
        text = _text(words, "description", here, MAX_DESCRIPTION, errors)
        if title is not None or text is not None:
            overrides[str(channel)] = ChannelWords(title, text)

    content = StyleContent(description, tuple(images), care, tuple(composition), overrides)
    return content, errors


def content_from_json(value: Any) -> StyleContent:
    """The stored form back (``as_json``); trusted: it was validated when written."""
    if not value:
        return StyleContent()
    content, _ = build_content(value)
    return content
