"""The sandbox's ASGI application: the API routes, the control API, errors as echowin words them."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
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


def create_app(settings: SandboxSettings | None = None, *, sandbox: Sandbox | None = None) -> Gateway:
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
    return Gateway(app, sandbox, api.router.routes)


def _safe(text: str) -> str:
    return text.encode("utf-8", "replace").decode("utf-8")


def _validation_body(details: list[dict[str, str]]) -> dict[str, Any]:
    return {"error": "Validation error", "details": details}


async def _invalid_input(request: Request, exc: InvalidInput) -> JSONResponse:
    details = [{"field": d.field, "message": _safe(d.message)} for d in exc.details]
    return JSONResponse(_validation_body(details), status_code=400)


async def _store_error(request: Request, exc: StoreError) -> JSONResponse:
    return JSONResponse({"error": exc.message}, status_code=404 if isinstance(exc, NotFound) else 400)


async def _request_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
    details = []
    for err in exc.errors():
        loc = [str(part) for part in err.get("loc", ())]
        where = ".".join(loc[1:]) if len(loc) > 1 and loc[0] in ("body", "query", "path") else ""
        if err.get("type") == "json_invalid":
            where, message = "body", "Invalid JSON"
        else:
            message = str(err.get("msg", "Invalid value"))
        details.append({"field": _safe(where or (loc[0] if loc else "body")), "message": _safe(message)})
    return JSONResponse(_validation_body(details), status_code=400)


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)
