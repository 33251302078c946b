"""The chains a request to join names for its revealed address (status-go v1.1.0's control
node checks token permissions only on those: communities/manager.go calculateChainIDsSet)."""

from __future__ import annotations

import coincurve

from pystatus.chat import community_requests as requests
from pystatus.chat.proto import communities_pb2 as pb
from pystatus.chat.wrapper import unwrap

IDENTITY = bytes(range(1, 33))
COMMUNITY_ID = "0x" + coincurve.PrivateKey(bytes(range(2, 34))).public_key.format().hex()


def test_a_request_to_join_names_status_gos_mainnet_chains() -> None:
    wrapped = requests.request_to_join(IDENTITY, COMMUNITY_ID, 1_700_000_000)
    message = pb.CommunityRequestToJoin.FromString(unwrap(wrapped).payload)
    [account] = message.revealed_accounts
    # Ethereum, Optimism, Arbitrum: without one of them, a permission on chain 1 is never met
    assert list(account.chain_ids) == [1, 10, 42161]
    assert account.address == requests.ethereum_address(
        coincurve.PrivateKey(IDENTITY).public_key.format(compressed=False)
    )
