"""The one error hierarchy of pystatus.

Every error pystatus raises derives from :class:`PystatusError`. Each layer has its own root
(``P2PError``, ``WakuError``, ...), and where a layer speaks a protocol it splits its
``ProtocolError`` into a *local* kind (we were asked to do something the protocol forbids) and
a *remote* kind (the peer sent something the protocol forbids). Third-party exceptions are
translated at the layer's edge (``raise ... from exc``) so callers catch only these.
"""

from __future__ import annotations


class PystatusError(Exception):
    """Root of every error pystatus raises."""


class ConfigError(PystatusError):
    """A configuration value is missing or invalid."""


class P2PError(PystatusError):
    """Root of the p2p (libp2p subset) layer."""


class WakuError(PystatusError):
    """Root of the Waku v2 layer."""


class ArchiveError(PystatusError):
    """Root of the message archive layer."""


class ChatError(PystatusError):
    """Root of the Status chat layer."""


class NodeError(PystatusError):
    """Root of the node composition layer."""
