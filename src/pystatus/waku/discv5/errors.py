"""Errors of discv5 (devp2p discv5-wire.md, v5.1), inside the waku layer's hierarchy."""

from __future__ import annotations

from pystatus.waku.errors import LocalWakuError, RemoteWakuError


class PacketError(RemoteWakuError):
    """A datagram or message from the network broke discv5-wire.md.

    ``reason`` is short and machine-readable, the label of ``waku_discv5_dropped_packets``:
    ``size``, ``header``, ``protocol``, ``flag``, ``authdata``, ``decrypt``, ``message``,
    ``record``, ``signature``, ``no_challenge``, ``unsolicited``, ``distance``, ``total``.
    Never carries key material.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


class Discv5LocalError(LocalWakuError):
    """We were asked for something discv5 cannot do (a record without endpoint, a full table)."""
