"""Request bodies of the relay routes, read as nwaku reads them.

nwaku (``waku/rest_api/endpoint/rest_serdes.nim`` decodeRequestBody, ``relay/types.nim``
readValue) takes a JSON body sent as ``application/json`` or ``text/plain`` and refuses any
other media type, a body that is not JSON, a field named twice, a field it does not know, a
``null`` and a value of the wrong JSON type, each with 400 and a plain-text reason.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from fastapi import Request
from pydantic import TypeAdapter, ValidationError

from pystatus.api.errors import ApiError

T = TypeVar("T")

JSON_MEDIA_TYPES = ("application/json", "text/plain")


class _RepeatedField(ValueError):
    pass


def _unique_fields(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name, value in pairs:
        if name in fields:
            raise _RepeatedField(f"Multiple `{name}` fields found")
        fields[name] = value
    return fields


async def read_body(request: Request, shape: TypeAdapter[T]) -> T:
    """The body of ``request`` as ``shape``; :class:`ApiError` 400 for anything nwaku
    would refuse (the reason names the field, never echoes the body)."""
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type not in JSON_MEDIA_TYPES:
        raise ApiError(400, "Wrong Content-Type, expected application/json or text/plain")
    raw = await request.body()
    try:
        data = json.loads(raw, object_pairs_hook=_unique_fields)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, bad UTF-8, repeats
        reason = str(exc) if isinstance(exc, _RepeatedField) else "not JSON"
        raise ApiError(400, f"Invalid content body, could not decode: {reason}") from None
    try:
        return shape.validate_python(data, strict=True)
    except ValidationError as exc:
        details = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'body'}: {error['msg']}"
            for error in exc.errors()
        )
        raise ApiError(400, f"Invalid content body, could not decode: {details}") from None


def documented_body(shape: TypeAdapter[Any]) -> dict[str, Any]:
    """``openapi_extra`` describing a route's JSON body of ``shape`` (the route reads the
    request itself, so FastAPI cannot see it)."""
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": shape.json_schema()}},
        }
    }
