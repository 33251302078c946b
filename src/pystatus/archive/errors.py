"""Errors of the archive layer."""

from __future__ import annotations

from pystatus.errors import ArchiveError


class ArchiveUnavailable(ArchiveError):
    """The database cannot be reached or written (connection lost, disk full)."""


class MigrationError(ArchiveError):
    """The database schema is newer than this version of pystatus understands."""
