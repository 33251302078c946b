"""Public test vectors from the shared folder beside the repository."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

VECTORS_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "vectors"


def load_vectors(name: str) -> Any:
    path = VECTORS_DIR / name
    if not path.is_file():
        raise FileNotFoundError(
            f"test vectors {path} are missing: shared/ must sit beside the repo"
        )
    return json.loads(path.read_text())
