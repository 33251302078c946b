"""Waku messages in nwaku's JSON form: bytes as base64, timestamps in nanoseconds."""

from __future__ import annotations

import base64

from pydantic import BaseModel, Field

from pystatus.waku.message import WakuMessage


class RestMessage(BaseModel):
    payload: str = Field(description="base64")
    contentTopic: str
    version: int | None = Field(default=None, ge=0, le=0xFFFFFFFF)
    timestamp: int | None = None
    meta: str | None = Field(default=None, description="base64")
    ephemeral: bool | None = None


def to_rest(message: WakuMessage) -> RestMessage:
    return RestMessage(
        payload=base64.b64encode(message.payload).decode(),
        contentTopic=message.content_topic,
        version=message.version,
        timestamp=message.timestamp,
        meta=base64.b64encode(message.meta).decode() if message.meta is not None else None,
        ephemeral=message.ephemeral,
    )
