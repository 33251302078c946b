"""Tests of the sans-IO mplex session.

Two sessions are wired together in memory. Every frame either side sends is also run through
:class:`JsMplexModel`, a model of the stream bookkeeping of js ``@libp2p/mplex`` 11.0.42
(``mplex.ts`` ``_handleIncoming``, ``@libp2p/utils`` ``abstract-stream.ts``): js forgets a stream
once its sink and source have both ended (its CLOSE sent and the peer's CLOSE received) or on
a reset either way, and counts every later frame for it as a "missing stream" frame; six of
those within a second abort the connection. The pair tests assert that count stays at zero.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from pystatus.p2p.errors import (
    DecodeError,
    LimitExceeded,
    LocalProtocolError,
    RemoteProtocolError,
    ResourceLimitError,
)
from pystatus.p2p.muxer.base import MuxerSession
from pystatus.p2p.muxer.events import (
    StreamData,
    StreamEnded,
    StreamOpened,
    StreamReset,
)
from pystatus.p2p.muxer.mplex import (
    LATE_WINDOW_FRAMES,
    MAX_LATE_FRAMES,
    MPLEX_PROTOCOL_ID,
    MplexSession,
)
from tests.interop.harness import INTEROP_DIR, node_command
from tests.p2p.mplex_model import (
    CLOSE_I,
    CLOSE_R,
    MSG_I,
    MSG_R,
    NEW,
    RESET_I,
    RESET_R,
    Pair,
    decode_frames,
    frame,
    peer_of,
    uvarint,
)
from tests.p2p.muxer_conformance import CHECKS, PairFactory

# -- known answers ----------------------------------------------------------------------------


def test_known_answer_frames_sent() -> None:
    session = MplexSession(is_initiator=True)
    assert session.protocol_id == MPLEX_PROTOCOL_ID == "/mplex/6.7.0"
    first = session.open_stream()
    assert session.data_to_send() == b"\x00\x01" + b"0"  # NewStream id 0, name "0"
    second = session.open_stream()
    assert session.data_to_send() == b"\x08\x01" + b"1"  # id 1: header 1 << 3 | 0
    assert session.send(first, b"hi") == 2
    assert session.data_to_send() == b"\x02\x02hi"  # MessageInitiator
    session.send(second, b"x" * 300)
    assert session.data_to_send() == b"\x0a\xac\x02" + b"x" * 300  # 300 = ac 02
    session.close_stream(first)
    assert session.data_to_send() == b"\x04\x00"  # CloseInitiator
    session.reset_stream(second)
    assert session.data_to_send() == b"\x0e\x00"  # ResetInitiator, id 1
    for _ in range(14):
        session.open_stream()
    session.data_to_send()
    session.open_stream()  # id 16: header 128 takes two varint bytes
    assert session.data_to_send() == b"\x80\x01\x02" + b"16"


def test_known_answer_frames_received_and_receiver_flags() -> None:
    session = MplexSession(is_initiator=False)
    events = session.receive_data(b"\x00\x010" + b"\x02\x05hello" + b"\x04\x00")
    assert events == [StreamOpened(1), StreamData(1, b"hello"), StreamEnded(1)]
    session.send(1, b"ok")
    session.close_stream(1)
    assert session.data_to_send() == b"\x01\x02ok" + b"\x03\x00"  # receiver flags 1 and 3
    assert session.stream_count == 0
    session.receive_data(b"\x08\x011")
    session.reset_stream(3)
    assert session.data_to_send() == b"\x0d\x00"  # ResetReceiver, id 1


# -- pairs ------------------------------------------------------------------------------------


def test_open_data_both_ways_and_half_close() -> None:
    pair = Pair()
    sid = pair.a.open_stream()
    pair.a.send(sid, b"request")
    pair.pump()
    assert pair.take_b() == [StreamOpened(peer_of(sid)), StreamData(peer_of(sid), b"request")]
    pair.a.close_stream(sid)
    pair.pump()
    assert pair.take_b() == [StreamEnded(peer_of(sid))]
    assert pair.a.stream_count == pair.b.stream_count == 1
    # The half-closed side can still read.
    pair.b.send(peer_of(sid), b"response")
    pair.pump()
    assert pair.take_a() == [StreamData(sid, b"response")]
    with pytest.raises(LocalProtocolError):
        pair.a.send(sid, b"more")
    assert pair.a.send_window(sid) == 0
    pair.b.close_stream(peer_of(sid))
    pair.pump()
    assert pair.take_a() == [StreamEnded(sid)]
    assert pair.a.stream_count == pair.b.stream_count == 0
    pair.assert_clean()


def test_close_is_idempotent_and_sent_once() -> None:
    pair = Pair()
    sid = pair.a.open_stream()
    pair.a.close_stream(sid)
    pair.a.close_stream(sid)
    pair.pump()
    assert pair.take_b() == [StreamOpened(peer_of(sid)), StreamEnded(peer_of(sid))]
    pair.b.close_stream(peer_of(sid))
    pair.pump()
    # Both directions finished: the stream is gone and nothing more is ever sent for it.
    pair.a.close_stream(sid)
    pair.a.reset_stream(sid)
    pair.b.close_stream(peer_of(sid))
    pair.b.reset_stream(peer_of(sid))
    assert pair.a.data_to_send() == pair.b.data_to_send() == b""
    pair.assert_clean()


@pytest.mark.parametrize("resetter", ["a", "b"])
def test_reset_in_either_direction(resetter: str) -> None:
    pair = Pair()
    sid = pair.a.open_stream()
    pair.a.send(sid, b"x")
    pair.pump()
    pair.take_b()
    local, remote = (pair.a, pair.b) if resetter == "a" else (pair.b, pair.a)
    local_id, remote_id = (sid, peer_of(sid)) if resetter == "a" else (peer_of(sid), sid)
    local.reset_stream(local_id)
    local.reset_stream(local_id)
    pair.pump()
    assert (pair.take_b() if resetter == "a" else pair.take_a()) == [StreamReset(remote_id)]
    assert local.stream_count == remote.stream_count == 0
    for session, stream_id in ((local, local_id), (remote, remote_id)):
        with pytest.raises(LocalProtocolError):
            session.send(stream_id, b"late")
        assert session.send_window(stream_id) == 0
        session.close_stream(stream_id)
        session.reset_stream(stream_id)
        session.consumed(stream_id, 10)
        assert session.data_to_send() == b""
    pair.assert_clean()


def test_reset_after_peer_half_close_is_still_sent() -> None:
    # The peer closed its write side but still reads: it tracks the stream, so RESET is due.
    pair = Pair()
    sid = pair.a.open_stream()
    pair.a.close_stream(sid)
    pair.pump()
    pair.b.reset_stream(peer_of(sid))
    pair.pump()
    assert pair.take_a() == [StreamReset(sid)]
    assert pair.a.stream_count == pair.b.stream_count == 0
    pair.assert_clean()


def _serve(pair: Pair, reset_ids: set[int]) -> None:
    """b's application: answer every request stream it saw end, reset some instead."""
    for event in pair.take_b():
        if isinstance(event, StreamEnded):
            if event.stream_id in reset_ids:
                pair.b.reset_stream(event.stream_id)
                continue
            try:
                pair.b.send(event.stream_id, b"reply")
            except LocalProtocolError:
                continue  # reset meanwhile: the application is told by StreamReset
            pair.b.close_stream(event.stream_id)
            pair.b.close_stream(event.stream_id)


