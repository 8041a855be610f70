"""How a channel of this kind is wired from its configuration (see ``seamline.channels.wiring``)."""

from __future__ import annotations

from seamline.channels.wiring import ChannelConfig, Wired, WiringContext


def build(context: WiringContext, config: ChannelConfig) -> Wired | None:
    return None  # to be filled in by the connector's issue
