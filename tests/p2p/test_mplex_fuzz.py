"""The sans-IO mplex session under any chunking of its input and under fuzzing: only remote
protocol errors, and a session that stays consistent (see test_mplex.py for the model)."""

import contextlib
import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pystatus.p2p.errors import (
    LocalProtocolError,
    RemoteProtocolError,
    ResourceLimitError,
)
from pystatus.p2p.muxer.events import (
    MuxerEvent,
    StreamData,
    StreamOpened,
)
from pystatus.p2p.muxer.mplex import (
    MplexSession,
)
from tests.p2p.mplex_model import (
    CLOSE_I,
    CLOSE_R,
    MSG_I,
    MSG_R,
    NEW,
    RESET_I,
    RESET_R,
    JsMplexModel,
    decode_frames,
    frame,
)

# -- chunking ---------------------------------------------------------------------------------


def _wire_sample() -> bytes:
    sender = MplexSession(is_initiator=True)
    first = sender.open_stream()
    second = sender.open_stream()
    sender.send(first, b"a" * 70_000)
    sender.send(second, b"b")
    sender.send(first, b"c" * 200)
    sender.close_stream(first)
    sender.reset_stream(second)
    return sender.data_to_send()


def _normalise(events: list[MuxerEvent]) -> list[tuple[str, int, bytes]]:
    """Merge consecutive data events of one stream: chunking may split them differently."""
    out: list[tuple[str, int, bytes]] = []
    for event in events:
        if isinstance(event, StreamData):
            if out and out[-1][0] == "data" and out[-1][1] == event.stream_id:
                out[-1] = ("data", event.stream_id, out[-1][2] + event.data)
                continue
            out.append(("data", event.stream_id, event.data))
        else:
            out.append((type(event).__name__, getattr(event, "stream_id", -1), b""))
    return out


def test_byte_by_byte_feeding_gives_the_same_events() -> None:
    wire = _wire_sample()
    whole = MplexSession(is_initiator=False).receive_data(wire)
    session = MplexSession(is_initiator=False)
    events: list[MuxerEvent] = []
    for index in range(len(wire)):
        events += session.receive_data(wire[index : index + 1])
    assert _normalise(events) == _normalise(whole)
    assert events == whole  # a frame's body is delivered whole, never split


@settings(max_examples=60, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=70_400), max_size=20))
def test_any_chunking_gives_the_same_events(cuts: list[int]) -> None:
    wire = _wire_sample()
    bounds = sorted({0, len(wire), *(c for c in cuts if c < len(wire))})
    session = MplexSession(is_initiator=False)
    events: list[MuxerEvent] = []
    for start, stop in itertools.pairwise(bounds):
        events += session.receive_data(wire[start:stop])
    assert events == MplexSession(is_initiator=False).receive_data(wire)


# -- fuzzing ----------------------------------------------------------------------------------


def _check_consistent(session: MplexSession, limit: int) -> None:
    """Tables and counters agree, within the stream limit each way."""
    ours = [s for s in session._streams.values() if s.ours]
    theirs = [s for s in session._streams.values() if not s.ours]
    assert len(ours) == session._outbound <= limit
    assert len(theirs) == session._inbound <= limit
    assert not session._doomed
    assert not any(s.doomed or (s.local_closed and s.remote_closed) for s in ours + theirs)
    if session.is_closed:
        assert session.stream_count == 0


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chunks=st.lists(st.binary(max_size=64), max_size=8))
def test_fuzz_raw_bytes_raise_only_remote_protocol_errors(chunks: list[bytes]) -> None:
    session = MplexSession(is_initiator=False, max_streams=4, max_message_size=32)
    for chunk in chunks:
        try:
            session.receive_data(chunk)
        except RemoteProtocolError:
            assert session.is_closed
        _check_consistent(session, 4)
        session.data_to_send()


# NewStream and data drawn more often, so limits and overflows are reached.
_peer_frame = st.tuples(
    st.just("peer"),
    st.integers(0, 7),
    st.sampled_from([NEW, NEW, MSG_R, MSG_I, MSG_I, CLOSE_R, CLOSE_I, RESET_R, RESET_I]),
    st.binary(max_size=12),
)
_app_action = st.tuples(
    st.sampled_from(["open", "send", "close", "reset", "consume"]),
    st.integers(0, 7),
    st.integers(0, 6),
    st.binary(max_size=12),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    actions=st.lists(st.one_of(_peer_frame, _app_action), max_size=60),
    batch=st.integers(1, 4),
)
def test_fuzz_session_against_an_arbitrary_peer(
    actions: list[tuple[str, int, int, bytes]], batch: int
) -> None:
    """Whatever the peer sends, we raise only RemoteProtocolError, stay consistent, and never
    send a frame for a stream the peer (as js tracks streams) has finished."""
    session = MplexSession(is_initiator=True, max_streams=2, max_unconsumed_per_stream=8)
    peer = JsMplexModel()
    known: list[int] = []
    pending = b""
    pending_count = 0
    peer_next = 0
    for index, (kind, a, b, data) in enumerate(actions):
        if kind == "peer":
            payload = data if b in (NEW, MSG_R, MSG_I) else b""
            if b == NEW:
                # Like js, the peer never reuses an id; other frames may name any stream.
                mplex_id = peer_next
                peer_next += 1
            else:
                mplex_id = a % (max(peer_next, session._next_id) + 1)
            peer.sent(mplex_id, b)
            pending += frame(mplex_id, b, payload)
            pending_count += 1
            last = index + 1 == len(actions)
            if pending_count < batch and not last and actions[index + 1][0] == "peer":
                continue
            # Delivered before the application acts again: nothing crosses on the wire.
            pending_count = 0
            chunk, pending = pending, b""
            try:
                events = session.receive_data(chunk)
            except RemoteProtocolError:
                assert session.is_closed
                return
            known += [e.stream_id for e in events if isinstance(e, StreamOpened)]
        elif kind == "open":
            with contextlib.suppress(ResourceLimitError):
                known.append(session.open_stream())
        elif known:
            stream_id = known[a % len(known)]
            if kind == "send":
                try:
                    assert session.send(stream_id, data) == len(data)
                except LocalProtocolError:
                    assert session.send_window(stream_id) == 0
            elif kind == "close":
                session.close_stream(stream_id)
            elif kind == "reset":
                session.reset_stream(stream_id)
            else:
                session.consumed(stream_id, b)
        _check_consistent(session, 2)
        for mplex_id, flag, _ in decode_frames(session.data_to_send()):
            peer.received(mplex_id, flag)
        peer.assert_clean()
