"""Message search as events: :meth:`ChatDatabase.search`'s rows read the way history reads
them, for the messenger, the REST API and the CLI."""

from __future__ import annotations

from pystatus.chat.database import ChatDatabase
from pystatus.chat.events import ChatEvent, message_event
from pystatus.chat.proto import chat_message_pb2


async def search_events(
    database: ChatDatabase, own_chat_key: str, query: str, limit: int = 50
) -> list[ChatEvent]:
    """The newest ``limit`` messages whose text holds every word of ``query``, newest first,
    as ``message`` (or ``contact_request``) events; ``own_chat_key`` (``zQ3...``) tells our
    own messages (``outgoing``). Raises :class:`pystatus.chat.database.InvalidSearch` for a
    query or limit out of bounds and :class:`pystatus.chat.database.DatabaseError`."""
    return [
        message_event(
            stored,
            chat_message_pb2.ChatMessage.FromString(stored.body),
            stored.author == own_chat_key,
        )
        for stored in await database.search(query, limit)
    ]
