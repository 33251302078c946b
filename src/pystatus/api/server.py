"""Serve the REST API and the metrics endpoint with uvicorn inside the node's own event loop.

A request whose line and headers exceed :data:`MAX_REQUEST_HEAD` bytes is answered 431, as
nwaku's REST server answers one over its 64 KiB default (``--rest-max-request-headers-size``),
and the rest of it is read and dropped before the connection closes, so the client reads the
answer instead of a reset. A body over :data:`MAX_REQUEST_BODY` (nwaku's 16 MiB) is answered
413 the same way, before the app would hold it in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Generator
from typing import Any

import h11
import uvicorn
from prometheus_client import REGISTRY, Counter, make_asgi_app
from uvicorn.protocols.http.h11_impl import H11Protocol

from pystatus.api.app import create_app
from pystatus.chat.messenger import Messenger
from pystatus.errors import NodeError
from pystatus.node.config import MetricsConfig, RestConfig
from pystatus.node.node import WakuNode

log = logging.getLogger(__name__)

MAX_REQUEST_HEAD = 64 * 1024
"""Bytes of request line and headers accepted (nwaku's REST default, 64 KiB)."""
DRAIN_SECONDS = 10.0
"""How long the rest of a refused request is read and dropped before the connection closes."""

REST_REFUSED = Counter(
    "pystatus_rest_refused_requests", "REST requests refused before routing", ["reason"]
)

_HEAD_END = b"\r\n\r\n"
_TOO_LARGE_BODY = b"Request Header Fields Too Large"
_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"content-length: %d\r\n"
    b"connection: close\r\n\r\n" % len(_TOO_LARGE_BODY)
) + _TOO_LARGE_BODY


class _BoundedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a bound on the request head answered by 431, not a reset.

    h11 alone refuses an oversized head with 400 and closes at once, while the client is still
    sending: its kernel then resets the connection and the client never reads the answer.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._draining = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        # asyncio sets TCP_NODELAY only on sockets made with IPPROTO_TCP, and the listening
        # socket from socket.create_server has protocol 0: without it, an answer written in two
        # segments (head, then body) waited on the client's delayed ACK, 40 ms a request.
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self._draining:
            return  # the rest of a refused request: read so the client can finish and read
        if self.conn.their_state is h11.IDLE:
            # Waiting for a head: h11 keeps what came before (at most its own bound); only the
            # head's bytes count, a body may follow it in the same read.
            received = self.conn.trailing_data[0] + data
            if (
                len(received) > MAX_REQUEST_HEAD
                and received.find(_HEAD_END, 0, MAX_REQUEST_HEAD + len(_HEAD_END)) < 0
            ):
                self._refuse_head()
                return
        super().data_received(data)

    def _refuse_head(self) -> None:
        REST_REFUSED.labels("head_too_large").inc()
        log.debug("REST request head over %d bytes: 431", MAX_REQUEST_HEAD)
        self._draining = True
        self._unset_keepalive_if_required()
        self.transport.write(_TOO_LARGE)
        transport = self.transport
        if transport.can_write_eof():
            transport.write_eof()
        self.loop.call_later(DRAIN_SECONDS, transport.close)


MAX_REQUEST_BODY = 16 * 1024 * 1024
"""Bytes of request body accepted (nwaku's REST default, 16 MiB); more is answered 413."""

_Scope = dict[str, Any]
_Message = dict[str, Any]


class _BodyLimit:
    """ASGI middleware answering 413 to a body over ``limit`` bytes, before the app holds it
    all in memory; what the client still sends is first read and dropped (for up to
    :data:`DRAIN_SECONDS`), so it reads the answer instead of a reset."""

    def __init__(self, app: Any, limit: int = MAX_REQUEST_BODY) -> None:
        self._app = app
        self._limit = limit

    async def __call__(self, scope: _Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or ()).get(b"content-length", b"")
        if declared.isdigit():
            # h11 holds the body to its declared length.
            if int(declared) > self._limit:
                await self._refuse(receive, send)
            else:
                await self._app(scope, receive, send)
            return
        # A chunked body, of no declared length: read it up to the bound before the app does.
        chunks: list[bytes] = []
        size = 0
        while True:
            message: _Message = await receive()
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > self._limit:
                await self._refuse(receive, send, more=bool(message.get("more_body")))
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                message = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
                break
        replayed = False

        async def replay() -> _Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return message
            return await receive()  # type: ignore[no-any-return]

        await self._app(scope, replay, send)

    async def _refuse(self, receive: Any, send: Any, *, more: bool = True) -> None:
        REST_REFUSED.labels("body_too_large").inc()
        # Read the rest first: uvicorn closes once the answer is sent, and unread bytes would
        # turn that close into a reset.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(DRAIN_SECONDS):
                while more:
                    message = await receive()
                    if message["type"] != "http.request" or not message.get("more_body"):
                        break
        body = b"Request Entity Too Large"
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", b"%d" % len(body)),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _EmbeddedServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        # The node owns SIGINT/SIGTERM and stops this server itself.
        yield


