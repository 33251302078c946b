"""The libp2p subset the Waku network speaks.

Protocol logic lives in sans-IO cores (no sockets, no clock reads); the asyncio adapters that
drive them over real transports are kept thin and separate.
"""
