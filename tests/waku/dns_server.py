"""A small authoritative DNS server for tests, on dnspython: TXT records from a dict, over UDP
and TCP on one free loopback port. Names it lacks answer NXDOMAIN; answers too big for UDP
are truncated, so the resolver retries over TCP as it would with a real server."""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import AsyncIterator
from typing import cast

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from pystatus.waku.dns_discovery import txt_rdata


class TxtServer:
    def __init__(self, records: dict[str, str] | None = None) -> None:
        self.records: dict[str, str] = dict(records or {})
        """Full name (no trailing dot) to the entry text served there; change it at will."""
        self.queries: list[str] = []
        self.port = 0

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def answer(self, wire: bytes, max_size: int) -> bytes | None:
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return None
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if query.question:
            question = query.question[0]
            name = question.name.to_text(omit_final_dot=True).lower()
            self.queries.append(name)
            # DNS names are case-insensitive; tree hashes are upper-case base32.
            text = {k.lower(): v for k, v in self.records.items()}.get(name)
            if text is None:
                response.set_rcode(dns.rcode.NXDOMAIN)
            elif question.rdtype == dns.rdatatype.TXT:
                rrset = dns.rrset.RRset(question.name, dns.rdataclass.IN, dns.rdatatype.TXT)
                rrset.add(txt_rdata(text), 60)
                response.answer.append(rrset)
        try:
            return response.to_wire(max_size=max_size)
        except dns.exception.TooBig:
            response.answer.clear()
            response.flags |= dns.flags.TC
            return response.to_wire()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[TxtServer]:
        loop = asyncio.get_running_loop()
        server = self

        class Udp(asyncio.DatagramProtocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                self.transport = cast(asyncio.DatagramTransport, transport)

            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                reply = server.answer(data, 512)
                if reply is not None:
                    self.transport.sendto(reply, addr)

        async def tcp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
                while True:
                    (size,) = struct.unpack("!H", await reader.readexactly(2))
                    reply = server.answer(await reader.readexactly(size), 65535)
                    if reply is None:
                        break
                    writer.write(struct.pack("!H", len(reply)) + reply)
                    await writer.drain()
            writer.close()

        for _attempt in range(10):  # the UDP port twin of a free TCP port may be taken
            tcp_server = await asyncio.start_server(tcp, "127.0.0.1", 0)
            self.port = tcp_server.sockets[0].getsockname()[1]
            try:
                transport, _ = await loop.create_datagram_endpoint(
                    Udp, local_addr=("127.0.0.1", self.port)
                )
                break
            except OSError:
                tcp_server.close()
                await tcp_server.wait_closed()
        else:
            raise RuntimeError("no free port for the test DNS server")
        try:
            yield self
        finally:
            transport.close()
            tcp_server.close()
            await tcp_server.wait_closed()