class AsgiServer:
    """One ASGI app on ``address:port`` (0 picks a free port), started and stopped in-loop."""

    def __init__(self, app: object, address: str, port: int, *, name: str) -> None:
        self._address = address
        self._port = port
        self._name = name
        self._server = _EmbeddedServer(
            uvicorn.Config(
                app,  # type: ignore[arg-type]
                host=address,
                port=port,
                log_level="warning",
                lifespan="off",
                access_log=False,
                http=_BoundedH11Protocol,
                # Above the head bound, so that the bound answers first (431, not h11's 400).
                h11_max_incomplete_event_size=MAX_REQUEST_HEAD + 64 * 1024,
            )
        )
        self._task: asyncio.Task[None] | None = None
        self._socket: socket.socket | None = None

    async def start(self) -> None:
        # Bound here rather than by uvicorn, which would exit the process on a busy port.
        family = socket.AF_INET6 if ":" in self._address else socket.AF_INET
        try:
            self._socket = socket.create_server((self._address, self._port), family=family)
        except OSError as exc:
            raise NodeError(
                f"{self._name} cannot listen on {self._address}:{self._port}: {exc.strerror or exc}"
            ) from None
        self._task = asyncio.create_task(self._server.serve([self._socket]), name=self._name)
        async with asyncio.timeout(10):
            while not self._server.started:
                if self._task.done():
                    raise NodeError(f"{self._name} failed to start") from self._task.exception()
                await asyncio.sleep(0.01)

    @property
    def port(self) -> int:
        if self._socket is None:
            raise NodeError(f"{self._name} is not listening")
        return int(self._socket.getsockname()[1])

    @property
    def url(self) -> str:
        host = f"[{self._address}]" if ":" in self._address else self._address
        return f"http://{host}:{self.port}"

    async def stop(self) -> None:
        self._server.should_exit = True
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)


class RestServer(AsgiServer):
    def __init__(
        self, node: WakuNode, config: RestConfig, messenger: Messenger | None = None
    ) -> None:
        super().__init__(
            _BodyLimit(create_app(node, messenger)), config.address, config.port, name="REST API"
        )


# What nwaku's metrics log reports (waku/node/waku_metrics.nim), in this node's metric names.
_SUMMARY = (
    ("connections", "libp2p_open_connections"),
    ("peers", "libp2p_peers"),
    ("relay peers", "waku_relay_peers"),
    ("relayed messages", "waku_relay_messages"),
    ("filter subscribers", "waku_filter_subscriptions"),
    ("light push requests", "waku_lightpush_messages"),
    ("peer exchange peers", "waku_px_peers_cached"),
    ("protocol errors", "waku_protocol_errors"),
)


def metrics_summary() -> dict[str, float]:
    """Totals over every label of the metrics nwaku's ``--metrics-logging`` reports."""
    wanted = {name: label for label, name in _SUMMARY}
    totals = dict.fromkeys((label for label, _ in _SUMMARY), 0.0)
    for family in REGISTRY.collect():
        if family.name not in wanted:
            continue
        for sample in family.samples:
            if sample.name in (family.name, f"{family.name}_total"):
                totals[wanted[family.name]] += sample.value
    return totals


class MetricsServer(AsgiServer):
    """Prometheus exposition of every metric the process registered, at ``/metrics``; with
    ``config.logging``, a summary logged every ``config.log_interval`` seconds (INFO)."""

    def __init__(self, node: WakuNode, config: MetricsConfig) -> None:
        exposition = make_asgi_app()

        async def app(scope: dict[str, object], receive: object, send: object) -> None:
            node.refresh_gauges()
            await exposition(scope, receive, send)

        super().__init__(app, config.address, config.port, name="metrics server")
        self._node = node
        self._config = config
        self._logger: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await super().start()
        if self._config.logging:
            self._logger = asyncio.create_task(self._log_metrics(), name="metrics log")

    async def _log_metrics(self) -> None:
        while True:
            await asyncio.sleep(self._config.log_interval)
            self._node.refresh_gauges()
            summary = metrics_summary()
            log.info("metrics: %s", ", ".join(f"{k} {v:g}" for k, v in summary.items()))

    async def stop(self) -> None:
        if self._logger is not None:
            self._logger.cancel()
            await asyncio.gather(self._logger, return_exceptions=True)
        await super().stop()
