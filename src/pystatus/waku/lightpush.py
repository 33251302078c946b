"""WAKU2-LIGHTPUSH (19/WAKU2-LIGHTPUSH): a light client hands a message to a service node,
which relays it.

Version 3 (``/vac/waku/lightpush/3.0.0``) answers with a status code and the number of relay
peers reached; the earlier ``/vac/waku/lightpush/2.0.0-beta1`` answers success and a text.
Both are served from one rule set; js-waku 0.0.36 speaks v3 and falls back to v2, and counts
only status 200 as success.

The protocol is split by concern, and every name stays importable from here:
:mod:`~pystatus.waku.lightpush_codec` (wire messages), :mod:`~pystatus.waku.lightpush_rules`
(sans-IO), :mod:`~pystatus.waku.lightpush_server` and :mod:`~pystatus.waku.lightpush_client`.
"""

from __future__ import annotations

from pystatus.waku.lightpush_client import LightPushClient
from pystatus.waku.lightpush_codec import (
    LIGHTPUSH_PROTOCOL_ID,
    LIGHTPUSH_V2_PROTOCOL_ID,
    MAX_REQUEST_SIZE,
    MAX_RESPONSE_SIZE,
    REQUEST_TIMEOUT,
    LightPushError,
    LightPushRequest,
    LightPushResponse,
    StatusCode,
)
from pystatus.waku.lightpush_rules import (
    Admitted,
    LightPushRules,
    Publish,
    ResolveTopic,
    decode_request,
)
from pystatus.waku.lightpush_server import LightPushServer

__all__ = [
    "LIGHTPUSH_PROTOCOL_ID",
    "LIGHTPUSH_V2_PROTOCOL_ID",
    "MAX_REQUEST_SIZE",
    "MAX_RESPONSE_SIZE",
    "REQUEST_TIMEOUT",
    "Admitted",
    "LightPushClient",
    "LightPushError",
    "LightPushRequest",
    "LightPushResponse",
    "LightPushRules",
    "LightPushServer",
    "Publish",
    "ResolveTopic",
    "StatusCode",
    "decode_request",
]
