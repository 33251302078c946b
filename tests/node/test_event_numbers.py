"""/chat/v1/events numbers across restarts: EventLog reserves them in <account dir>/events.seq
(the REST process test is tests/cli/test_datadir.py::test_event_numbers_go_on_after_a_restart)."""

from __future__ import annotations

import asyncio
import logging
import stat
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest

from pystatus.api.chat import EVENT_SEQ_BLOCK, EVENT_SEQ_FILE, EventLog
from pystatus.node.datadir import DataDirError


class _Messenger:
    """What EventLog uses of a Messenger: its account's directory and its listeners."""

    def __init__(self, directory: Path) -> None:
        self.account = SimpleNamespace(directory=directory)
        self.listeners: list[Callable[[object], None]] = []

    def add_listener(self, listener: Callable[[object], None]) -> None:
        self.listeners.append(listener)

    def emit(self, count: int) -> None:
        for index in range(count):
            for listener in self.listeners:
                listener(_event(index))


def _event(index: int) -> SimpleNamespace:
    return SimpleNamespace(
        id=f"0x{index:064x}",
        chat_id="chat",
        author="zQ3author",
        text="",
        clock=index + 1,
        timestamp=index + 1,
        response_to="",
        outgoing=False,
        status="",
        display_name="",
        content_type=1,
        edited=False,
        deleted=False,
        pinned=False,
        kind="message",
        reaction=0,
        contact_state="",
    )


def _log(directory: Path) -> tuple[EventLog, _Messenger]:
    messenger = _Messenger(directory)
    return EventLog(messenger), messenger  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "before", [1, EVENT_SEQ_BLOCK - 1, EVENT_SEQ_BLOCK, 2 * EVENT_SEQ_BLOCK + 5]
)
async def test_a_restart_goes_on_above_every_number_handed_out(tmp_path: Path, before: int) -> None:
    log, messenger = _log(tmp_path)
    assert log.next_seq == 1
    messenger.emit(before)
    seen = await log.since(0, 0)
    assert [e.seq for e in seen.events] == list(range(1, before + 1))
    assert stat.S_IMODE((tmp_path / EVENT_SEQ_FILE).stat().st_mode) == 0o600
    # A restart without any clean-up (the file is all that is left), then one event.
    again, messenger = _log(tmp_path)
    assert again.next_seq > before
    assert (await again.since(seen.next, 0)).events == []
    messenger.emit(1)
    after = await again.since(seen.next, 0)
    assert [e.seq for e in after.events] == [again.next_seq - 1]
    assert after.events[0].seq >= seen.next
    assert again.next_seq - 1 - before <= EVENT_SEQ_BLOCK  # a restart skips at most a block


async def test_a_poll_from_before_a_restart_waits_for_what_comes_after(tmp_path: Path) -> None:
    _, messenger = _log(tmp_path)
    messenger.emit(3)
    again, messenger = _log(tmp_path)
    # The client had "next": 4. Nothing is newer yet, so the long poll waits, and it wakes
    # with the first event of the new run (answering at once with nothing would spin it).
    poll = asyncio.ensure_future(again.since(4, 10))
    await asyncio.sleep(0)  # let the poll start waiting
    assert not poll.done()
    messenger.emit(1)
    async with asyncio.timeout(5):
        answer = await poll
    assert [e.seq for e in answer.events] == [again.next_seq - 1]


def test_a_mangled_number_file_is_a_typed_error(tmp_path: Path) -> None:
    (tmp_path / EVENT_SEQ_FILE).write_text("seven\n")
    with pytest.raises(DataDirError, match="holds no event number"):
        _log(tmp_path)


async def test_numbers_go_on_when_they_cannot_be_kept_and_it_is_said_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / f"{EVENT_SEQ_FILE}.tmp").mkdir()  # where the new number is written first
    log, messenger = _log(tmp_path)
    with caplog.at_level(logging.WARNING, logger="pystatus.api.chat"):
        messenger.emit(3)
    assert [e.seq for e in (await log.since(0, 0)).events] == [1, 2, 3]
    assert not (tmp_path / EVENT_SEQ_FILE).exists()
    assert [r.getMessage().split(":")[0] for r in caplog.records] == [
        "event numbers not kept across restarts"
    ]
    (tmp_path / f"{EVENT_SEQ_FILE}.tmp").rmdir()
    messenger.emit(1)
    assert int((tmp_path / EVENT_SEQ_FILE).read_text()) == 4 + EVENT_SEQ_BLOCK
