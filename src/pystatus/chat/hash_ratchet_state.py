"""Saving a :class:`~pystatus.chat.hash_ratchet.HashRatchet`'s keys across restarts.

status-go keeps them in its encrypted database (``hash_ratchet_encryption``, persistence.go);
pystatus keeps them as one sync-state entry, :data:`STATE_NAME`, in the chat database.
"""

from __future__ import annotations

import json
from typing import Any

from pystatus.chat.errors import InvalidGroupMessage
from pystatus.chat.hash_ratchet import GroupKey, HashRatchet

STATE_NAME = "hash-ratchet"
"""The sync-state entry :func:`export_state` is saved under."""
STATE_VERSION = 1


def export_state(ratchet: HashRatchet) -> bytes:
    """Every kept key as JSON bytes, versioned (secret: store it sealed, as the chat database
    is). Chain positions are left out: after a restart they are walked again from the key,
    and our next seq_no restarts from what we see (a repeat is safe: each nonce is random)."""
    keys = [
        [key.group_id.hex(), key.timestamp, key.key.hex()]
        for group in ratchet.store.groups()
        for key in ratchet.store.keys_for_group(group)
    ]
    return json.dumps({"version": STATE_VERSION, "keys": keys}).encode()


def restore_state(ratchet: HashRatchet, data: bytes) -> int:
    """Keep the keys :func:`export_state` wrote; returns how many. A newer version, or what
    does not parse, raises :class:`InvalidGroupMessage` (the caller logs it: damage, not input)."""
    try:
        state: dict[str, Any] = json.loads(data)
        if state.get("version") != STATE_VERSION:
            raise InvalidGroupMessage(f"hash ratchet state version {state.get('version')!r}")
        keys = [
            GroupKey(bytes.fromhex(group), int(timestamp), bytes.fromhex(key))
            for group, timestamp, key in state["keys"]
        ]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InvalidGroupMessage(f"hash ratchet state does not parse: {exc}") from None
    added, _ = ratchet.add_keys(keys)
    return len(added)
