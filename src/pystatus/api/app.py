"""FastAPI routes mirroring nwaku's REST API for what pystatus implements.

Topics in paths are URL-encoded (``%2Fwaku%2F2%2Frs%2F1%2F0``), as nwaku's clients send them.
Errors answer with a status and the body nwaku's openapi gives that route: JSON on filter's
subscription routes and light push v3, a plain-text description elsewhere (see
:mod:`pystatus.api.errors`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from pystatus import __version__
from pystatus.api.admin import admin_routes
from pystatus.api.chat import chat_routes
from pystatus.api.communities import community_routes
from pystatus.api.errors import ApiError
from pystatus.api.health import health_report
from pystatus.api.light import json_error_body, light_routes
from pystatus.api.relay import relay_routes
from pystatus.api.store import store_routes
from pystatus.chat.messenger import Messenger
from pystatus.errors import PystatusError
from pystatus.node.node import WakuNode


class InfoResponse(BaseModel):
    listenAddresses: list[str]
    enrUri: str


class HealthResponse(BaseModel):
    """nwaku's health report (see :mod:`pystatus.api.health`)."""

    nodeHealth: str
    protocolsHealth: list[dict[str, str]]


_TEXT = {"text/plain": {"schema": {"type": "string"}}}


def _document_errors(app: FastAPI) -> None:
    """Describe the errors every operation can answer, as this API really answers them.

    Malformed requests get 400 with a text description (FastAPI would document 422), and a
    node service that cannot act (relay off, archive down) gets 503.
    """

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
        for route, path in schema.get("paths", {}).items():
            # A path parameter the router cannot match (a raw newline, say) is a 404.
            errors = [("400", "Bad request"), ("503", "Service unavailable")]
            if "{" in route:
                errors.append(("404", "Not found"))
            for operation in path.values():
                responses = operation.setdefault("responses", {})
                responses.pop("422", None)
                for code, text in errors:
                    entry = responses.setdefault(code, {"description": text})
                    content = entry.setdefault("content", {})
                    if "application/json" not in content:  # a route that answers JSON errors
                        content.update(_TEXT)
        schema.get("components", {}).get("schemas", {}).pop("HTTPValidationError", None)
        schema.get("components", {}).get("schemas", {}).pop("ValidationError", None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _not_installed(node: WakuNode) -> dict[str, str]:
    """First path segment -> the 404 text for a family of routes this node leaves out, as
    nwaku answers them (``waku/rest_api/endpoint/builder.nim``: with ``--relay=false`` the
    relay routes are not installed at all, nor the admin routes without ``--rest-admin``), so
    a user learns which flag is missing rather than meeting a bare "Not Found"."""
    missing = {}
    if node.shards is None:  # relay is off: relay_routes installs nothing
        missing["relay"] = (
            "/relay endpoints are not available. Please check your configuration: --relay"
        )
    if node.config.rest is None or not node.config.rest.admin:
        missing["admin"] = (
            "/admin endpoints are not available. Please check your configuration: --rest-admin=true"
        )
    return missing


def create_app(node: WakuNode, messenger: Messenger | None = None) -> FastAPI:
    app = FastAPI(title="pystatus node REST API", version=__version__)
    _document_errors(app)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        if exc.body is not None:
            return JSONResponse(dict(exc.body), status_code=exc.status)
        return PlainTextResponse(exc.description, status_code=exc.status)

    not_installed = _not_installed(node)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> PlainTextResponse:
        if exc.status_code == 404:
            root = request.url.path.lstrip("/").partition("/")[0]
            if root in not_installed:
                return PlainTextResponse(not_installed[root], status_code=404)
        return PlainTextResponse(str(exc.detail), status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        details = "; ".join(
            f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}" for error in exc.errors()
        )
        body = json_error_body(request.url.path, details)
        if body is not None:
            return JSONResponse(body, status_code=400)
        errors = exc.errors()
        if errors and all(error["loc"][:1] == ("body",) for error in errors):
            # nwaku's words for a body it cannot decode (rest_serdes.nim decodeRequestBody).
            if any(error["loc"] == ("body",) and error["type"] == "missing" for error in errors):
                return PlainTextResponse("Missing content body", status_code=400)
            return PlainTextResponse(
                f"Invalid content body, could not decode. {details}", status_code=400
            )
        return PlainTextResponse(f"bad request: {details}", status_code=400)

    @app.exception_handler(PystatusError)
    async def node_error(request: Request, exc: PystatusError) -> Response:
        body = json_error_body(request.url.path, str(exc))
        if body is not None:
            return JSONResponse(body | {"statusDesc": str(exc)}, status_code=503)
        return PlainTextResponse(str(exc), status_code=503)

    debug = APIRouter(tags=["debug"])

    @debug.get("/debug/v1/info")
    async def info() -> InfoResponse:
        return InfoResponse(
            listenAddresses=[str(a) for a in node.host.full_addrs()], enrUri=node.enr.to_text()
        )

    @debug.get("/debug/v1/version", response_class=PlainTextResponse)
    async def version() -> str:
        return f"v{__version__}"

    @debug.get("/health", response_model=HealthResponse)
    async def health() -> JSONResponse:
        return JSONResponse(health_report(node))

    app.include_router(debug)
    app.include_router(store_routes(node))
    app.include_router(light_routes(node))
    if messenger is not None:
        app.include_router(chat_routes(messenger))
        app.include_router(community_routes(messenger))
    if node.config.rest is not None and node.config.rest.admin:
        app.include_router(admin_routes(node))
    app.include_router(relay_routes(node))
    return app
