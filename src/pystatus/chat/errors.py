"""Errors of the chat layer."""

from __future__ import annotations

from pystatus.errors import ChatError


class AccountError(ChatError):
    """An account could not be created, restored or unlocked."""


class InvalidMnemonic(AccountError):
    """A recovery phrase is not a valid BIP39 mnemonic (word list or checksum)."""


class WrongPassword(AccountError):
    """The keystore's MAC does not match: the password is wrong or the file was altered."""


class KeystoreError(AccountError):
    """A keystore file is missing, malformed or of an unsupported kind."""


class InvalidChatKey(ChatError):
    """A chat key (``zQ3...`` or hex) does not name a secp256k1 public key."""


class UnknownMessage(ChatError):
    """No message with that id is stored."""


class NotPermitted(ChatError):
    """The action does not apply here: someone else's message, content that cannot be
    edited or deleted, no contact request to answer, our own key."""


class HashRatchetError(ChatError):
    """A hash ratchet (group key) message or key could not be used."""


class InvalidGroupMessage(HashRatchetError):
    """A hash ratchet message or key is malformed (no header, bad key length, no group)."""


class UndecryptableGroupMessage(HashRatchetError):
    """A hash ratchet message does not authenticate under the key it names."""


class SeqNoTooHigh(HashRatchetError):
    """A hash ratchet message's number is too far along its key's chain to walk to."""


class UnknownGroupKey(HashRatchetError):
    """No key of the group (to send), or not the key a message names (to read) yet."""

    def __init__(self, message: str, *, group_id: bytes, key_id: bytes) -> None:
        super().__init__(message)
        self.group_id = group_id
        self.key_id = key_id


class CommunityNotAllowed(ChatError):
    """We cannot do this in that community: it is unknown, we are not a member, or we do not
    control it."""


class ReadOnlyChannel(CommunityNotAllowed):
    """We may read this channel but not post in it (status-go's ``CanPost`` is false)."""
