"""Byte-stream transports (TCP, WebSocket) under the connection upgrade."""
