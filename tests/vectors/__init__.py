"""Known-answer test vectors kept in this folder.

Each JSON file says where its values come from: ``waku.json`` in its ``_about`` and per-section
``source``/``generator`` fields (js-waku's own tests and npm packages), ``sds_nim_hash.json`` in
its ``source`` field, and ``statusgo/*.json`` with the command that regenerates them from
status-go v1.1.0.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

VECTORS_DIR = Path(__file__).resolve().parent


def load_vectors(name: str) -> Any:
    """The parsed JSON of ``tests/vectors/<name>``; raises FileNotFoundError if absent."""
    return json.loads((VECTORS_DIR / name).read_text())
