"""status-go v1.1.0's checks shared by every content: display names and where a message is
filed (pystatus.chat.content.validation)."""

from __future__ import annotations

import pytest

from pystatus.chat import content as c
from pystatus.chat.content import InvalidContent
from tests.chat.content_helpers import ALICE_ID, ALICE_KEY, BOB_KEY


@pytest.mark.parametrize(
    ("name", "stored"),
    [
        ("", ""),
        ("  \t", ""),
        ("Alice", "Alice"),
        ("  Alice L  ", "Alice L"),
        ("a_b-c d", "a_b-c d"),
        ("x" * 24, "x" * 24),
        ("\u3000Alice\u00a0", "Alice"),  # Go trims Unicode spaces
        ("al\tic", "al\tic"),
    ],
)
def test_display_names_status_go_takes(name: str, stored: str) -> None:
    assert c.validate_display_name(name) == stored


@pytest.mark.parametrize(
    "name",
    [
        "Ali",
        "x" * 25,
        "Alice!",
        "Ålice",
        "alice.eth",
        "alice_eth",
        "alice-eth",
        "al\x0bice",  # \v is not in Go's \s
        "\x1cAlice",  # Go does not trim the ASCII separators Python's strip() does
    ],
)
def test_display_names_status_go_rejects(name: str) -> None:
    with pytest.raises(InvalidContent):
        c.validate_display_name(name)


def test_local_chat_id_files_messages_as_status_go_does() -> None:
    # someone else's 1:1 message: the signer's chat, whatever the chat id says
    assert c.local_chat_id(1, "anything", author=ALICE_KEY, me=BOB_KEY) == ALICE_ID
    # our own, from a paired device: the chat id, which must name a key
    assert c.local_chat_id(1, ALICE_ID, author=BOB_KEY, me=BOB_KEY) == ALICE_ID
    for bad in ("", "alice", ALICE_ID[:-1] + "z", "0x05" + ALICE_ID[4:], ALICE_ID.upper()):
        with pytest.raises(InvalidContent):
            c.local_chat_id(1, bad, author=BOB_KEY, me=BOB_KEY)
    assert c.local_chat_id(2, "status", author=ALICE_KEY, me=BOB_KEY) == "status"
    with pytest.raises(InvalidContent):
        c.local_chat_id(3, "", author=ALICE_KEY, me=BOB_KEY)
    for kind in (0, 4, 6, 99):
        with pytest.raises(InvalidContent):
            c.local_chat_id(kind, "status", author=ALICE_KEY, me=BOB_KEY)
