"""What `pystatus community` and `pystatus group` commands say, without a network: each
command's help names only options it takes, the sending ones take `chat send`'s, a channel's
history names the channel (``#general``) where it printed its raw chat id, and listing a
community's channels needs no ``--staticnode``."""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path

import coincurve
import pytest
import typer
from typer.testing import CliRunner

from pystatus.chat.account import Account
from pystatus.chat.community_chats import CommunityChats
from pystatus.chat.database import Batch, ChatDatabase, StoredMessage
from pystatus.chat.keys import chat_key_text
from pystatus.chat.keystore import ScryptParams
from pystatus.chat.messenger_community import COMMUNITY_STATE
from pystatus.chat.proto import chat_message_pb2
from pystatus.cli.community import community_app
from pystatus.cli.group import group_app

PASSWORD = "community password"
FAST = ScryptParams(n=1 << 10)
SENDING = {"--staticnode", "--storenode", "--light", "--filternode", "--lightpushnode"}
SENDING |= {"--timeout", "--json", "--data-dir", "--cluster-id"}
"""What `chat send` takes that every sending group and community command must take too."""
SENDERS = {
    "community": ["create", "join", "accept", "ban", "post", "channels"],
    "group": ["create", "add", "remove", "leave", "send"],
}
APPS = {"community": community_app, "group": group_app}


def _runner() -> CliRunner:
    return CliRunner(env={"PYSTATUS_PASSWORD": PASSWORD, "COLUMNS": "400"})


def _commands(kind: str) -> dict[str, typer.core.TyperCommand]:
    group = typer.main.get_command(APPS[kind])
    assert isinstance(group, typer.core.TyperGroup)
    return group.commands  # type: ignore[return-value]


def _declared(kind: str, name: str) -> set[str]:
    params = _commands(kind)[name].params
    return {o for p in params for o in [*p.opts, *p.secondary_opts] if o.startswith("--")} | {
        "--help"
    }


@pytest.mark.parametrize(
    ("kind", "name"),
    [(kind, name) for kind in APPS for name in _commands(kind)],
)
def test_help_names_only_options_the_command_takes(kind: str, name: str) -> None:
    shown = _runner().invoke(APPS[kind], [name, "--help"])
    assert shown.exit_code == 0, shown.output
    named = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", shown.output))
    declared = _declared(kind, name)
    assert named <= declared, f"{kind} {name} --help names {named - declared}"
    if name in SENDERS[kind]:
        assert declared >= SENDING, f"{kind} {name} lacks {SENDING - declared}"
        # Only a recipient's device acknowledges: group messages go through data sync,
        # a community's do not (status-go sends them without it).
        assert ("--wait-delivered" in declared) == (kind == "group")


def _now_ms() -> int:
    return time.time_ns() // 10**6


def _account_with_a_channel(tmp_path: Path) -> tuple[str, str, str]:
    """An account controlling the community "Cats" with #general, where it posted "hello"
    and another member posted "hi": (the community id, #general's chat id, the other's key)."""
    account, _ = Account.create(tmp_path / "account", PASSWORD, params=FAST)
    chats = CommunityChats(account.keys.chat, account.keys.chat_public_key)
    community, _ = chats.create("Cats", _now_ms())
    general, _ = chats.add_channel(community.id, "general", _now_ms())
    saved = chats.saved(community.id)
    assert saved is not None
    record = {"signer": saved[0].hex(), "payload": saved[1].hex(), "joined": True, "pending": []}
    other = chat_key_text(coincurve.PrivateKey().public_key.format(compressed=False))
    posts = [
        StoredMessage(f"0x{n:064x}", general, author, n, _now_ms(), _body(general, text, n))
        for n, (author, text) in enumerate([(account.chat_key, "hello"), (other, "hi")], 1)
    ]

    async def keep() -> None:
        database = ChatDatabase(account.directory / "chat.sqlite3", account.keys.database)
        await database.open()
        try:
            state = {COMMUNITY_STATE + community.id: json.dumps(record).encode()}
            await database.commit(Batch(messages=list(posts), sync_state=state))
        finally:
            await database.close()

    asyncio.run(keep())
    return community.id, general, other


def _body(chat_id: str, text: str, clock: int) -> bytes:
    message = chat_message_pb2.ChatMessage(clock=clock, timestamp=_now_ms(), text=text)
    message.chat_id = chat_id
    return message.SerializeToString()


def test_history_names_the_channel_and_json_keeps_full_ids(tmp_path: Path) -> None:
    _, general, other = _account_with_a_channel(tmp_path)
    reading = ["--data-dir", str(tmp_path)]
    shown = _runner().invoke(community_app, ["history", general, *reading])
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert lines[0].endswith("[#general] me: hello"), lines
    assert lines[2].endswith(f"[#general] {other}: hi"), lines
    assert general not in shown.output
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ", lines[0])  # the time, as chat history
    document = json.loads(
        _runner().invoke(community_app, ["history", general, "--json", *reading]).output
    )
    assert document["chatId"] == general
    assert [(m["chatId"], m["author"], m["text"]) for m in document["messages"]] == [
        (general, document["messages"][0]["author"], "hello"),
        (general, other, "hi"),
    ]


def test_channels_are_listed_without_a_peer(tmp_path: Path) -> None:
    community_id, general, _ = _account_with_a_channel(tmp_path)
    reading = ["--data-dir", str(tmp_path)]
    shown = _runner().invoke(community_app, ["channels", community_id, *reading])
    assert shown.exit_code == 0, shown.output
    assert shown.output.splitlines() == [f"#general {general}"]
    # Adding one sends: without a peer it is a usage error, before the account opens.
    refused = _runner().invoke(community_app, ["channels", community_id, "--add", "news", *reading])
    assert refused.exit_code == 2 and "--staticnode" in refused.output
