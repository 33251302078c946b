"""The device's encryption state at rest, versioned.

Version 1 (today's) is ``{"version": 1, "encryption": <export_state>}`` as JSON. The form
written before versions existed is the bare ``export_state`` object; :func:`load_device_state`
reads both (that is the migration: the next save writes version 1). A state from a newer
version than this code knows is refused rather than misread.
"""

from __future__ import annotations

import json
from typing import Any

from pystatus.chat.encryption import EncryptionService, export_state, restore_state
from pystatus.errors import ChatError

DEVICE_STATE_VERSION = 1


class StateVersionError(ChatError):
    """Saved state is malformed or from a newer version of pystatus."""


def dump_device_state(service: EncryptionService) -> bytes:
    """The state to save (secret: the database seals it)."""
    return json.dumps(
        {"version": DEVICE_STATE_VERSION, "encryption": export_state(service)},
        separators=(",", ":"),
    ).encode()


def load_device_state(identity: bytes, saved: bytes) -> EncryptionService:
    """Restore what :func:`dump_device_state` (or a pre-version release) saved; raises
    :class:`StateVersionError`."""
    try:
        data: Any = json.loads(saved)
    except ValueError as exc:
        raise StateVersionError(f"the saved device state is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise StateVersionError("the saved device state is not an object")
    version = data.get("version", 0)
    encryption: Any
    if version == 0:
        encryption = data  # unversioned: the bare export
    elif version == DEVICE_STATE_VERSION:
        encryption = data.get("encryption")
    else:
        raise StateVersionError(f"device state version {version} is newer than this pystatus")
    try:
        return restore_state(identity, encryption)
    except (KeyError, TypeError, ValueError) as exc:
        raise StateVersionError(f"the saved device state is malformed: {exc!r}") from None
