"""ENR auto-update (nwaku's ``--discv5-enr-auto-update``), sans-IO: our record follows the
address peers see us at (discv5-theory.md, "Maintaining The Local Node Record": the mirrored
envelope address in PONG).

:class:`EndpointVote` keeps one vote per peer (the latest PONG's recipient-ip/port), forgets
votes older than ``ttl`` seconds (monotonic clock), holds at most ``max_voters`` (oldest
dropped), and names an endpoint once ``threshold`` distinct peers agree on it and none has
more votes. :func:`with_endpoint` re-signs a record with that ip/udp and the next seq, every
other field kept.
"""

from __future__ import annotations

import ipaddress
from collections import Counter, OrderedDict

from pystatus.p2p.crypto.keys import Secp256k1PrivateKey
from pystatus.waku import rlp
from pystatus.waku.discv5.errors import Discv5LocalError
from pystatus.waku.enr import Enr, keccak256
from pystatus.waku.errors import InvalidEnr

Endpoint = tuple[str, int]


class EndpointVote:
    def __init__(self, *, threshold: int = 3, max_voters: int = 256, ttl: float = 300.0) -> None:
        self.threshold = threshold
        self.max_voters = max_voters
        self.ttl = ttl
        self._votes: OrderedDict[bytes, tuple[Endpoint, float]] = OrderedDict()

    def insert(self, node_id: bytes, endpoint: Endpoint, now: float) -> None:
        self._votes.pop(node_id, None)
        self._votes[node_id] = (endpoint, now)
        while len(self._votes) > self.max_voters:
            self._votes.popitem(last=False)

    def majority(self, now: float) -> Endpoint | None:
        """The endpoint at least ``threshold`` live votes name, with more votes than any other."""
        while self._votes:
            oldest = next(iter(self._votes.values()))
            if now - oldest[1] <= self.ttl:
                break
            self._votes.popitem(last=False)
        ranked = Counter(endpoint for endpoint, _ in self._votes.values()).most_common(2)
        if not ranked or ranked[0][1] < self.threshold:
            return None
        if len(ranked) > 1 and ranked[1][1] == ranked[0][1]:
            return None
        return ranked[0][0]


def record_endpoints(record: Enr) -> set[Endpoint]:
    """The (ip, udp) and (ip6, udp6) endpoints a record names."""
    found: set[Endpoint] = set()
    try:
        if record.ip is not None and record.udp is not None:
            found.add((record.ip, record.udp))
        udp6 = record.get("udp6")
        if record.ip6 is not None and udp6 is not None:
            found.add((record.ip6, rlp.decode_uint(udp6)))
    except (InvalidEnr, ValueError):
        pass
    return found


def record_with_endpoint(record: Enr, key: Secp256k1PrivateKey, endpoint: Endpoint) -> Enr:
    """``record`` with ip/udp (or ip6/udp6) set to ``endpoint``, seq + 1, signed by ``key``.

    Raises :class:`Discv5LocalError` if ``key`` is not the record's or the result is invalid.
    """
    if record.get("secp256k1") != key.public_key.to_bytes():
        raise Discv5LocalError("the record is not signed by this key")
    ip, port = endpoint
    address = ipaddress.ip_address(ip)
    ip_key, udp_key = ("ip", "udp") if address.version == 4 else ("ip6", "udp6")
    fields = dict(record.pairs)
    fields[ip_key] = address.packed
    fields[udp_key] = rlp.encode_uint(port)
    pairs = tuple(sorted(fields.items()))
    seq = record.seq + 1
    content: list[rlp.Item] = [rlp.encode_uint(seq)]
    for name, value in pairs:
        content += [name.encode(), value]
    # EIP-778 "v4": the signature covers rlp([seq, k, v, ...]), 64 bytes r || s.
    signature = key.sign_recoverable(keccak256(rlp.encode(content)))[:64]
    updated = Enr(seq, pairs, signature)
    try:
        return Enr.from_bytes(updated.to_bytes())
    except InvalidEnr as exc:
        raise Discv5LocalError(f"updated record is invalid: {exc}") from None
