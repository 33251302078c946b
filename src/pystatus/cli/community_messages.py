"""`pystatus community react|reply|edit|delete|pin`: what a member does to a channel's
message, named by its id (the channel is the one the message is in, from the account's
database). status-go's rules hold (:mod:`pystatus.chat.community_actions`): only the author
edits; the author, or an owner or admin, deletes; only an owner or admin pins; a reaction
needs the right to post, or a channel that lets viewers react. What the community does not
allow exits 1 with one line, before anything is sent; a malformed id or reaction exits 2.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

import typer

from pystatus.chat.community_actions import is_channel
from pystatus.chat.messenger import Messenger
from pystatus.chat.user_input import InvalidReaction, parse_reaction
from pystatus.cli.chat import Outcome, _message_id
from pystatus.cli.chat_io import TextFile, read_text, runtime_error
from pystatus.cli.commands import said, usage_error
from pystatus.cli.community import CATCH_UP, community_app, perform, sending_options
from pystatus.cli.options import Sending
from pystatus.errors import ChatError

MessageArg = Annotated[str, typer.Argument(help="The channel message's id (0x and 64 hex digits)")]
TextArg = Annotated[str | None, typer.Argument(help="The text ('-': stdin)")]
ReactionArg = Annotated[
    str, typer.Argument(help="love, thumbs-up, thumbs-down, laugh, sad or angry (or 1 to 6)")
]
ChatAction = Callable[[Messenger, str], Awaitable[Outcome]]
"""Something done to a message in channel ``chat_id`` (the second argument)."""


async def _channel_of(messenger: Messenger, message_id: str) -> str:
    """The chat id of the channel ``message_id`` is in; exits 1 when the account has no such
    message in a community channel."""
    stored = await messenger.database.message(message_id)
    if stored is None or not is_channel(messenger._communities, stored.chat_id):
        hint = "" if messenger.fetcher else f" ({CATCH_UP})"
        runtime_error(f"no message {message_id} in a community channel of this account{hint}")
    return stored.chat_id


def _doing(sending: Sending, message_id: str, step: str, act: ChatAction) -> None:
    async def action(messenger: Messenger) -> Outcome:
        chat_id = await _channel_of(messenger, message_id)
        try:
            outcome = await act(messenger, chat_id)
        except ChatError as exc:
            runtime_error(f"{step}: {exc}")
        return outcome

    perform(sending, action)


@community_app.command()
@sending_options
def react(
    message_id: MessageArg,
    reaction: Annotated[
        str, typer.Argument(help="love, thumbs-up, thumbs-down, laugh, sad, angry")
    ],
    sending: Sending,
    retract: Annotated[bool, typer.Option(help="Take the reaction back")] = False,
) -> None:
    """React to a channel's message; print "reacted <id>"."""
    target = _message_id(message_id)
    try:
        kind = parse_reaction(reaction)
    except InvalidReaction as exc:
        usage_error(str(exc))

    async def act(messenger: Messenger, chat_id: str) -> Outcome:
        await messenger.react(chat_id, target, kind, retract=retract)
        done = "unreacted" if retract else "reacted"
        return said(f"{done} {target}", id=target, chatId=chat_id, reaction=kind)

    _doing(sending, target, "react", act)


@community_app.command()
@sending_options
def reply(
    message_id: MessageArg,
    sending: Sending,
    text: TextArg = None,
    text_file: TextFile = None,
) -> None:
    """Reply in a channel to one of its messages; print the reply's id."""
    target = _message_id(message_id)
    body = read_text(text, text_file)

    async def act(messenger: Messenger, chat_id: str) -> Outcome:
        sent = await messenger.send_community(chat_id, body, response_to=target)
        return said(sent, id=sent, chatId=chat_id, responseTo=target)

    _doing(sending, target, "reply", act)


@community_app.command()
@sending_options
def edit(
    message_id: MessageArg,
    sending: Sending,
    text: TextArg = None,
    text_file: TextFile = None,
) -> None:
    """Replace the text of a post of ours; print "edited <id>"."""
    target = _message_id(message_id)
    body = read_text(text, text_file)

    async def act(messenger: Messenger, chat_id: str) -> Outcome:
        await messenger.edit(target, body)
        return said(f"edited {target}", id=target, chatId=chat_id, edited=True)

    _doing(sending, target, "edit", act)


@community_app.command()
@sending_options
def delete(message_id: MessageArg, sending: Sending) -> None:
    """Delete a post for everyone (ours, or anyone's as owner or admin); print "deleted
    <id>"."""
    target = _message_id(message_id)

    async def act(messenger: Messenger, chat_id: str) -> Outcome:
        await messenger.delete(target)
        return said(f"deleted {target}", id=target, chatId=chat_id, deleted=True)

    _doing(sending, target, "delete", act)


@community_app.command()
@sending_options
def pin(
    message_id: MessageArg,
    sending: Sending,
    unpin: Annotated[bool, typer.Option(help="Unpin it instead")] = False,
) -> None:
    """Pin (or unpin) a channel's message, as owner or admin; print "pinned <id>"."""
    target = _message_id(message_id)

    async def act(messenger: Messenger, chat_id: str) -> Outcome:
        await messenger.pin(target, not unpin)
        done = "unpinned" if unpin else "pinned"
        return said(f"{done} {target}", id=target, chatId=chat_id, pinned=not unpin)

    _doing(sending, target, "pin", act)