def test_burst_of_short_request_streams_never_names_a_finished_stream() -> None:
    pair = Pair()
    ids = []
    for n in range(100):
        sid = pair.a.open_stream()
        ids.append(sid)
        pair.a.send(sid, b"request %d" % n)
        pair.a.close_stream(sid)
        if n % 10 == 3:
            pair.a.reset_stream(sid)  # the client gives up before the server saw anything
    pair.pump()
    _serve(pair, reset_ids={peer_of(s) for s in ids[5::10]})
    pair.pump()
    replies: dict[int, bytes] = {}
    ended = set()
    reset = set()
    for event in pair.take_a():
        if isinstance(event, StreamData):
            replies[event.stream_id] = replies.get(event.stream_id, b"") + event.data
        elif isinstance(event, StreamEnded):
            ended.add(event.stream_id)
        elif isinstance(event, StreamReset):
            reset.add(event.stream_id)
    answered = [s for i, s in enumerate(ids) if i % 10 not in (3, 5)]
    assert replies == dict.fromkeys(answered, b"reply")
    assert ended == set(answered)
    assert reset == set(ids[5::10])
    # Late actions by both applications must not put anything on the wire.
    for sid in ids:
        pair.a.close_stream(sid)
        pair.a.reset_stream(sid)
        pair.b.close_stream(peer_of(sid))
        pair.b.reset_stream(peer_of(sid))
    assert pair.a.data_to_send() == pair.b.data_to_send() == b""
    assert pair.a.stream_count == pair.b.stream_count == 0
    assert pair.a.stats.late_frames == pair.b.stats.late_frames == 0
    pair.assert_clean()


