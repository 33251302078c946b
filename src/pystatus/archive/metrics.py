"""Prometheus metrics of the archive (nwaku's waku_archive_* names where they exist)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

INSERTED = Counter("waku_archive_inserted_messages", "Messages newly archived")
QUEUE = Gauge("waku_archive_queue_messages", "Messages waiting to be committed")
DROPPED = Counter("waku_archive_dropped_messages", "Relayed messages not archived: queue full")
ERRORS = Counter("waku_archive_errors", "Archive failures by operation", ["operation"])
MESSAGES = Gauge("waku_archive_messages", "Messages in the archive")
SIZE = Gauge("waku_archive_size_bytes", "Size of the archive database")
RETENTION_DELETED = Counter("waku_archive_retention_deleted", "Messages removed by retention")
