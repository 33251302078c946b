"""Noise transport messages: each ciphertext, tag included, behind a 2-byte big-endian length."""

from __future__ import annotations

from pystatus.p2p.errors import DecodeError
from pystatus.p2p.noise.cipher import TAG_LEN, CipherState

MAX_MESSAGE = 65535
MAX_PLAINTEXT = MAX_MESSAGE - TAG_LEN
LENGTH_PREFIX = 2
FRAME_OVERHEAD = LENGTH_PREFIX + TAG_LEN
"""Bytes a frame adds to its plaintext."""


class NoiseTransport:
    """Encrypts outgoing plaintext into frames and decrypts incoming frames, sans-IO."""

    __slots__ = ("_buffer", "_pending", "_receive", "_send")

    def __init__(self, *, send: CipherState, receive: CipherState) -> None:
        self._send = send
        self._receive = receive
        self._buffer = bytearray()
        self._pending: list[bytes] = []

    def encrypt(self, plaintext: bytes) -> bytes:
        """Frames for ``plaintext``, split so no frame exceeds the Noise message limit."""
        if len(plaintext) <= MAX_PLAINTEXT:
            ciphertext = self._send.encrypt(b"", plaintext)
            return len(ciphertext).to_bytes(LENGTH_PREFIX, "big") + ciphertext
        frames = []
        view = memoryview(plaintext)
        for start in range(0, len(plaintext), MAX_PLAINTEXT):
            ciphertext = self._send.encrypt(b"", bytes(view[start : start + MAX_PLAINTEXT]))
            frames.append(len(ciphertext).to_bytes(LENGTH_PREFIX, "big"))
            frames.append(ciphertext)
        return b"".join(frames)

    def receive_data(self, data: bytes) -> list[bytes]:
        """Plaintexts of every complete frame received so far, in order.

        Raises :class:`DecodeError` when a frame fails authentication; the connection is then
        unusable, since the nonces of both sides no longer agree.
        """
        buffer = self._buffer
        buffer += data
        plaintexts: list[bytes] = []
        offset = 0
        size = len(buffer)
        while size - offset >= LENGTH_PREFIX:
            length = (buffer[offset] << 8) | buffer[offset + 1]
            end = offset + LENGTH_PREFIX + length
            if end > size:
                break
            if length < TAG_LEN:
                raise DecodeError(f"noise frame of {length} bytes is shorter than its tag")
            plaintexts.append(self._receive.decrypt(b"", bytes(buffer[offset + 2 : end])))
            offset = end
        if offset:
            del buffer[:offset]
        return plaintexts

    @property
    def buffered(self) -> int:
        """Bytes received that do not make a whole frame yet."""
        return len(self._buffer)

    def receive_early(self, data: bytes) -> None:
        """Bytes that arrived with the last handshake message; see :meth:`pending_plaintext`."""
        self._pending.extend(self.receive_data(data))

    def pending_plaintext(self) -> list[bytes]:
        pending, self._pending = self._pending, []
        return pending
