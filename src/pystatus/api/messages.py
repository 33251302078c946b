"""Waku messages in nwaku's JSON form: bytes as base64, timestamps in nanoseconds."""

from __future__ import annotations

import base64
import binascii
import time

from pydantic import BaseModel, Field

from pystatus.api.errors import ApiError
from pystatus.waku.errors import InvalidTopic
from pystatus.waku.message import WakuMessage
from pystatus.waku.topics import ContentTopic


class RestMessage(BaseModel):
    payload: str = Field(description="base64")
    contentTopic: str
    version: int | None = Field(default=None, ge=0, le=0xFFFFFFFF)
    timestamp: int | None = Field(default=None, ge=-(2**63), le=2**63 - 1)
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


def _b64(text: str, field: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(400, f"{field} is not valid base64") from None


def from_rest(body: RestMessage) -> WakuMessage:
    """The message a REST body describes, stamped now when it has no timestamp."""
    try:
        ContentTopic.parse(body.contentTopic)
    except InvalidTopic as exc:
        raise ApiError(400, f"invalid contentTopic: {exc}") from None
    return WakuMessage(
        payload=_b64(body.payload, "payload"),
        content_topic=body.contentTopic,
        version=body.version or 0,
        timestamp=body.timestamp if body.timestamp is not None else time.time_ns(),
        meta=_b64(body.meta, "meta") if body.meta is not None else None,
        ephemeral=bool(body.ephemeral),
    )
