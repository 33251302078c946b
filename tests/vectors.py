"""Public test vectors from the shared folder beside the repository.

``PYSTATUS_VECTORS_DIR`` names the folder explicitly; otherwise the nearest ``shared/vectors``
beside the repository or one of its parents is used.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def vectors_dir() -> Path:
    explicit = os.environ.get("PYSTATUS_VECTORS_DIR")
    if explicit:
        return Path(explicit)
    for parent in REPO.parents:
        candidate = parent / "shared" / "vectors"
        if candidate.is_dir():
            return candidate
    return REPO.parent / "shared" / "vectors"


def load_vectors(name: str) -> Any:
    path = vectors_dir() / name
    if not path.is_file():
        raise FileNotFoundError(
            f"test vectors {path} are missing: put shared/ beside the repository "
            "or set PYSTATUS_VECTORS_DIR"
        )
    return json.loads(path.read_text())
