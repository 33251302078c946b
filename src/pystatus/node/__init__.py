"""The node: the p2p host and the Waku protocols composed and configured as one service."""

from pystatus.node.config import NodeConfig, RestConfig
from pystatus.node.node import WakuNode

__all__ = ["NodeConfig", "RestConfig", "WakuNode"]
