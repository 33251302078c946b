"""One peer's outgoing relay stream (11/WAKU2-RELAY over gossipsub) and its bounded queue.

Gossipsub sends on one stream per peer that it opens itself and the peer only reads. The
writer opens it (after a delay when it replaces one that failed), writes queued RPCs as
varint-length-prefixed frames, and reports once, through ``on_failed``, a stream that did not
open or died: the relay then drops the peer's router state and reopens with a back-off, as
go-libp2p's pubsub respawns a dead peer's writer while the connection stays up
(``comm.go`` handlePeerDead, ``pubsub.go`` handleDeadPeers). A writer cancelled (the peer
disconnected, the relay stopped) reports nothing.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Callable

from pystatus.p2p.errors import P2PError
from pystatus.p2p.gossipsub.rpc import RELAY_PROTOCOL_ID
from pystatus.p2p.host import Host
from pystatus.p2p.peer_id import PeerId
from pystatus.p2p.stream import Stream
from pystatus.p2p.tasks import TaskSet
from pystatus.p2p.varint import length_prefixed

log = logging.getLogger(__name__)

MAX_SEND_QUEUE_BYTES = 8 * 1024 * 1024
"""Bytes of RPCs a peer's writer holds before further RPCs to it are dropped."""


class PeerWriter:
    """The outgoing relay stream to ``peer``, opened ``delay`` seconds after creation; what
    is queued before it opens waits. ``outbound`` tells the router how the connection was
    made. ``on_failed(writer, kind)`` is called at most once, with ``kind`` "open" (the stream
    did not open), "reset" (the peer reset it) or "write" (a write failed otherwise)."""

    def __init__(
        self,
        host: Host,
        peer: PeerId,
        *,
        outbound: bool,
        delay: float,
        tasks: TaskSet,
        clock: Callable[[], float],
        on_failed: Callable[[PeerWriter, str], None],
    ) -> None:
        self.host = host
        self.peer = peer
        self.outbound = outbound
        self.queue: collections.deque[bytes] = collections.deque()
        self.queued_bytes = 0
        self.wake = asyncio.Event()
        self.stream: Stream | None = None
        self.opened_at: float | None = None
        """When the stream opened (``clock``'s seconds), None before."""
        self._clock = clock
        self._on_failed = on_failed
        self._tasks = tasks
        self._idle = False
        """The stream is open and the task waits for work: the next RPC can go at once."""
        self.task = tasks.spawn(self._run(delay), name=f"relay writer {peer}")

    def enqueue(self, rpc: bytes) -> bool:
        """Queue one RPC; False (and nothing queued) when the queue is full.

        An RPC that finds the writer idle is written at once, inside this call: a message
        crossing a node then waits for no task switch. The task still wakes, to wait out the
        transport's back-pressure, and whatever is queued meanwhile goes in one batch.
        """
        frame = length_prefixed(rpc)
        if self.queued_bytes + len(frame) > MAX_SEND_QUEUE_BYTES:
            return False
        self.queue.append(frame)
        self.queued_bytes += len(frame)
        self.wake.set()
        if self._idle and self.stream is not None:
            self._idle = False
            self._write_now(self.stream)
        return True

    def _write_now(self, stream: Stream) -> None:
        batch = b"".join(self.queue)
        try:
            accepted = stream.write_nowait(batch)
        except (P2PError, OSError):
            return  # left queued: the task's write meets the error and reports it
        self.queue.clear()
        if accepted < len(batch):
            self.queue.append(batch[accepted:])  # the task waits for the window
        self.queued_bytes = len(batch) - accepted

    def cancel(self) -> None:
        self.task.cancel()

    async def _run(self, delay: float) -> None:
        if delay > 0:
            await asyncio.sleep(delay)
        try:
            stream = await self.host.new_stream(self.peer, [RELAY_PROTOCOL_ID])
        except (P2PError, OSError) as exc:
            log.debug("relay stream to %s did not open: %r", self.peer, exc)
            self._on_failed(self, "open")
            return
        self.stream = stream
        self.opened_at = self._clock()
        watcher = self._tasks.spawn(self._watch(stream), name="relay stream watch")
        kind = "reset"
        try:
            while not stream.is_reset:
                self._idle = not self.queue
                await self.wake.wait()
                self._idle = False
                self.wake.clear()
                while self.queue and not stream.is_reset:
                    batch = b"".join(self.queue)
                    self.queue.clear()
                    self.queued_bytes = 0
                    await stream.write(batch)
                await stream.drain()  # after a write made at once by enqueue
        except (P2PError, OSError) as exc:
            log.debug("relay stream to %s ended: %r", self.peer, exc)
            kind = "reset" if stream.is_reset else "write"
        finally:
            self._idle = False
            watcher.cancel()
            if not stream.is_reset:
                await stream.reset()
        self._on_failed(self, kind)

    async def _watch(self, stream: Stream) -> None:
        """Wake the writer when the peer resets the stream, so the failure is seen when it
        happens rather than at the next write (whose RPC would be lost with it)."""
        try:
            # Gossipsub peers never write on the stream we send on; anything is discarded.
            # End of stream only says the peer will not write: it may still read.
            while await stream.read():
                pass
        except (P2PError, OSError):
            self.wake.set()
