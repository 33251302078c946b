"""pystatus: the Status messaging stack in Python (libp2p, Waku v2, Status chat)."""

__version__ = "0.1.0"
