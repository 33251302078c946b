"""Message search inside the encrypted chat database (FTS5): kept in step with inserts, edits
and deletes, newest first, and any user text taken as words, never as FTS5 syntax."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pystatus.chat.database import (
    MAX_QUERY_LENGTH,
    Batch,
    ChatDatabase,
    EditRecord,
    InvalidSearch,
    StoredMessage,
)
from pystatus.chat.proto import chat_message_pb2
from tests.chat.content_helpers import pb

KEY = bytes(range(32))


def body(text: str, clock: int = 1) -> bytes:
    return pb(
        chat_message_pb2.ChatMessage,
        clock=clock,
        timestamp=clock,
        text=text,
        chat_id="c",
        content_type=1,
    ).SerializeToString()


def message(message_id: str, text: str, clock: int, chat_id: str = "c") -> StoredMessage:
    return StoredMessage(message_id, chat_id, "author", clock, clock, body(text, clock))


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[ChatDatabase]:
    database = ChatDatabase(tmp_path / "chat.sqlite3", KEY)
    await database.open()
    try:
        yield database
    finally:
        await database.close()


async def ids(db: ChatDatabase, query: str, limit: int = 50) -> list[str]:
    return [m.id for m in await db.search(query, limit)]


async def test_finds_newest_first_with_every_word(db: ChatDatabase) -> None:
    await db.add_messages(
        [
            message("a", "The Harbour at dawn", 1),
            message("b", "harbour lights", 3, chat_id="other"),
            message("c", "nothing to see", 2),
            message("d", "Café au lait by the harbour", 4),
        ]
    )
    assert await ids(db, "harbour") == ["d", "b", "a"]
    assert await ids(db, "HARBOUR dawn") == ["a"]
    assert await ids(db, "cafe") == ["d"]  # diacritics ignored
    assert await ids(db, "harbour", limit=2) == ["d", "b"]
    assert await ids(db, "absent") == []
    [found] = await db.search("see")
    assert found == await db.message("c")


async def test_edits_and_deletes_keep_the_index_in_step(db: ChatDatabase) -> None:
    await db.add_messages([message("a", "first words", 1), message("b", "other words", 2)])
    await db.commit(Batch(edits=[EditRecord("a", body("second thoughts", 5), 5)]))
    assert await ids(db, "first") == []
    assert await ids(db, "second") == ["a"]
    # An older edit arriving late changes neither the body nor the index.
    await db.commit(Batch(edits=[EditRecord("a", body("stale edit", 3), 3)]))
    assert await ids(db, "stale") == []
    assert await ids(db, "second") == ["a"]
    await db.commit(Batch(deletes=["b"]))
    assert await ids(db, "words") == []
    assert await ids(db, "other") == []
    # An edit of a deleted message does not bring it back into search.
    await db.commit(Batch(edits=[EditRecord("b", body("revived words", 9), 9)]))
    assert await ids(db, "revived") == []
    # A duplicate insert neither duplicates nor replaces the indexed text.
    assert await db.add_message(message("a", "duplicate copy", 1)) is False
    assert await ids(db, "duplicate") == []
    assert await ids(db, "second") == ["a"]


async def test_a_message_stored_deleted_or_without_text_is_not_indexed(db: ChatDatabase) -> None:
    deleted = StoredMessage("x", "c", "a", 1, 1, body("gone already", 1), deleted=True)
    image = StoredMessage(
        "y",
        "c",
        "a",
        2,
        2,
        pb(chat_message_pb2.ChatMessage, clock=2, content_type=7).SerializeToString(),
    )
    await db.add_messages([deleted, image])
    assert await ids(db, "gone") == []
    assert await ids(db, "image") == []


@pytest.mark.parametrize(
    "query",
    ['"', "AND", "OR NOT", "NEAR(a b)", "*", "text:", "a*", "(", "^x", "-", "''", '"""', "\x00"],
)
async def test_fts_syntax_is_plain_text(db: ChatDatabase, query: str) -> None:
    await db.add_messages(
        [message("plain", "nothing special", 1), message("ops", 'say "AND" OR NOT near a', 2)]
    )
    if not query.replace("\x00", " ").strip():
        with pytest.raises(InvalidSearch):
            await db.search(query)
        return
    found = await ids(db, query)
    assert "plain" not in found
    if query in ("AND", "OR NOT"):
        assert found == ["ops"]


@pytest.mark.parametrize(
    ("query", "limit"),
    [("", 50), ("   \n\t", 50), ("x" * (MAX_QUERY_LENGTH + 1), 50), ("ok", 0), ("ok", 501)],
)
async def test_bad_queries_are_typed_errors(db: ChatDatabase, query: str, limit: int) -> None:
    with pytest.raises(InvalidSearch):
        await db.search(query, limit)


async def test_a_lone_surrogate_is_a_typed_error(db: ChatDatabase) -> None:
    with pytest.raises(InvalidSearch):
        await db.search("bad \udcff text")


def test_any_text_searches_without_error_and_finds_itself(tmp_path: Path) -> None:
    """Whatever the text, searching for it raises nothing but InvalidSearch, and a message
    holding exactly that text is found when it has a letter or digit."""
    counter = itertools.count(1)
    with asyncio.Runner() as runner:
        db = ChatDatabase(tmp_path / "chat.sqlite3", KEY)
        runner.run(db.open())
        try:

            @settings(
                max_examples=150,
                deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture],
            )
            @given(st.text(max_size=40))
            def check(text: str) -> None:
                n = next(counter)
                runner.run(db.add_message(message(f"m{n}", text, n)))
                try:
                    found = [m.id for m in runner.run(db.search(text, 500))]
                except InvalidSearch:
                    assert not text.replace("\x00", " ").split()
                    return
                # unicode61 knows Unicode 6.1's letters; an ASCII one is a token in any case.
                if any(c.isascii() and c.isalnum() for c in text):
                    assert f"m{n}" in found
                assert found == sorted(found, key=lambda i: -int(i[1:]))

            check()
        finally:
            runner.run(db.close())
