"""What the host knows of peers: addresses, keys and what identify told us. Bounded."""

from __future__ import annotations

import collections
from dataclasses import dataclass, field

from pystatus.p2p.crypto.keys import PublicKey
from pystatus.p2p.identify import IdentifyInfo
from pystatus.p2p.multiaddr import Multiaddr
from pystatus.p2p.peer_id import PeerId

MAX_ADDRS_PER_PEER = 16


@dataclass(slots=True)
class PeerRecord:
    peer_id: PeerId
    addrs: list[Multiaddr] = field(default_factory=list)
    protocols: tuple[str, ...] = ()
    public_key: PublicKey | None = None
    agent_version: str | None = None
    protocol_version: str | None = None
    observed_addr: Multiaddr | None = None
    identified: bool = False


class PeerStore:
    """Peer records, least recently touched evicted first past ``max_peers``."""

    def __init__(self, max_peers: int = 1000) -> None:
        self._max_peers = max_peers
        self._records: collections.OrderedDict[PeerId, PeerRecord] = collections.OrderedDict()

    def __len__(self) -> int:
        return len(self._records)

    def __contains__(self, peer: object) -> bool:
        return peer in self._records

    def get(self, peer: PeerId) -> PeerRecord | None:
        return self._records.get(peer)

    def peers(self) -> list[PeerId]:
        return list(self._records)

    def record(self, peer: PeerId) -> PeerRecord:
        record = self._records.get(peer)
        if record is None:
            record = PeerRecord(peer)
            self._records[peer] = record
            while len(self._records) > self._max_peers:
                self._records.popitem(last=False)
        else:
            self._records.move_to_end(peer)
        return record

    def add_addrs(self, peer: PeerId, addrs: list[Multiaddr]) -> None:
        record = self.record(peer)
        for addr in addrs:
            bare = addr.decapsulate_p2p()
            if bare not in record.addrs:
                record.addrs.insert(0, bare)
        del record.addrs[MAX_ADDRS_PER_PEER:]

    def update_from_identify(self, peer: PeerId, info: IdentifyInfo) -> None:
        record = self.record(peer)
        record.protocols = info.protocols
        record.agent_version = info.agent_version
        record.protocol_version = info.protocol_version
        record.observed_addr = info.observed_addr
        if info.public_key is not None:
            record.public_key = info.public_key
        record.identified = True
        self.add_addrs(peer, list(info.listen_addrs))

    def remove(self, peer: PeerId) -> None:
        self._records.pop(peer, None)
