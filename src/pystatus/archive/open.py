"""Pick the archive backend from nwaku's --store-message-db-url."""

from __future__ import annotations

from pathlib import Path

from pystatus.archive.base import Archive
from pystatus.errors import ConfigError


def open_archive(url: str) -> Archive:
    """``sqlite:///relative/path``, ``sqlite:////absolute/path`` or ``postgres://...``."""
    if url.startswith("sqlite://"):
        from pystatus.archive.sqlite import SqliteArchive

        path = url.removeprefix("sqlite://").removeprefix("/")
        if not path:
            raise ConfigError("--store-message-db-url sqlite:// needs a path")
        return SqliteArchive(Path(path))
    if url.startswith(("postgres://", "postgresql://")):
        from pystatus.archive.postgres import PostgresArchive

        return PostgresArchive(url)
    raise ConfigError(
        "--store-message-db-url must be sqlite:///path or postgres://user:password@host/db"
    )
