"""One error family, rendered as application/problem+json (RFC 9457)."""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("gridops.errors")

PROBLEM_JSON = "application/problem+json"


class GridopsError(Exception):
    status: ClassVar[int] = 500
    slug: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "Internal error"

    def __init__(self, detail: str | None = None, **extensions: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        self.extensions = extensions


class Invalid(GridopsError):
    status, slug, title = 422, "validation", "Request is not valid"


class Unauthorized(GridopsError):
    status, slug, title = 401, "unauthorized", "Authentication required"


class Forbidden(GridopsError):
    status, slug, title = 403, "forbidden", "Not allowed for this role or scope"


class NotFound(GridopsError):
    status, slug, title = 404, "not-found", "Resource not found"


class Conflict(GridopsError):
    status, slug, title = 409, "conflict", "Conflicts with current state"


class PayloadTooLarge(GridopsError):
    status, slug, title = 413, "payload-too-large", "Request body too large"


class UnsupportedMediaType(GridopsError):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


class Unavailable(GridopsError):
    status, slug, title = 503, "unavailable", "Service temporarily unavailable"


class Problem(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None


_TITLES = {400: "Bad request", 401: "Authentication required", 403: "Forbidden",
           404: "Not found", 405: "Method not allowed", 409: "Conflict",
           413: "Request body too large", 415: "Unsupported media type",
           422: "Request is not valid", 429: "Too many requests", 503: "Service unavailable"}


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` entry of an endpoint: each listed status documented as a Problem."""
    return {
        code: {"model": Problem, "description": _TITLES.get(code, "Error"),
               "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
        for code in codes
    }


def problem(request: Request, status: int, title: str, type_: str = "about:blank",
            detail: str | None = None, headers: dict[str, str] | None = None,
            **ext: Any) -> JSONResponse:
    body = {"type": type_, "title": title, "status": status, "detail": detail,
            "instance": request.url.path, **ext}
    return JSONResponse({k: v for k, v in body.items() if v is not None}, status_code=status,
                        media_type=PROBLEM_JSON, headers=headers)


def install_handlers(app: FastAPI, base_uri: str) -> None:
    async def gridops_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, GridopsError)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        if exc.status == 503:
            headers = {"Retry-After": "5"}
        return problem(request, exc.status, exc.title, base_uri + exc.slug, exc.detail,
                       headers=headers, **exc.extensions)

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")),
                   "type": str(e.get("type", ""))} for e in exc.errors()]
        if request.url.path.startswith("/open311/"):
            # Open311 clients parse the spec's own error list, not problem+json.
            from gridops.open311.endpoints import open311_validation_error

            return open311_validation_error(request, errors)  # type: ignore[return-value]
        return problem(request, 422, "Request is not valid", base_uri + "validation",
                       "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors),
                       errors=errors)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return problem(request, exc.status_code, _TITLES.get(exc.status_code, "Error"),
                       detail=str(exc.detail) if exc.detail else None,
                       headers=dict(exc.headers) if exc.headers else None)

    async def stale(request: Request, exc: Exception) -> JSONResponse:
        return problem(request, 409, "Conflicts with current state", base_uri + "conflict",
                       "the resource was changed by someone else; reload and retry")

    async def integrity(request: Request, exc: Exception) -> JSONResponse:
        # Backstop only: services check explicitly; a race can still land here.
        log.info("integrity error turned into 409", extra={"error": type(exc).__name__})
        return problem(request, 409, "Conflicts with current state", base_uri + "conflict",
                       "the request conflicts with data written at the same time; retry")

    async def database_down(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, DBAPIError)
        if exc.connection_invalidated or _is_connection_error(exc):
            log.warning("database unavailable", extra={"error": type(exc.orig).__name__})
            return problem(request, 503, "Service temporarily unavailable",
                           base_uri + "unavailable", "the database is not reachable; retry",
                           headers={"Retry-After": "5"})
        return await unexpected(request, exc)

    async def pool_exhausted(request: Request, exc: Exception) -> JSONResponse:
        # Every pooled connection stayed busy for the pool's timeout: overload, not a bug.
        log.warning("no database connection free", extra={"error": type(exc).__name__})
        return problem(request, 503, "Service temporarily unavailable", base_uri + "unavailable",
                       "every database connection is busy; retry", headers={"Retry-After": "5"})

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return problem(request, 500, "Internal error", base_uri + "internal-error")

    app.add_exception_handler(GridopsError, gridops_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(StaleDataError, stale)
    app.add_exception_handler(IntegrityError, integrity)
    app.add_exception_handler(DBAPIError, database_down)
    app.add_exception_handler(PoolTimeout, pool_exhausted)
    app.add_exception_handler(OSError, _os_error(base_uri))
    app.add_exception_handler(Exception, unexpected)


def _is_connection_error(exc: DBAPIError) -> bool:
    text = f"{type(exc.orig).__name__} {exc.orig}".lower()
    # "too many clients": the server is at max_connections (asyncpg TooManyConnectionsError).
    return any(w in text for w in ("connection", "connect", "cannotconnectnow", "shutdown",
                                   "terminat", "admin", "shutting down", "starting up", "recovery",
                                   "too many clients"))


def _os_error(base_uri: str) -> Any:
    # asyncpg raises plain OSError / ConnectionRefusedError when the server is gone.
    async def handler(request: Request, exc: Exception) -> JSONResponse:
        log.warning("backend unreachable", extra={"error": type(exc).__name__})
        return problem(request, 503, "Service temporarily unavailable", base_uri + "unavailable",
                       "a backend is not reachable; retry", headers={"Retry-After": "5"})
    return handler