def test_server_closing_first_then_client() -> None:
    # The responder answers and closes before the request side closed: the stream stays
    # until the client's CLOSE arrives, and the client's CLOSE is not late.
    pair = Pair()
    sid = pair.a.open_stream()
    pair.a.send(sid, b"q")
    pair.pump()
    pair.b.send(peer_of(sid), b"r")
    pair.b.close_stream(peer_of(sid))
    pair.pump()
    assert pair.b.stream_count == 1
    pair.a.close_stream(sid)
    pair.pump()
    assert pair.a.stream_count == pair.b.stream_count == 0
    pair.assert_clean()


def test_late_frames_for_removed_streams_are_ignored_and_counted() -> None:
    pair = Pair()
    sid = pair.a.open_stream()
    pair.pump()
    pair.take_b()
    # a resets while b's data and CLOSE are already on the wire: they cross.
    pair.a.reset_stream(sid)
    pair.b.send(peer_of(sid), b"in flight")
    pair.b.close_stream(peer_of(sid))
    pair.pump()
    assert pair.take_a() == []
    assert pair.take_b() == [StreamReset(peer_of(sid))]
    assert pair.a.stats.late_frames == 2
    assert not pair.a.is_closed
    # The crossing frames are the only ones a js peer would have counted; nobody answered.
    assert pair.js_a.missing == [(0, MSG_R), (0, CLOSE_R)]
    assert pair.js_b.missing == []
    assert pair.a.data_to_send() == pair.b.data_to_send() == b""


def test_duplicate_close_and_data_after_close_are_ignored() -> None:
    session = MplexSession(is_initiator=False)
    events = session.receive_data(
        frame(0, NEW) + frame(0, CLOSE_I) + frame(0, MSG_I, b"late") + frame(0, CLOSE_I)
    )
    assert events == [StreamOpened(1), StreamEnded(1)]
    assert session.stats.late_frames == 2
    assert session.stream_count == 1


def test_flood_of_frames_for_unknown_streams_is_a_protocol_error() -> None:
    session = MplexSession(is_initiator=False)
    assert session.receive_data(frame(7, MSG_I, b"x") * MAX_LATE_FRAMES) == []
    with pytest.raises(LimitExceeded):
        session.receive_data(frame(7, CLOSE_I))
    assert session.is_closed
    assert session.receive_data(frame(0, NEW)) == []


def test_late_frame_window_starts_over() -> None:
    session = MplexSession(is_initiator=False)
    session.receive_data(frame(0, NEW))
    session.receive_data(frame(9, MSG_I, b"x") * MAX_LATE_FRAMES)
    session.receive_data(frame(0, MSG_I, b"y") * LATE_WINDOW_FRAMES)
    session.consumed(1, LATE_WINDOW_FRAMES)
    session.receive_data(frame(9, MSG_I, b"x") * MAX_LATE_FRAMES)
    assert not session.is_closed


# -- limits -----------------------------------------------------------------------------------


def test_inbound_stream_limit_refuses_with_reset_and_carries_on() -> None:
    a = MplexSession(is_initiator=True, max_streams=3)
    for _ in range(3):
        a.open_stream()
    b = MplexSession(is_initiator=False, max_streams=2)
    events = b.receive_data(a.data_to_send() + frame(2, MSG_I, b"x") + frame(2, CLOSE_I))
    assert events == [StreamOpened(1), StreamOpened(3)]
    assert b.data_to_send() == frame(2, RESET_R)
    assert b.stats.refused_streams == 1
    assert b.stats.late_frames == 0  # frames of the refused stream in the same chunk
    assert b.stream_count == 2
    assert not b.is_closed
    # A refused stream the peer resets in the same chunk gets no RESET back.
    assert b.receive_data(frame(3, NEW) + frame(3, RESET_I)) == []
    assert b.data_to_send() == b""
    # Room again once one finishes.
    b.reset_stream(1)
    assert b.receive_data(frame(4, NEW)) == [StreamOpened(9)]


