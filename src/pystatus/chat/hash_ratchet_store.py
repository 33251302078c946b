"""Where a :class:`~pystatus.chat.hash_ratchet.HashRatchet` keeps group keys: the
:class:`KeyStore` interface and the bounded in-memory store (status-go keeps every key in its
database, ``hash_ratchet_encryption`` in persistence.go; pystatus bounds them and saves them
as one sync-state entry, :mod:`pystatus.chat.hash_ratchet_state`).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Protocol

from prometheus_client import Counter, Gauge

if TYPE_CHECKING:
    from pystatus.chat.hash_ratchet import GroupKey

KEYS_PER_GROUP = 30
"""Keys kept per group; a community rotates on every removal, so this is the removals after
which a late message under an old key can no longer be read."""
MAX_GROUPS = 2_000

EVICTED = Counter("chat_hash_ratchet_evicted", "Hash ratchet state forgotten at a bound", ["what"])
KEYS = Gauge("chat_hash_ratchet_keys", "Group keys held by hash ratchet key stores")


class KeyStore(Protocol):
    """Where a :class:`HashRatchet` keeps group keys (in memory, or a database behind this)."""

    def add(self, key: GroupKey) -> bool:
        """Keep ``key``; False when it was known already."""

    def get(self, key_id: bytes) -> GroupKey | None: ...

    def keys_for_group(self, group_id: bytes) -> list[GroupKey]:
        """The group's keys, newest (highest timestamp) first."""

    def forget_group(self, group_id: bytes) -> None: ...

    def groups(self) -> list[bytes]: ...


class MemoryKeyStore:
    """Bounded in-memory :class:`KeyStore`: ``keys_per_group`` newest keys per group, at most
    ``max_groups`` groups (the least recently added-to forgotten), each eviction counted."""

    def __init__(
        self, *, keys_per_group: int = KEYS_PER_GROUP, max_groups: int = MAX_GROUPS
    ) -> None:
        if keys_per_group < 1 or max_groups < 1:
            raise ValueError("a key store keeps at least one key of one group")
        self.keys_per_group = keys_per_group
        self.max_groups = max_groups
        self._groups: OrderedDict[bytes, list[GroupKey]] = OrderedDict()
        self._by_id: dict[bytes, GroupKey] = {}

    def add(self, key: GroupKey) -> bool:
        if key.key_id in self._by_id:
            return False
        keys = self._groups.pop(key.group_id, [])
        self._groups[key.group_id] = keys
        keys.append(key)
        keys.sort(key=lambda k: k.timestamp, reverse=True)
        self._by_id[key.key_id] = key
        KEYS.inc()
        while len(keys) > self.keys_per_group:
            self._drop(keys.pop())
            EVICTED.labels("key").inc()
        while len(self._groups) > self.max_groups:
            self.forget_group(next(iter(self._groups)))
            EVICTED.labels("group").inc()
        return key.key_id in self._by_id

    def get(self, key_id: bytes) -> GroupKey | None:
        return self._by_id.get(key_id)

    def keys_for_group(self, group_id: bytes) -> list[GroupKey]:
        return list(self._groups.get(group_id, []))

    def forget_group(self, group_id: bytes) -> None:
        for key in self._groups.pop(group_id, []):
            self._drop(key)

    def groups(self) -> list[bytes]:
        return list(self._groups)

    def _drop(self, key: GroupKey) -> None:
        del self._by_id[key.key_id]
        KEYS.dec()
