"""The content topics a chat session listens on, and how what arrives on each is opened.

status-go listens on our partitioned and personal topics (ECIES to our identity key), on the
negotiated topic of everyone whose devices agreed on a secret with ours, on each public chat's
topic and on each contact's contact-code topic (symmetric keys from the names),
``protocol/transport/filters_manager.go``. The table is bounded: each negotiated secret adds a
topic, and anyone can make us agree on one.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from prometheus_client import Counter, Gauge

from pystatus.chat import topics
from pystatus.chat.encryption import EncryptionService
from pystatus.errors import ChatError

LISTENING = Gauge("chat_listening_topics", "Content topics the chat session listens on")
REFUSED = Counter("chat_listening_refused", "Content topics not listened to: the table was full")
MAX_LISTENING = 20_000


@dataclass(frozen=True, slots=True)
class Listener:
    """How to open what arrives on one content topic."""

    kind: str
    """``private`` (ECIES to our identity key), ``negotiated``, ``public`` or
    ``contact_code`` (symmetric under ``key``)."""
    key: bytes = b""
    name: str = ""
    """A public chat's name."""


class Listening:
    """Content topic -> :class:`Listener`; each method returns the topics it added (for the
    adapter to hand to the transport)."""

    def __init__(self, public_key: bytes, *, capacity: int = MAX_LISTENING) -> None:
        self.public_key = public_key
        self.capacity = capacity
        self.topics: dict[str, Listener] = {}
        self._negotiated_seen = -1

    def get(self, content_topic: str) -> Listener | None:
        return self.topics.get(content_topic)

    def listen(self, content_topic: str, listener: Listener) -> bool:
        """Open what arrives on ``content_topic`` this way; True when it is new. Raises
        :class:`ChatError` when the table is full (counted)."""
        if content_topic in self.topics:
            return False
        if len(self.topics) >= self.capacity:
            REFUSED.inc()
            raise ChatError(f"listening on {self.capacity} content topics already")
        self.topics[content_topic] = listener
        LISTENING.set(len(self.topics))
        return True

    def unlisten(self, content_topic: str) -> bool:
        found = self.topics.pop(content_topic, None) is not None
        LISTENING.set(len(self.topics))
        return found

    def own(self) -> list[str]:
        """Our partitioned and personal topics and our contact-code topic."""
        added = [
            t
            for t in (
                topics.partitioned_content_topic(self.public_key),
                topics.personal_content_topic(self.public_key),
            )
            if self.listen(t, Listener("private"))
        ]
        return added + self.contact_code(self.public_key)

    def public(self, name: str) -> list[str]:
        topic = topics.public_chat_content_topic(name)
        listener = Listener("public", topics.public_chat_key(name), name)
        return [topic] if self.listen(topic, listener) else []

    def contact_code(self, public_key: bytes) -> list[str]:
        """Someone's bundle adverts (status-go listens on each contact's)."""
        name = topics.contact_code_topic_name(public_key)
        topic = topics.content_topic(topics.topic_of(name))
        listener = Listener("contact_code", topics.public_chat_key(name))
        return [topic] if self.listen(topic, listener) else []

    def negotiated(self, encryption: EncryptionService) -> list[str]:
        """The negotiated topic of everyone whose devices agreed on a secret (the list is
        re-read only when someone joined it)."""
        if encryption.secrets_changed == self._negotiated_seen:
            return []
        self._negotiated_seen = encryption.secrets_changed
        added = []
        for _, secret in encryption.secrets():
            topic = topics.negotiated_content_topic(secret)
            listener = Listener("negotiated", topics.negotiated_key(secret))
            with contextlib.suppress(ChatError):  # at the bound: counted, not fatal
                if self.listen(topic, listener):
                    added.append(topic)
        return added