def test_refusal_in_a_pair_keeps_both_models_clean() -> None:
    pair = Pair(max_streams=3)
    pair.b = MplexSession(is_initiator=False, max_streams=1)
    first = pair.a.open_stream()
    second = pair.a.open_stream()
    pair.a.send(second, b"x")
    pair.pump()
    assert pair.take_a() == [StreamReset(second)]
    assert pair.take_b() == [StreamOpened(peer_of(first))]
    pair.assert_clean()


def test_outbound_stream_limit() -> None:
    session = MplexSession(is_initiator=True, max_streams=2)
    first = session.open_stream()
    session.open_stream()
    with pytest.raises(ResourceLimitError):
        session.open_stream()
    session.reset_stream(first)
    session.open_stream()


def test_unconsumed_data_over_the_limit_resets_the_stream() -> None:
    pair = Pair(max_unconsumed_per_stream=10)
    sid = pair.a.open_stream()
    pair.a.send(sid, b"123456")
    pair.pump()
    pair.b.consumed(peer_of(sid), 6)
    pair.a.send(sid, b"123456")
    pair.pump()
    assert pair.take_b()[-1] == StreamData(peer_of(sid), b"123456")
    pair.a.send(sid, b"123456")  # 12 unread bytes now
    pair.pump()
    assert pair.take_b() == [StreamReset(peer_of(sid))]
    assert pair.take_a() == [StreamReset(sid)]
    assert pair.b.stats.overflow_resets == 1
    assert pair.a.stream_count == pair.b.stream_count == 0
    pair.assert_clean()


def test_overflow_with_stream_finished_in_the_same_chunk_sends_no_reset() -> None:
    session = MplexSession(is_initiator=False, max_unconsumed_per_stream=4)
    session.receive_data(frame(0, NEW))
    session.close_stream(1)
    session.data_to_send()
    # The peer sends too much, then CLOSE: it forgets the stream on sending that CLOSE.
    events = session.receive_data(frame(0, MSG_I, b"toolong") + frame(0, CLOSE_I))
    assert events == [StreamReset(1)]
    assert session.data_to_send() == b""
    assert session.stream_count == 0
    # Without our CLOSE the peer still reads, so the reset is sent.
    session.receive_data(frame(1, NEW))
    session.receive_data(frame(1, MSG_I, b"toolong") + frame(1, CLOSE_I))
    assert session.data_to_send() == frame(1, RESET_R)


def test_send_splits_at_max_message_size_and_skips_empty_writes() -> None:
    pair = Pair(max_message_size=1000)
    sid = pair.a.open_stream()
    pair.pump()
    assert pair.a.send(sid, b"") == 0
    assert pair.a.data_to_send() == b""
    payload = bytes(range(250)) * 10
    assert pair.a.send(sid, payload) == 2500
    assert pair.a.send(sid, b"tail") == 4
    out = pair.a.data_to_send()
    assert [len(f[2]) for f in decode_frames(out)] == [1000, 1000, 500, 4]
    events = pair.b.receive_data(out)
    assert b"".join(e.data for e in events if isinstance(e, StreamData)) == payload + b"tail"
    assert pair.a.send_window(sid) >= 1 << 20


# -- malformed input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (uvarint(0 << 3 | MSG_I) + uvarint((1 << 20) + 1), LimitExceeded),  # no body needed
        (b"\xff" * 10, DecodeError),  # a varint over 9 bytes
        (b"\x80\x00", DecodeError),  # non-minimal header
        (b"\x02\x80\x00", DecodeError),  # non-minimal length
        (b"\x07\x00", DecodeError),  # flag 7
        (frame(0, NEW) + frame(0, NEW), RemoteProtocolError),  # opened twice while open
        (frame(0, NEW, b"n" * 1025), LimitExceeded),  # not a stream name
    ],
)
def test_malformed_input_closes_the_session(data: bytes, error: type[Exception]) -> None:
    session = MplexSession(is_initiator=False)
    with pytest.raises(error):
        session.receive_data(data)
    assert session.is_closed
    assert session.stream_count == 0
    assert session.receive_data(frame(1, NEW)) == []
    with pytest.raises(LocalProtocolError):
        session.open_stream()


