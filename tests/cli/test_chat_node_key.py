"""A chat command's node keeps the data dir's node key: one account is one peer to the nodes
it meets (an operator's `report users` counted a CLI user once per command run)."""

from __future__ import annotations

from pathlib import Path

from pystatus.chat.account import Account
from pystatus.chat.keystore import ScryptParams
from pystatus.chat.topics import STATUS_CLUSTER
from pystatus.cli.account import account_directory
from pystatus.cli.chat_node import open_messenger
from pystatus.node import NodeConfig, WakuNode

PASSWORD = "chat password"


async def test_each_chat_command_run_is_the_same_peer(tmp_path: Path) -> None:
    data_dir = tmp_path / "alice"
    Account.create(account_directory(data_dir), PASSWORD, params=ScryptParams(n=1 << 10))
    config = NodeConfig(
        listen_address="127.0.0.1", tcp_port=0, cluster_id=STATUS_CLUSTER, shards=(32, 64)
    )
    async with WakuNode(config) as relay:
        address = str(relay.host.full_addrs()[0])
        seen = []
        for _ in range(2):
            async with open_messenger(data_dir, PASSWORD, STATUS_CLUSTER, [address]) as messenger:
                assert messenger is not None
                seen.append({str(p) for p in relay.host.connected_peers()})
        assert (data_dir / "nodekey").is_file()
        assert len(seen[0]) == 1 and seen[0] == seen[1], "the same peer id both times"
