"""Schemathesis drives every REST operation from /openapi.json against a live node over HTTP.

The node serves relay, store, filter and light push, and is a filter client of a second node,
so each route reaches its real code. Every answer must be documented (status, content type,
body schema), and none may be a 500: a crash is never an answer.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from pystatus.api.server import RestServer
from pystatus.chat.account import Account
from pystatus.chat.keystore import ScryptParams
from pystatus.chat.messenger import Messenger, RelayTransport
from pystatus.node import NodeConfig, RestConfig, WakuNode
from pystatus.node.config import FilterConfig, StoreConfig
from pystatus.waku.rate_limit import ProtocolRateLimits

pytestmark = pytest.mark.timeout(600)


@schemathesis.check
def never_an_internal_error(ctx: object, response: schemathesis.Response, case: object) -> None:
    if response.status_code == 500:
        raise AssertionError(f"500 from {response.request.url}: {response.text[:200]}")


def _config(**overrides: object) -> NodeConfig:
    settings_: dict[str, object] = {
        "listen_address": "127.0.0.1",
        "tcp_port": 0,
        "cluster_id": 1,
        "shards": (0, 1, 2, 3),
        "num_shards_in_network": 4,
    }
    return NodeConfig(**(settings_ | overrides))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def live_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A service node and a node with every REST route, run on an event loop in a thread."""
    directory: Path = tmp_path_factory.mktemp("fuzz")
    loop = asyncio.new_event_loop()
    started = threading.Event()
    url: list[str] = []
    failure: list[BaseException] = []
    stop = asyncio.Event()

    async def run() -> None:
        # Unlimited filter (nwaku allows 30 requests a minute per peer by default): the fuzz's
        # filter cases reach the service's rules rather than its rate limit.
        service_config = _config(
            filter=FilterConfig(),
            lightpush=True,
            rate_limits=ProtocolRateLimits.parse(["filter:0/1s"]),
        )
        async with WakuNode(service_config) as service:
            config = _config(
                rest=RestConfig(port=0, admin=True),
                store=StoreConfig(db_url=f"sqlite:///{directory}/store.sqlite3"),
                filter=FilterConfig(),
                lightpush=True,
                filternode=service.host.full_addrs()[0],
                static_nodes=(service.host.full_addrs()[0],),
            )
            account, _ = Account.create(
                directory / "account", "fuzz password", params=ScryptParams(n=1 << 10)
            )
            async with WakuNode(config) as node:
                assert config.rest is not None and node.relay is not None
                messenger = Messenger(account, RelayTransport(node.relay))
                await messenger.start()
                server = RestServer(node, config.rest, messenger)
                await server.start()
                url.append(server.url)
                started.set()
                try:
                    await stop.wait()
                finally:
                    await server.stop()
                    await messenger.stop()

    def main() -> None:
        try:
            loop.run_until_complete(run())
        except BaseException as exc:
            failure.append(exc)
            started.set()

    thread = threading.Thread(target=main, name="fuzzed node", daemon=True)
    thread.start()
    assert started.wait(30), "the node did not start"
    if failure:
        raise failure[0]
    try:
        yield url[0]
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)
        assert not thread.is_alive(), "the node did not stop"
        loop.close()


MAX_FUZZ_WAIT = 0.05
"""Seconds a fuzzed long poll (``/chat/v1/events?wait=``) may wait: the route still waits and
answers, without each case holding the run for up to its 30 s maximum."""


def _bound_long_poll(case: schemathesis.Case) -> None:  # type: ignore[type-arg]
    query = case.query
    if not query or "wait" not in query:
        return
    try:
        wait = float(query["wait"])
    except (TypeError, ValueError):
        return  # not a number: the route must refuse it, which the checks judge
    if wait > MAX_FUZZ_WAIT:
        query["wait"] = MAX_FUZZ_WAIT


def test_every_operation_answers_as_documented(live_api: str) -> None:
    schema = schemathesis.openapi.from_url(f"{live_api}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 26

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25,
            deadline=None,
            # The same cases every run: CI stays steady; the cases were widened by hand (150
            # per operation, several seeds) when the routes were written.
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def answers_as_documented(case: schemathesis.Case) -> None:  # type: ignore[type-arg]
            _bound_long_poll(case)
            response = case.call(timeout=15)
            case.validate_response(
                response,
                checks=[
                    never_an_internal_error,
                    status_code_conformance,
                    content_type_conformance,
                    response_schema_conformance,
                ],
            )

        answers_as_documented()
