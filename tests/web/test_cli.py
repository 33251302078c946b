"""``pystatus node --chat --web``: the flags (issue 18, item 1)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from pystatus.chat.account import Account
from pystatus.cli.node_options import _web_config
from pystatus.errors import ConfigError
from tests.web.helpers import FAST

PYSTATUS = str(Path(sys.executable).parent / "pystatus")
PASSWORD = "web cli password"


def test_web_needs_chat_and_a_port() -> None:
    assert _web_config(False, False, "127.0.0.1", 8646) is None
    with pytest.raises(ConfigError, match="--web needs --chat"):
        _web_config(True, False, "127.0.0.1", 8646)
    with pytest.raises(ConfigError, match="not a port"):
        _web_config(True, True, "127.0.0.1", 70000)
    config = _web_config(True, True, "127.0.0.2", 9000)
    assert config is not None and (config.address, config.port) == ("127.0.0.2", 9000)


@contextlib.asynccontextmanager
async def _web_node(
    tmp_path: Path, env: dict[str, str], stdin: int | None = None
) -> AsyncIterator[str]:
    """``pystatus node --chat --web --web-port=0`` on ``tmp_path``, yielding the web client's
    base URL once the node prints it (TimeoutError after 30 s; AssertionError with the node's
    stderr if it exits first); terminated on leaving."""
    process = await asyncio.create_subprocess_exec(
        PYSTATUS,
        "node",
        f"--data-dir={tmp_path}",
        "--listen-address=127.0.0.1",
        "--tcp-port=0",
        "--chat=true",
        "--web=true",
        "--web-port=0",
        stdin=stdin,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    assert process.stdout is not None
    try:
        async with asyncio.timeout(30):
            while not (line := (await process.stdout.readline()).decode()).startswith(
                "web client on"
            ):
                if not line:
                    assert process.stderr is not None
                    error = (await process.stderr.read()).decode()[-2000:]
                    raise AssertionError(f"the node exited before serving the web client: {error}")
        url = re.fullmatch(r"web client on (http://127\.0\.0\.1:\d+)/\n", line)
        assert url is not None, line
        yield url.group(1)
    finally:
        process.terminate()
        async with asyncio.timeout(20):
            await process.wait()


async def test_node_serves_the_web_client_where_told(tmp_path: Path) -> None:
    Account.create(tmp_path / "account", PASSWORD, params=FAST)
    async with _web_node(tmp_path, {**os.environ, "PYSTATUS_PASSWORD": PASSWORD}) as base_url:
        async with httpx.AsyncClient(base_url=base_url) as client:
            page = await client.get("/")
        assert page.status_code == 200 and ">Unlock</button>" in page.text


async def test_node_without_an_account_offers_to_create_one(tmp_path: Path) -> None:
    """No keystore in the data dir: the node asks for no password, and the web client's
    first screen creates or restores the account."""
    env = {k: v for k, v in os.environ.items() if k != "PYSTATUS_PASSWORD"}
    async with _web_node(tmp_path, env, stdin=asyncio.subprocess.DEVNULL) as base_url:
        async with httpx.AsyncClient(base_url=base_url) as client:
            page = await client.get("/")
        assert page.status_code == 200
        assert ">Create account</button>" in page.text
        assert ">Restore account</button>" in page.text
