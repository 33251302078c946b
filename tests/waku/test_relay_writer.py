"""The relay's per-peer writer: an RPC that finds it idle goes out at once, a burst in one batch."""

from __future__ import annotations

from pystatus.p2p.gossipsub.rpc import RELAY_PROTOCOL_ID
from pystatus.p2p.stream import Stream
from pystatus.p2p.tasks import TaskSet
from pystatus.p2p.varint import LengthPrefixedReader
from pystatus.waku.relay_writer import PeerWriter
from tests.p2p.hosts import running_host, wait_for, within


async def test_an_idle_writer_writes_at_once_and_batches_a_burst() -> None:
    received: list[bytes] = []

    async def sink(stream: Stream) -> None:
        reader = LengthPrefixedReader(1 << 20)
        while chunk := await stream.read():
            received.extend(reader.feed(chunk))

    failures: list[str] = []
    tasks = TaskSet("test writer")
    async with running_host() as server, running_host() as client:
        server.set_stream_handler(RELAY_PROTOCOL_ID, sink)
        await within(client.connect(server.full_addrs()[0]))
        writer = PeerWriter(
            client,
            server.peer_id,
            outbound=True,
            delay=0.0,
            tasks=tasks,
            clock=lambda: 0.0,
            on_failed=lambda w, kind: failures.append(kind),
        )
        try:
            await wait_for(lambda: writer._idle, what="the stream open, the writer idle")
            assert writer.enqueue(b"alone")
            # Written inside enqueue: nothing waits for the writer's task.
            assert writer.queued_bytes == 0 and not writer.queue
            burst = [b"burst %d" % i for i in range(50)]
            for rpc in burst:
                assert writer.enqueue(rpc)
            # Until its task has waited out back-pressure, the rest waits for one batch.
            assert len(writer.queue) == len(burst)
            await wait_for(lambda: len(received) == 1 + len(burst), what="every RPC")
            assert received == [b"alone", *burst]
            assert failures == []
        finally:
            writer.cancel()
            await tasks.cancel_all()
