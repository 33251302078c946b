"""A node's chat transport as a light client: its ``--filternode``, ``--lightpushnode`` and
``--storenode`` service nodes (``--chat --relay=false``, or ``chat ... --light``)."""

from __future__ import annotations

from pystatus.chat.light import LightConfig, LightTransport
from pystatus.errors import ConfigError
from pystatus.node.config import LightChatConfig
from pystatus.node.node import WakuNode


def light_transport(
    node: WakuNode, light: LightChatConfig | None = None, config: LightConfig | None = None
) -> LightTransport:
    """A :class:`LightTransport` over ``node``'s host and light clients, to the service nodes
    of ``light`` (default: the node's ``light_chat``); raises :class:`ConfigError` when there
    are none. Start it (or hand it to a Messenger, which does) after the node."""
    light = light or node.config.light_chat
    if light is None:
        raise ConfigError("no service nodes for a light-client chat (--filternode ...)")
    return LightTransport(
        node.host,
        filter_client=node.filter_client,
        lightpush_client=node.lightpush_client,
        store_client=node.store_client,
        filternodes=light.filternodes,
        lightpushnodes=light.lightpushnodes,
        storenodes=light.storenodes,
        config=config,
    )
