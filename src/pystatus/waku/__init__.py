"""Waku v2 on the wire: messages, relay, store, filter, light push, metadata, peer exchange."""
