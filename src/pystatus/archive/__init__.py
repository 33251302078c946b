"""The store node's message archive: one interface, SQLite (default) and PostgreSQL backends."""

from pystatus.archive.base import Archive, ArchivedMessage
from pystatus.archive.open import open_archive

__all__ = ["Archive", "ArchivedMessage", "open_archive"]
