"""What a person types into `pystatus chat`: key forms, public chat names, texts, message ids
and reactions, checked before any node starts (usage errors exit 2, one line, no traceback);
and the commands that read the database only (`history`, `requests`, `contacts`) as JSON."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import coincurve
import pytest
from typer.testing import CliRunner

from pystatus.chat.account import Account
from pystatus.chat.errors import InvalidChatKey
from pystatus.chat.events import ChatEvent
from pystatus.chat.keys import chat_key_text
from pystatus.chat.keystore import ScryptParams
from pystatus.chat.user_input import (
    MAX_TEXT_LENGTH,
    InvalidChatName,
    InvalidMessageId,
    InvalidReaction,
    InvalidText,
    checked_text,
    normalize_public_chat_name,
    one_to_one_chat_id,
    parse_chat_key,
    parse_message_id,
    parse_reaction,
)
from pystatus.cli.chat_io import EventPrinter, event_json
from pystatus.cli.main import app

PYSTATUS = str(Path(sys.executable).parent / "pystatus")
PASSWORD = "chat password"
# Nothing listens here: a command that got past its checks would fail to connect instead.
NOWHERE = "/ip4/127.0.0.1/tcp/1/p2p/16Uiu2HAm1A9tbEbQFY2qF2xNnxh9bX4YVZD4AZY4Bko4ajJUQDXZ"
KEY = coincurve.PrivateKey(b"\x01" * 32).public_key
ID = "0x" + "ab" * 32


def test_every_key_form_names_the_same_chat_key() -> None:
    expected = chat_key_text(KEY.format())
    uncompressed = "0x" + KEY.format(compressed=False).hex()
    compressed = "0x" + KEY.format(compressed=True).hex()
    assert parse_chat_key(expected) == expected
    assert parse_chat_key(uncompressed) == expected
    assert parse_chat_key(uncompressed.upper().replace("0X", "0x")) == expected
    assert parse_chat_key(compressed) == expected
    assert one_to_one_chat_id(compressed) == uncompressed


@pytest.mark.parametrize(
    "text",
    [
        "0x04" + "00" * 64,  # the right length, not on the curve
        "0x02" + "ff" * 32,  # x past the field prime
        "0x05" + "11" * 32,  # no such prefix
        "0x04" + "11" * 63,  # too short
        "04" + "11" * 64,  # no 0x
        "zQ3notakey",
        "",
    ],
)
def test_keys_off_the_curve_or_malformed_are_refused(text: str) -> None:
    with pytest.raises(InvalidChatKey):
        parse_chat_key(text)


def test_public_chat_names_normalised_as_the_app_does() -> None:
    assert normalize_public_chat_name("#Status") == "status"
    assert normalize_public_chat_name("  status-dev ") == "status-dev"
    assert normalize_public_chat_name("web3") == "web3"
    for bad in ("", "#", "two words", "ünïcode", "status_dev", "##status"):
        with pytest.raises(InvalidChatName):
            normalize_public_chat_name(bad)


def test_texts_blank_or_past_status_gos_limit_are_refused() -> None:
    assert checked_text(" hi ") == " hi "
    assert checked_text("É" * MAX_TEXT_LENGTH) == "É" * MAX_TEXT_LENGTH  # runes, not bytes
    for bad in ("", " \n\t", "x" * (MAX_TEXT_LENGTH + 1)):
        with pytest.raises(InvalidText):
            checked_text(bad)


def test_message_ids_and_reactions() -> None:
    assert parse_message_id(ID.upper().replace("0X", "0x")) == ID
    for bad in ("0x12", "ab" * 32, ID + "00", "0x" + "zz" * 32):
        with pytest.raises(InvalidMessageId):
            parse_message_id(bad)
    assert [parse_reaction(e) for e in ("❤️", "👍", "👎", "😂", "😢", "😡")] == [1, 2, 3, 4, 5, 6]
    assert parse_reaction("Thumbs-Up") == 2 and parse_reaction("6") == 6
    for bad in ("7", "0", "🙂", "like"):
        with pytest.raises(InvalidReaction):
            parse_reaction(bad)


def test_rest_and_cli_share_one_text_limit() -> None:
    from pystatus.api import chat as api_chat

    assert api_chat.MAX_TEXT == MAX_TEXT_LENGTH == 4096  # status-go's maxChatMessageTextLength


def test_watch_lines_show_time_full_keys_and_names() -> None:
    author = chat_key_text(KEY.format())
    chat_id = "0x" + KEY.format(compressed=False).hex()
    event = ChatEvent(ID, chat_id, author, "hi [bold]", 5, 1_700_000_000_000, "", False)
    printer = EventPrinter()
    first, id_line = printer.lines(event)
    assert first.endswith(f"[{author}] {author}: hi [bold]") and id_line == f"  id {ID}"
    named = ChatEvent(ID, chat_id, author, "hi", 6, 1_700_000_000_000, "", False, display_name="Al")
    assert f"Al ({author}): hi" in printer.lines(named)[0]
    document = event_json(named)
    assert document["author"] == author and document["chat"] == author
    assert document["time"] == "2023-11-14T22:13:20.000Z" and document["displayName"] == "Al"


def test_the_names_a_watch_remembers_are_bounded() -> None:
    printer = EventPrinter(capacity=2)
    for n in range(3):
        printer.learn(f"key{n}", f"name{n}")
    assert "name0" not in printer._person("key0") and "name2" in printer._person("key2")


async def _pystatus(*args: str, stdin: bytes | None = None) -> tuple[int, str, str]:
    env = {**os.environ, "PYSTATUS_PASSWORD": PASSWORD, "COLUMNS": "200"}
    process = await asyncio.create_subprocess_exec(
        PYSTATUS,
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    try:
        async with asyncio.timeout(30):
            out, err = await process.communicate(stdin if stdin is not None else b"")
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


OFF_CURVE = "0x04" + "00" * 64


@pytest.mark.parametrize(
    ("args", "stdin", "says"),
    [
        (["send", "--to", OFF_CURVE, "--text", "hi"], None, "not a point on the secp256k1"),
        (["send", "--to", "zQ3shbad", "--text", "hi"], None, "not a chat key"),
        (["send", "--to", "bob", "--text", "hi"], None, "a chat key is zQ3"),
        (["send", "--to", "{key}", "--text", "   "], None, "the text is empty"),
        (["send", "--to", "{key}"], b"\n", "the text is empty"),
        (["send", "--to", "{key}", "--text", "-"], b"x" * 4097, "at most 4096"),
        (["send", "--to", "{key}", "--text", "a", "--text-file", "-"], None, "not both"),
        (["send", "--to", "{key}", "--text-file", "/nonexistent/t"], None, "cannot read"),
        (["send", "--to", "{key}", "--text", "hi", "--wait", "read"], None, "--wait is one"),
        (["send", "--to", "{key}", "--text", "hi", "--staticnode", "nowhere"], None, "nowhere"),
        (["send", "--to", "{key}", "--text", "hi", "--storenode", "/ip4/1"], None, "--storenode"),
        (["public", "join", "status", "--staticnode", "/dns4"], None, "--staticnode /dns4"),
        (["name", "Al"], None, "display name is 5 to 24"),
        (["public", "send", "Two Words", "hi"], None, "not a public chat name"),
        (["public", "join", "#"], None, "not a public chat name"),
        (["reply", "0x12", "hi"], None, "not a message id"),
        (["react", ID, "🙂"], None, "six reactions"),
        (["edit", ID, "--text", ""], None, "the text is empty"),
        (["request", OFF_CURVE, "--text", "hi"], None, "not a point"),
        (["accept", "0x0211"], None, "a chat key is zQ3"),
        (["watch", "--public-chat", "no way"], None, "--public-chat"),
        (["history", "0x04" + "00" * 64], None, "not a point"),
    ],
)
def test_usage_errors_exit_2_before_anything_starts(
    tmp_path: Path, args: list[str], stdin: bytes | None, says: str
) -> None:
    # In process (a `pystatus` process costs over a second to start); the real process's
    # handling of the same errors is checked below on a few of them.
    key = chat_key_text(KEY.format())
    argv = [a.replace("{key}", key) for a in args]
    network = [] if argv[0] == "history" else ["--staticnode", NOWHERE]
    result = CliRunner().invoke(
        app, ["chat", *argv, *network, "--data-dir", str(tmp_path)], input=stdin or b""
    )
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert says in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "account").exists(), "refused before the account was opened"


@pytest.mark.parametrize(
    ("args", "stdin", "says"),
    [
        (["send", "--to", "{key}"], b"\n", "the text is empty"),
        (["send", "--to", "{key}"], b"x" * 1_000_000, "at most 4096"),  # read no further
        (["send", "--to", OFF_CURVE, "--text", "hi"], None, "not a point on the secp256k1"),
    ],
)
async def test_usage_errors_of_a_real_process(
    tmp_path: Path, args: list[str], stdin: bytes | None, says: str
) -> None:
    argv = [a.replace("{key}", chat_key_text(KEY.format())) for a in args]
    code, out, err = await _pystatus(
        "chat", *argv, "--staticnode", NOWHERE, "--data-dir", str(tmp_path), stdin=stdin
    )
    assert code == 2, (out, err)
    assert says in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "account").exists(), "refused before the account was opened"


async def test_database_commands_print_json(tmp_path: Path) -> None:
    Account.create(tmp_path / "account", PASSWORD, params=ScryptParams(n=1 << 10))
    key = chat_key_text(KEY.format())
    code, out, err = await _pystatus("chat", "history", key, "--json", "--data-dir", str(tmp_path))
    assert code == 0, err
    assert json.loads(out) == {"chatId": one_to_one_chat_id(key), "messages": []}
    code, out, err = await _pystatus(
        "chat", "history", "#Status", "--json", "--data-dir", str(tmp_path)
    )
    assert code == 0, err
    assert json.loads(out)["chatId"] == "status"
    code, out, err = await _pystatus(
        "chat", "history", "zebra", "--json", "--data-dir", str(tmp_path)
    )
    assert code == 0, err
    assert json.loads(out)["chatId"] == "zebra", "a name, since it names no key"
    for args in (["requests", "--json"], ["requests", "list", "--json"]):
        code, out, err = await _pystatus("chat", *args, "--data-dir", str(tmp_path))
        assert code == 0, err
        assert json.loads(out) == {"requests": []}
    code, out, err = await _pystatus("chat", "contacts", "--json", "--data-dir", str(tmp_path))
    assert code == 0, err
    assert json.loads(out) == {"contacts": []}


async def test_a_wrong_password_is_a_runtime_failure(tmp_path: Path) -> None:
    Account.create(tmp_path / "account", "another password", params=ScryptParams(n=1 << 10))
    code, _, err = await _pystatus("chat", "history", "status", "--data-dir", str(tmp_path))
    assert code == 1
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
