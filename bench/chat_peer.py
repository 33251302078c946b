"""The receiving side of the end-to-end chat benchmark, in its own process with its own node.

Prints its node's address and chat key as a JSON line, answers the first message it gets
(so both ratchets are set up), then prints {"received": N} once N more messages are stored.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from pystatus.chat.account import Account
from pystatus.chat.messenger import Messenger, RelayTransport
from pystatus.node import NodeConfig, WakuNode


async def main(directory: Path, password: str, count: int) -> None:
    account = Account.unlock(directory, password)
    config = NodeConfig(listen_address="127.0.0.1", tcp_port=0, cluster_id=16, shards=(32, 64))
    async with WakuNode(config) as node:
        assert node.relay is not None
        async with Messenger(account, RelayTransport(node.relay)) as bob:
            print(
                json.dumps({"addr": str(node.host.full_addrs()[0]), "chatKey": bob.chat_key}),
                flush=True,
            )
            events = bob.events()
            first = await anext(events)
            await bob.send(first.author, "hi")
            for _ in range(count):
                await anext(events)
            print(json.dumps({"received": count}), flush=True)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])))
