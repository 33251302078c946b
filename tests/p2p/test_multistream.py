"""multistream-select 1.0 between the sans-IO dialer and listener, and against byte fixtures."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pystatus.p2p.errors import (
    DecodeError,
    LimitExceeded,
    LocalProtocolError,
    NegotiationError,
    P2PError,
)
from pystatus.p2p.multistream import (
    MultistreamDialer,
    MultistreamListener,
    Negotiated,
    encode_line,
)


def _negotiate(
    dialer: MultistreamDialer, listener: MultistreamListener
) -> tuple[Negotiated | None, Negotiated | None]:
    dialed = listened = None
    for _ in range(10):
        listened = listened or listener.receive_data(dialer.data_to_send())
        out = listener.data_to_send()
        if out and dialed is None:
            dialed = dialer.receive_data(out)
        if dialed and listened:
            break
    return dialed, listened


def test_line_encoding_matches_the_spec() -> None:
    assert encode_line("/multistream/1.0.0") == b"\x13/multistream/1.0.0\n"


def test_first_choice_accepted() -> None:
    dialer = MultistreamDialer(["/noise"])
    listener = MultistreamListener(["/noise"])
    dialed, listened = _negotiate(dialer, listener)
    assert dialed == Negotiated("/noise", b"")
    assert listened == Negotiated("/noise", b"")


def test_falls_back_after_na() -> None:
    dialer = MultistreamDialer(["/yamux/1.0.0", "/mplex/6.7.0"])
    listener = MultistreamListener(["/mplex/6.7.0"])
    dialed, listened = _negotiate(dialer, listener)
    assert dialed is not None and dialed.protocol == "/mplex/6.7.0"
    assert listened is not None and listened.protocol == "/mplex/6.7.0"


def test_nothing_in_common_fails_the_dialer() -> None:
    dialer = MultistreamDialer(["/a"])
    listener = MultistreamListener(["/b"])
    listener.receive_data(dialer.data_to_send())
    with pytest.raises(NegotiationError, match="none of"):
        dialer.receive_data(listener.data_to_send())


def test_bytes_after_the_agreement_are_kept() -> None:
    dialer = MultistreamDialer(["/echo"])
    wire = dialer.data_to_send() + b"early application bytes"
    listener = MultistreamListener(["/echo"])
    result = listener.receive_data(wire)
    assert result == Negotiated("/echo", b"early application bytes")


def test_ls_lists_the_supported_protocols() -> None:
    listener = MultistreamListener(["/b", "/a"])
    listener.receive_data(encode_line("/multistream/1.0.0") + encode_line("ls"))
    out = listener.data_to_send()
    listing = encode_line("/a") + encode_line("/b")
    assert out == encode_line("/multistream/1.0.0") + bytes([len(listing) + 1]) + listing + b"\n"


def test_wrong_header_is_refused() -> None:
    listener = MultistreamListener(["/a"])
    with pytest.raises(NegotiationError):
        listener.receive_data(encode_line("/multistream/2.0.0"))


def test_too_many_proposals_hit_the_limit() -> None:
    listener = MultistreamListener(["/a"], max_attempts=3)
    wire = encode_line("/multistream/1.0.0") + b"".join(encode_line(f"/x{i}") for i in range(4))
    with pytest.raises(LimitExceeded):
        listener.receive_data(wire)


def test_long_and_malformed_lines_are_refused() -> None:
    with pytest.raises(LimitExceeded):
        MultistreamListener(["/a"], max_line=16).receive_data(encode_line("/" + "x" * 40))
    with pytest.raises(DecodeError, match="newline"):
        MultistreamListener(["/a"]).receive_data(b"\x03abc")
    with pytest.raises(DecodeError, match="empty"):
        MultistreamListener(["/a"]).receive_data(b"\x00")


def test_feeding_after_the_result_is_a_local_error() -> None:
    listener = MultistreamListener(["/a"])
    listener.receive_data(encode_line("/multistream/1.0.0") + encode_line("/a"))
    with pytest.raises(LocalProtocolError):
        listener.receive_data(b"")


@given(st.binary(max_size=200))
def test_fuzz_listener(data: bytes) -> None:
    listener = MultistreamListener(["/a", "/b"])
    with contextlib.suppress(P2PError):
        listener.receive_data(data)


@given(st.binary(max_size=200))
def test_fuzz_dialer(data: bytes) -> None:
    dialer = MultistreamDialer(["/a", "/b"])
    with contextlib.suppress(P2PError):
        dialer.receive_data(data)


@given(st.lists(st.text(min_size=1, max_size=30).filter(lambda t: "\n" not in t), max_size=8))
def test_fuzz_line_sequences(lines: list[str]) -> None:
    listener = MultistreamListener(["/a"])
    wire = encode_line("/multistream/1.0.0") + b"".join(encode_line(line) for line in lines)
    try:
        result = listener.receive_data(wire)
    except P2PError:
        return
    if result is not None:
        assert result.protocol == "/a"
