"""The sandbox's ASGI application: the API routes, the control API, errors as echowin words them."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from . import api, control
from .gateway import Gateway
from .models import InvalidInput, NotFound, StoreError
from .runtime import Sandbox, SandboxSettings

DESCRIPTION = """A local, stateful emulator of the echowin Contacts API, for bulk-sync.

Authenticate with `X-API-Key`. Rate limits are echowin's (per team: GET 100, search 30,
write 60, bulk 10 a minute) unless the server runs with `--rate-limits off`.
"""


def create_app(
    settings: SandboxSettings | None = None, *, sandbox: Sandbox | None = None
) -> Gateway:
    """A ready ASGI app for one sandbox; pass `sandbox` to share state with the caller."""
    sandbox = sandbox or Sandbox(settings or SandboxSettings())
    app = FastAPI(
        title="echowin Contacts API (bulk-sync sandbox)",
        version=__version__,
        description=DESCRIPTION,
    )
    app.state.sandbox = sandbox
    app.include_router(api.router)
    app.include_router(control.router)
    app.add_exception_handler(InvalidInput, _invalid_input)  # type: ignore[arg-type]
    app.add_exception_handler(NotFound, _store_error)  # type: ignore[arg-type]
    app.add_exception_handler(StoreError, _store_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _request_invalid)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return Gateway(app, sandbox, api.router.routes)


_ERROR_REF = {
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}
}
_GATEWAY_RESPONSES = {
    "401": {"description": "Missing or invalid X-API-Key", **_ERROR_REF},
    "429": {
        "description": "Rate limit exceeded",
        "headers": {
            "Retry-After": {"schema": {"type": "string"}, "description": "Seconds to wait"}
        },
        **_ERROR_REF,
    },
}


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's description, corrected to what the sandbox answers.

    Invalid input is a 400 in echowin's words, never FastAPI's 422; the gateway may
    answer any API route with 401 or 429.
    """
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    for path, operations in schema["paths"].items():
        for operation in operations.values():
            responses = operation["responses"]
            if responses.pop("422", None) is not None:
                responses.setdefault("400", {"description": "Validation error", **_ERROR_REF})
            if path.startswith("/api/"):
                responses.update(_GATEWAY_RESPONSES)
            elif path.startswith("/_sandbox/"):
                responses["401"] = {
                    "description": "Missing or invalid X-Sandbox-Admin",
                    **_ERROR_REF,
                }
    components = schema.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    app.openapi_schema = schema
    return schema


def _safe(text: str) -> str:
    return text.encode("utf-8", "replace").decode("utf-8")


def _validation_body(details: list[dict[str, str]]) -> dict[str, Any]:
    return {"error": "Validation error", "details": details}


async def _invalid_input(request: Request, exc: InvalidInput) -> JSONResponse:
    details = [{"field": d.field, "message": _safe(d.message)} for d in exc.details]
    return JSONResponse(_validation_body(details), status_code=400)


async def _store_error(request: Request, exc: StoreError) -> JSONResponse:
    return JSONResponse(
        {"error": exc.message}, status_code=404 if isinstance(exc, NotFound) else 400
    )


async def _request_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
    details = []
    for err in exc.errors():
        loc = [str(part) for part in err.get("loc", ())]
        where = ".".join(loc[1:]) if len(loc) > 1 and loc[0] in ("body", "query", "path") else ""
        if err.get("type") == "json_invalid":
            where, message = "body", "Invalid JSON"
        else:
            message = str(err.get("msg", "Invalid value"))
        details.append(
            {"field": _safe(where or (loc[0] if loc else "body")), "message": _safe(message)}
        )
    return JSONResponse(_validation_body(details), status_code=400)


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        # Starlette names only the first route that matched the path; a path served by
        # several routes (GET and POST /contacts) allows all their methods. A literal
        # path (/contacts/bulk) speaks for itself over a template that also matches it.
        path = request.url.path
        routes = [
            r for r in api.router.routes if isinstance(r, APIRoute) and r.path_regex.match(path)
        ]
        literal = [r for r in routes if r.path == path]
        allowed = {m for r in literal or routes for m in r.methods or ()}
        headers["Allow"] = ", ".join(sorted(allowed))
    return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=headers)
