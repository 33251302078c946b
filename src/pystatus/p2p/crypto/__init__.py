"""libp2p identity keys."""
