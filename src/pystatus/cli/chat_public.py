"""`pystatus chat public join|send|leave`: public chats by name.

Names are normalised as the Status app does (:func:`pystatus.chat.user_input.
normalize_public_chat_name`: ``#Status`` is ``status``); a name it would not join is a usage
error (exit 2). A public message has no recipient to acknowledge it: `send` waits until the
relay took it.
"""

from __future__ import annotations

from typing import Annotated

import typer

from pystatus.chat.messenger import Messenger
from pystatus.chat.topics import STATUS_CLUSTER
from pystatus.chat.user_input import InvalidChatName, normalize_public_chat_name
from pystatus.cli.account import DataDir, Password
from pystatus.cli.chat import Outcome, Timeout, act
from pystatus.cli.chat_io import Json, TextFile, read_text, usage_error
from pystatus.cli.chat_node import (
    ClusterId,
    FilterNodes,
    Light,
    LightPushNodes,
    StaticNodes,
    light_nodes,
)

public_app: typer.Typer = typer.Typer(
    help="Join, write to and leave public chats.", no_args_is_help=True
)

ACT_TIMEOUT = 10.0
"""Seconds join and leave wait for the relay (they send nothing to acknowledge)."""

ChatName = Annotated[str, typer.Argument(help="The chat's name: a-z, 0-9 and '-' ('#' optional)")]


def chat_name(text: str) -> str:
    """``text`` normalised as the app does; exits 2 when it is no public chat name."""
    try:
        return normalize_public_chat_name(text)
    except InvalidChatName as exc:
        usage_error(str(exc))


@public_app.command()
def join(
    name: ChatName,
    staticnode: StaticNodes,
    data_dir: DataDir = None,
    password: Password = None,
    cluster_id: ClusterId = STATUS_CLUSTER,
    light: Light = False,
    filternode: FilterNodes = None,
    lightpushnode: LightPushNodes = None,
    json_output: Json = False,
) -> None:
    """Join a public chat; print its name as joined (as the app normalises it).

    `chat watch` and `node --chat` follow it from now on."""
    chat = chat_name(name)

    async def action(messenger: Messenger) -> Outcome:
        await messenger.join_public_chat(chat)
        return Outcome(chat, {"chat": chat, "joined": True})

    act(
        action,
        staticnode,
        data_dir,
        password,
        cluster_id,
        ACT_TIMEOUT,
        json_output,
        light=light_nodes(light, filternode, lightpushnode),
    )


@public_app.command("send")
def send_public(
    name: ChatName,
    staticnode: StaticNodes,
    text: Annotated[
        str | None,
        typer.Argument(help="The message ('-', or none with stdin not a terminal: stdin)"),
    ] = None,
    text_file: TextFile = None,
    data_dir: DataDir = None,
    password: Password = None,
    cluster_id: ClusterId = STATUS_CLUSTER,
    light: Light = False,
    filternode: FilterNodes = None,
    lightpushnode: LightPushNodes = None,
    timeout: Timeout = 30.0,
    json_output: Json = False,
) -> None:
    """Send a message to a public chat (joining it); print its id."""
    chat = chat_name(name)
    body = read_text(text, text_file)

    async def action(messenger: Messenger) -> Outcome:
        message_id = await messenger.send_public(chat, body)
        return Outcome(message_id, {"id": message_id, "chat": chat})

    act(
        action,
        staticnode,
        data_dir,
        password,
        cluster_id,
        timeout,
        json_output,
        light=light_nodes(light, filternode, lightpushnode),
    )


@public_app.command()
def leave(
    name: ChatName,
    staticnode: StaticNodes,
    data_dir: DataDir = None,
    password: Password = None,
    cluster_id: ClusterId = STATUS_CLUSTER,
    light: Light = False,
    filternode: FilterNodes = None,
    lightpushnode: LightPushNodes = None,
    json_output: Json = False,
) -> None:
    """Leave a public chat: it is no longer followed (its history stays)."""
    chat = chat_name(name)

    async def action(messenger: Messenger) -> Outcome:
        await messenger.leave_public_chat(chat)
        return Outcome(chat, {"chat": chat, "joined": False})

    act(
        action,
        staticnode,
        data_dir,
        password,
        cluster_id,
        ACT_TIMEOUT,
        json_output,
        light=light_nodes(light, filternode, lightpushnode),
    )
