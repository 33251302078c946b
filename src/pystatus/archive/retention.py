"""Retention policies, spelled as nwaku spells them: time:<s>, capacity:<n>, size:<n>GB|MB."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pystatus.errors import ConfigError

_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*(gb|mb|kb)?", re.IGNORECASE)
_UNITS = {"gb": 1024**3, "mb": 1024**2, "kb": 1024, None: 1}


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    max_age_seconds: int | None = None
    max_messages: int | None = None
    max_bytes: int | None = None

    @classmethod
    def parse(cls, text: str) -> RetentionPolicy:
        kind, _, value = text.strip().partition(":")
        kind = kind.lower()
        try:
            if kind == "time":
                seconds = int(value)
                if seconds <= 0:
                    raise ValueError
                return cls(max_age_seconds=seconds)
            if kind == "capacity":
                count = int(value)
                if count <= 0:
                    raise ValueError
                return cls(max_messages=count)
            if kind == "size":
                match = _SIZE.fullmatch(value.strip())
                if match is None:
                    raise ValueError
                unit = match.group(2).lower() if match.group(2) else None
                size = int(float(match.group(1)) * _UNITS[unit])
                if size <= 0:
                    raise ValueError
                return cls(max_bytes=size)
        except ValueError:
            pass
        raise ConfigError(
            f"--store-message-retention-policy {text!r}: use time:<seconds>, capacity:<count> "
            "or size:<n>GB|MB"
        )