def test_a_finished_stream_id_may_be_opened_again() -> None:
    session = MplexSession(is_initiator=False)
    session.receive_data(frame(0, NEW) + frame(0, RESET_I))
    assert session.receive_data(frame(0, NEW)) == [StreamOpened(1)]


def test_close_resets_every_open_stream_once() -> None:
    pair = Pair()
    open_id = pair.a.open_stream()
    half = pair.a.open_stream()
    done = pair.a.open_stream()
    pair.a.close_stream(half)
    pair.a.close_stream(done)
    pair.pump()
    pair.b.close_stream(peer_of(done))
    pair.pump()
    pair.take_b()
    pair.a.close()
    pair.a.close()
    assert pair.a.is_closed
    assert pair.a.stream_count == 0
    assert pair.a.data_to_send() == frame(0, RESET_I) + frame(1, RESET_I)
    with pytest.raises(LocalProtocolError):
        pair.a.open_stream()
    with pytest.raises(LocalProtocolError):
        pair.a.send(open_id, b"x")
    pair.a.ping(1)
    assert pair.a.data_to_send() == b""


# -- the real js-mplex ------------------------------------------------------------------------

_JS_CLIENT = """
import { mplex } from '@libp2p/mplex'
import { defaultLogger } from '@libp2p/logger'
import { pipe } from 'it-pipe'

const mode = process.argv[2]
const count = Number(process.argv[3])
const muxer = mplex()({ logger: defaultLogger() }).createStreamMuxer({ direction: 'outbound' })
let missing = 0
const consume = muxer.rateLimiter.consume.bind(muxer.rateLimiter)
muxer.rateLimiter.consume = async (key, points) => {
  if (key === 'missing-stream') missing++
  return consume(key, points)
}
const input = (async function * () { for await (const chunk of process.stdin) yield chunk })()
const done = pipe(input, muxer, async (source) => {
  for await (const chunk of source) process.stdout.write(chunk.subarray())
}).catch(() => {})
let replies = 0
await Promise.all(Array.from({ length: count }, async (_, i) => {
  const stream = muxer.newStream()
  await stream.sink([new TextEncoder().encode('request ' + i)])
  for await (const chunk of stream.source) {
    replies++
    if (mode === 'first') break  // stop reading after the reply, as it-first does
  }
}).map(p => p.catch(() => {})))
await done
process.stderr.write(JSON.stringify({
  missing, replies, aborted: muxer.closeController.signal.aborted
}) + '\\n')
"""

_NODE_MODULES = INTEROP_DIR / "node_modules"


@pytest.mark.interop
@pytest.mark.parametrize("mode", ["read-to-eof", "first"])
def test_js_mplex_burst_of_request_streams_counts_no_missing_stream(
    mode: str, tmp_path: Path
) -> None:
    """js opens 100 request streams at once; we answer each (data + CLOSE). js must never see
    a frame for a stream it already dropped, whether it reads to EOF or stops after the reply."""
    command = node_command()  # fails, never skips, without Node.js and the npm peers
    (tmp_path / "node_modules").symlink_to(_NODE_MODULES)
    script = tmp_path / "client.mjs"
    script.write_text(_JS_CLIENT)
    count = 100
    session = MplexSession(is_initiator=False)
    answered = 0
    with subprocess.Popen(
        [*command, str(script), mode, str(count)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as proc:
        assert proc.stdin is not None
        assert proc.stdout is not None
        assert proc.stderr is not None
        try:
            while answered < count or session.stream_count:
                ready, _, _ = select.select([proc.stdout], [], [], 20)
                assert ready, "js-mplex went quiet"
                data = os.read(proc.stdout.fileno(), 1 << 16)
                assert data, "js-mplex closed the connection"
                for event in session.receive_data(data):
                    if isinstance(event, StreamEnded):
                        session.send(event.stream_id, b"reply")
                        session.close_stream(event.stream_id)
                        answered += 1
                proc.stdin.write(session.data_to_send())
                proc.stdin.flush()
            proc.stdin.close()
            result = json.loads(proc.stderr.read())
            assert proc.wait(timeout=20) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
    assert result == {"missing": 0, "replies": count, "aborted": False}
    assert session.stats.late_frames == 0


def _mplex_pair() -> tuple[MuxerSession, MuxerSession]:
    return MplexSession(is_initiator=True), MplexSession(is_initiator=False)


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_conformance(check: Callable[[PairFactory], None]) -> None:
    check(_mplex_pair)
