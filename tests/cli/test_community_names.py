"""How `pystatus community` commands read the names a person types (issue 17): an id of a
community's form that is no point on the curve is said to be no valid public key. Two
`pystatus` processes, no network (about 1 s of CPU)."""

from __future__ import annotations

import asyncio

from tests.cli.processes import start

PASSWORD = "community password"
NOT_A_POINT = "0x02" + "ff" * 32
"""The form of a community id, but its x is past the field's prime: no key."""


async def _run(*args: str, code: int = 0) -> tuple[str, str]:
    """``pystatus *args``: its stdout and stderr, once it exited ``code`` (within 60 s)."""
    process = await start(*args, password=PASSWORD)
    async with asyncio.timeout(60):
        out, err = await process.communicate()
    assert process.returncode == code, (out + err).decode()
    return out.decode(), err.decode()


async def test_an_id_of_no_key_is_said_so() -> None:
    _, err = await _run("community", "members", NOT_A_POINT, code=2)
    assert f"{NOT_A_POINT!r} is not a community id: not a valid public key" in err
    _, err = await _run("community", "members", "0x05" + "ab" * 32, code=2)
    assert "(0x02... or 0x03..., 66 hex digits)" in err
